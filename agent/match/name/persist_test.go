package name

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// misspell changes one letter of the longest word of s, and swaps two
// letters of another when there is one: the queries an officer types.
func misspell(rng *rand.Rand, s string) string {
	b := []byte(s)
	if len(b) < 4 {
		return s
	}
	i := 1 + rng.IntN(len(b)-2)
	if b[i] >= 'a' && b[i] <= 'z' {
		b[i] = 'a' + (b[i]-'a'+1)%26
	}
	j := 1 + rng.IntN(len(b)-2)
	b[j], b[j+1] = b[j+1], b[j]
	return string(b)
}

// A decoded index answers every search as the index it was encoded from:
// same IDs, same scores, same explanations, for names as listed, with
// typos, aliases, companies, and after removals (tombstones) and
// replacements; and entries added after decoding are found like entries
// added before.
func TestEncodeDecodeAnswersTheSame(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 2))
	entries := Generate(rng, 4000)
	ix := NewIndex(Options{})
	for _, e := range entries {
		ix.Add(e)
	}
	for i := 0; i < len(entries); i += 7 {
		ix.Remove(entries[i].ID)
	}
	entries[3].Names = []string{"Radomir Vukovic", "Radomir Vukovich"}
	ix.Add(entries[3])
	var buf bytes.Buffer
	if err := ix.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(bytes.NewReader(buf.Bytes()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != ix.Len() {
		t.Fatalf("decoded %d entries, encoded %d", got.Len(), ix.Len())
	}
	later := Entry{ID: 900001, Kind: KindPerson, Names: []string{"Oluwaseun Adeyemi-Bakare"}, BirthDate: "1971-04-05", Nationalities: []string{"NG"}}
	ix.Add(later)
	got.Add(later)
	var queries []Query
	for i, e := range entries[:600] {
		for _, n := range e.Names {
			q := Query{Kind: e.Kind, Name: n, BirthDate: e.BirthDate}
			if i%2 == 1 {
				q.Name = misspell(rng, n)
			}
			queries = append(queries, q)
		}
	}
	queries = append(queries, Query{Kind: KindPerson, Name: "Oluwasein Adeyemi Bakare"}, Query{Kind: KindPerson, Name: "Radomir Vukovitch"})
	hits := 0
	for _, q := range queries {
		want := ix.Search(q, 0.5, 5)
		have := got.Search(q, 0.5, 5)
		hits += len(want)
		if !reflect.DeepEqual(want, have) {
			t.Fatalf("%+v:\n decoded %+v\n original %+v", q, have, want)
		}
	}
	if hits < len(queries) {
		t.Fatalf("%d hits for %d queries: the test searches nothing", hits, len(queries))
	}
	// A second encoding of the decoded index is the same bytes, but for
	// the order of the maps it walks: compare lengths only.
	var again bytes.Buffer
	if err := got.Encode(&again); err != nil {
		t.Fatal(err)
	}
	if again.Len() <= buf.Len() {
		t.Fatalf("re-encoded %d bytes, want more than %d (one entry added)", again.Len(), buf.Len())
	}
}

// What is not a whole index of this layout is refused, never half read.
func TestDecodeRefusesCutOrDamaged(t *testing.T) {
	ix := NewIndex(Options{})
	for _, e := range Generate(rand.New(rand.NewPCG(1, 2)), 300) {
		ix.Add(e)
	}
	var buf bytes.Buffer
	if err := ix.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	for _, cut := range []int{0, 10, len(b) / 2, len(b) - 1} {
		if _, err := Decode(bytes.NewReader(b[:cut]), Options{}); !errors.Is(err, ErrLayout) {
			t.Errorf("cut at %d of %d: %v, want ErrLayout", cut, len(b), err)
		}
	}
	if _, err := Decode(bytes.NewReader(append(bytes.Clone(b), 0)), Options{}); !errors.Is(err, ErrLayout) {
		t.Errorf("trailing byte: %v, want ErrLayout", err)
	}
	// A token number out of range deep inside (the name tokens array's
	// last element set to a huge value) is caught by the checks.
	bad := bytes.Clone(b)
	for i := range 8 {
		bad[16+i] = 0xff // the vocabulary's length
	}
	if _, err := Decode(bytes.NewReader(bad), Options{}); !errors.Is(err, ErrLayout) {
		t.Errorf("vocabulary length damaged: %v, want ErrLayout", err)
	}
}

// The layout version is stable within a build and names the layout.
func TestLayoutVersion(t *testing.T) {
	if v := LayoutVersion(); v != LayoutVersion() || len(v) < len(layoutRevision)+17 {
		t.Fatalf("LayoutVersion %q", v)
	}
}

// A key written in pieces, short or long, hashes as the whole string.
func TestKeyHashOfPieces(t *testing.T) {
	s := newHashSeed()
	for _, parts := range [][]string{{}, {"a"}, {"abc", "def"}, {strings.Repeat("x", 60), "yyyyyyyy", "z"}, {strings.Repeat("q", 200)}} {
		var h keyHash
		h.SetSeed(s)
		for i, p := range parts {
			if i == 1 && len(p) > 0 {
				h.WriteByte(p[0])
				p = p[1:]
			}
			h.Write([]byte(p))
		}
		if whole := strings.Join(parts, ""); h.Sum64() != keyedHash(s, whole) {
			t.Errorf("%q in pieces hashes otherwise", whole)
		}
		h.SetSeed(s)
		if h.Sum64() != keyedHash(s, "") {
			t.Error("SetSeed does not start a new key")
		}
	}
	if keyedHash(s, "abc") == keyedHash(newHashSeed(), "abc") {
		t.Error("two seeds hash alike")
	}
}

// reencoded returns ix written by Encode and read back by Decode with
// opts, as an agent's next start reads its name index file.
func reencoded(t *testing.T, ix *Index, opts Options) *Index {
	t.Helper()
	var buf bytes.Buffer
	if err := ix.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	dx, err := Decode(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	return dx
}
