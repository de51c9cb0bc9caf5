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
