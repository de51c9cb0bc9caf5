package name

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// batchEntries returns generated persons and companies with what Add
// must handle besides: an entry of unknown kind (a company by its legal
// form, a person otherwise), aliases that normalise like the primary name,
// names in other scripts, a name that normalises to nothing, and IDs given
// twice (the second replaces the first).
func batchEntries(rng *rand.Rand, n int) []Entry {
	es := Generate(rng, n)
	es = append(es,
		Entry{ID: 900001, Names: []string{"Zenith Shipping Trading LLC", "Zenith Shipping"}},
		Entry{ID: 900002, Names: []string{"Anatoly Borisovich Zhelezniak"}, BirthDate: "1965-02-30", Nationalities: []string{"RU", "by"}},
		Entry{ID: 900003, Kind: KindPerson, Names: []string{"José MARÍA Núñez", "Jose Maria Nunez", "NUNEZ, Jose Maria", "Алексей Навальный", "王小明", "..."}, Sex: "m"},
		Entry{ID: 900004, Kind: KindCompany, Names: []string{"The Bank of Foreign Trade S.A.", "B.F.T. SA", "Bank of Foreign Trade SA"}, Nationalities: []string{"IR"}},
		Entry{ID: 900005, Kind: KindPerson, Names: []string{"---"}},
		Entry{ID: 5, Kind: KindPerson, Names: []string{"Replaced Elsharif Abdulrahman"}, BirthDate: "1980"},
		Entry{ID: 1 << 30, Kind: KindPerson, Names: []string{"Far Away Identifier"}},
	)
	return es
}

// indexState lists what an index holds, for comparing two indexes built
// from the same entries.
func indexState(ix *Index) map[string]any {
	return map[string]any{
		"vocab": ix.vocab, "toks": ix.toks, "skelVocab": ix.skelVocab, "skelPost": ix.skelPost, "skelText": ix.skelText,
		"groupPost": ix.groupPost, "groupDF": ix.groupDF, "concatVocab": ix.concatVocab, "concatPost": ix.concatPost,
		"dels": ix.dels, "delKey": ix.delKey, "delTok": ix.delTok, "delNext": ix.delNext,
		"nameEntry": ix.nameEntry, "nameKind": ix.nameKind, "nameStart": ix.nameStart, "nameToks": ix.nameToks, "nameMeta": ix.nameMeta,
		"entries": ix.entries, "byIDs": ix.byIDs, "byID": ix.byID, "natSets": ix.natSets,
		"counts": [3]int{ix.liveNames, ix.liveCount, ix.deadNames},
	}
}

// AddAll, and AddPrepared of entries prepared on other goroutines, build
// the index Add builds one entry at a time: the same tokens, postings,
// keys and entries, field by field, so that Encode writes the same index;
// and the same answers, to names as listed and misspelt. Entries prepared
// by an index of another hash seed are filed under this index's keys.
func TestAddAllBuildsWhatAddBuilds(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 16))
	es := batchEntries(rng, 3000)
	one := NewIndex(Options{})
	for _, e := range es {
		one.Add(e)
	}
	all := NewIndex(Options{})
	all.seed = one.seed
	all.AddAll(es[:1000])
	all.AddAll(es[1000:])
	other := NewIndex(Options{}) // another seed: its keys must not be used
	prep := NewIndex(Options{})
	prep.seed = one.seed
	ps := make([]Prepared, len(es))
	done := make(chan struct{})
	for w := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := w; i < len(es); i += 4 {
				if i%3 == 0 {
					ps[i] = other.Prepare(es[i])
				} else {
					ps[i] = prep.Prepare(es[i])
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	for _, p := range ps {
		prep.AddPrepared(p)
	}
	want := indexState(one)
	for label, ix := range map[string]*Index{"AddAll": all, "AddPrepared": prep} {
		for field, v := range indexState(ix) {
			if !reflect.DeepEqual(v, want[field]) {
				t.Errorf("%s: %s differs from Add's", label, field)
			}
		}
	}
	var queries []Query
	for i, e := range es {
		if i%5 != 0 && e.ID < 900000 {
			continue
		}
		for _, n := range e.Names {
			q := Query{Kind: e.Kind, Name: n, BirthDate: e.BirthDate}
			if i%2 == 1 {
				q.Name = misspell(rng, n)
			}
			queries = append(queries, q)
		}
	}
	hits := 0
	for _, q := range queries {
		w := one.Search(q, 0.5, 5)
		hits += len(w)
		for label, ix := range map[string]*Index{"AddAll": all, "AddPrepared": prep} {
			if h := ix.Search(q, 0.5, 5); !reflect.DeepEqual(h, w) {
				t.Fatalf("%s: %+v:\n got %+v\n Add %+v", label, q, h, w)
			}
		}
	}
	if hits < len(queries)/2 {
		t.Fatalf("%d hits for %d queries: the test compares too little", hits, len(queries))
	}
}

// Aliases are dropped when they join, token by token, to the text of an
// earlier name: as Add compared them (the tokens joined by spaces).
func TestSameJoined(t *testing.T) {
	tk := func(s ...string) []token {
		var out []token
		for _, x := range s {
			out = append(out, token{text: x})
		}
		return out
	}
	cases := []struct {
		a, b []token
		same bool
	}{
		{tk("ali", "hassan"), tk("ali", "hassan"), true},
		{tk("ali", "hassan"), tk("ali", "hasan"), false},
		{tk("ali", "hassan"), tk("alihassan"), false},
		{tk("a b", "c"), tk("a", "b c"), true},
		{tk("ali"), tk("ali", ""), false},
		{tk("ali", ""), tk("ali", ""), true},
		{tk("ali"), tk("ali "), false},
		{tk("ali", ""), tk("ali "), true},
		{nil, tk(""), true},
		{tk("x"), nil, false},
	}
	for _, c := range cases {
		if got := sameJoined(c.a, c.b); got != c.same {
			t.Errorf("sameJoined(%v, %v) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}
