package name

import (
	"fmt"
	"testing"
)

// A name made only of tokens that thousands of names hold is found by
// its very tokens, in any order, when the posting budget leaves their
// lists walked in part; a decoded index files its names again and finds
// it too; a removed name is not found; a name that only shares the
// tokens' hash with the query (another token set) is not taken.
func TestWholeNameFindsCommonTokens(t *testing.T) {
	ix := NewIndex(Options{PostingBudget: 10})
	id := uint32(1)
	add := func(n string) uint32 {
		ix.Add(Entry{ID: id, Kind: KindPerson, Names: []string{n}})
		id++
		return id - 1
	}
	for i := range 300 {
		add(fmt.Sprintf("Kelvo Zorvani %c%c", 'a'+i%26, 'a'+i/26))
		add(fmt.Sprintf("Kelvo %c%cx", 'a'+i%26, 'a'+i/26))
		add(fmt.Sprintf("Zorvani %c%cy", 'a'+i%26, 'a'+i/26))
	}
	want := add("Kelvo Zorvani")
	gone := add("Zorvani Kelvo")
	ix.Remove(gone)
	find := func(ix *Index) (found, removed bool) {
		for _, m := range ix.Search(Query{Kind: KindPerson, Name: "ZORVANI KELVO"}, DefaultThreshold, 5) {
			found = found || m.ID == want
			removed = removed || m.ID == gone
		}
		return found, removed
	}
	if f, r := find(ix); !f || r {
		t.Fatalf("found %v, removed name found %v; want true, false", f, r)
	}
	// A token misspelt reads as its known neighbours: the set they make
	// is looked up whole too.
	for _, q := range []string{"Zorvanu Kelvo", "Zorvani Kelov"} {
		found := false
		for _, m := range ix.Search(Query{Kind: KindPerson, Name: q}, DefaultThreshold, 5) {
			found = found || m.ID == want
		}
		if !found {
			t.Errorf("%q: the name of the very tokens it misspells not found", q)
		}
	}
	dx := reencoded(t, ix, Options{PostingBudget: 10})
	if f, r := find(dx); !f || r {
		t.Fatalf("decoded: found %v, removed name found %v; want true, false", f, r)
	}
	if !sameTokenSet([]uint32{3, 1, 2}, []uint32{1, 2, 3}) || sameTokenSet([]uint32{1, 1, 2}, []uint32{1, 2, 2}) {
		t.Fatal("sameTokenSet")
	}
}

// A name many entries hold is given whole, up to the ties Search returns,
// when retrieval walked its tokens' lists in part: the first 20 the chain
// gave were as arbitrary as the entries retrieval met, and a namesake
// past them was cut without a word. A misspelt query reads as the name
// and gets them all too; with RuleNamesakes off, the chain gives 20.
func TestWholeNameGivesEveryNamesake(t *testing.T) {
	build := func(opts Options) (*Index, map[uint32]bool) {
		ix := NewIndex(opts)
		id := uint32(1)
		for i := range 300 {
			for _, n := range []string{"Kelvo Zorvani %c%c", "Kelvo %c%cx", "Zorvani %c%cy"} {
				ix.Add(Entry{ID: id, Kind: KindPerson, Names: []string{fmt.Sprintf(n, 'a'+i%26, 'a'+i/26)}})
				id++
			}
		}
		held := map[uint32]bool{}
		for i := range 60 {
			n := []string{"Kelvo Zorvani", "ZORVANI, Kelvo", "kelvo zorvani"}[i%3]
			ix.Add(Entry{ID: id, Kind: KindPerson, Names: []string{n}})
			held[id] = true
			id++
		}
		return ix, held
	}
	ix, held := build(Options{PostingBudget: 10})
	for _, q := range []string{"Zorvani Kelvo", "Zorvani Kelov"} {
		got := 0
		for _, m := range ix.Search(Query{Kind: KindPerson, Name: q}, DefaultThreshold, 5) {
			if held[m.ID] {
				got++
			}
		}
		if got != len(held) {
			t.Errorf("%q: %d of the %d entries holding the name", q, got, len(held))
		}
	}
	off, held := build(Options{PostingBudget: 10, Disable: RuleSet(0).With(RuleNamesakes)})
	got := 0
	for _, m := range off.Search(Query{Kind: KindPerson, Name: "Zorvani Kelvo"}, DefaultThreshold, 5) {
		if held[m.ID] {
			got++
		}
	}
	if got >= len(held) {
		t.Errorf("namesakes off: all %d entries holding the name, want the chain's 20 and what retrieval met", got)
	}
}
