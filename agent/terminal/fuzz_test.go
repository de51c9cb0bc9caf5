package terminal

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

const fuzzArgon = "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"

// FuzzParseHash: any string either parses into parameters within bounds or
// is refused with ErrHash; nothing panics.
func FuzzParseHash(f *testing.F) {
	f.Add(fuzzArgon)
	f.Add("$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHash(s)
		if err != nil {
			if !errors.Is(err, ErrHash) {
				t.Fatalf("error %v is not ErrHash", err)
			}
			return
		}
		if h.bcrypt != nil {
			return
		}
		a := h.argon
		if a.memory < minArgonMemory || a.memory > maxArgonMemory || a.time < 1 || a.time > maxArgonTime ||
			a.threads < 1 || a.threads > maxArgonLanes || len(h.salt) < 8 || len(h.key) < 16 {
			t.Fatalf("accepted out-of-bounds hash %q: %+v", s, a)
		}
	})
}

// FuzzLoadUsers: a users file loads whole or is refused with ErrUsersFile,
// and the error never repeats the file's content.
func FuzzLoadUsers(f *testing.F) {
	good := `{"name":"anna","role":"officer","hash":"` + fuzzArgon + `"}`
	f.Add(good + "\n")
	f.Add("# comment\n\n" + good + "\n" + strings.Replace(good, "anna", "sven", 1) + "\n")
	f.Add(good + "\n" + good + "\n")
	f.Add(`{"name":"secretname","role":"boss","hash":"x"}`)
	f.Add("{\"name\":\"a\"}{}\n")
	f.Fuzz(func(t *testing.T, file string) {
		u, err := LoadUsers(strings.NewReader(file))
		if err != nil {
			if !errors.Is(err, ErrUsersFile) {
				t.Fatalf("error %v is not ErrUsersFile", err)
			}
			if strings.Contains(err.Error(), "secretname") {
				t.Fatalf("error repeats the file: %v", err)
			}
			return
		}
		for name, a := range u.byName {
			if validName(name) != nil {
				t.Fatalf("accepted bad name %q", name)
			}
			if _, err := ParseRole(string(a.role)); err != nil {
				t.Fatalf("accepted bad role %q", a.role)
			}
		}
	})
}

// FuzzManualItem: a manual check either builds an item whose value is
// valid, non-empty and stable when checked again, or is refused with
// ErrInput; nothing panics.
func FuzzManualItem(f *testing.F) {
	for _, q := range []manualQuery{
		{Kind: "person", Value: "Ivan Petrov", BirthDate: "1971-03-02", Nationality: "RU"},
		{Kind: "plate", Value: "B-AB 123", Country: "D"},
		{Kind: "plate", Value: "ÅBC 123", Country: "S"},
		{Kind: "container", Value: "CSQU3054383"},
		{Kind: "document", Value: "C01X00T47", Country: "DEU"},
		{Kind: "eori", Value: "XI123456789000"},
	} {
		f.Add(q.Kind, q.Value, q.Country, q.BirthDate, q.Nationality)
	}
	f.Fuzz(func(t *testing.T, kind, value, country, birth, nat string) {
		q := manualQuery{Kind: kind, Value: value, Country: country, BirthDate: birth, Nationality: nat}
		it, err := q.item()
		if err != nil {
			if !errors.Is(err, ErrInput) {
				t.Fatalf("error %v is not ErrInput", err)
			}
			return
		}
		if it.Value == "" || !utf8.ValidString(it.Value) || string(it.Kind) != kind {
			t.Fatalf("bad item %+v from %+v", it, q)
		}
		again := q
		again.Value, again.Country = it.Value, it.Country
		if again.Country == "" {
			again.Country = country
		}
		it2, err := again.item()
		if err != nil || it2.Value != it.Value {
			t.Fatalf("normalised value %q does not check again: %+v, %v", it.Value, it2, err)
		}
	})
}
