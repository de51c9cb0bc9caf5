package name

import (
	"math"
	"slices"
	"testing"
)

// Entries are found by ID whatever the IDs: dense ones (the match index
// numbers its alerts from 1) through the array, sparse ones through the
// map, including once the array grows over an ID the map held; a
// replaced or removed entry is gone from both.
func TestEntriesByDenseAndSparseIDs(t *testing.T) {
	ix := NewIndex(Options{})
	names := map[uint32]string{1: "Agnieszka Kowalczyk", 2: "Bartholomew Oyelaran", 3000: "Dragomir Petrovski", math.MaxUint32: "Xiuying Zhang", 5: "Radomir Vukovic"}
	for _, id := range []uint32{1, 2, 3000, math.MaxUint32, 5} {
		ix.Add(Entry{ID: id, Kind: KindPerson, Names: []string{names[id]}, Nationalities: []string{"pl"}, BirthDate: "1980-02-03"})
	}
	// Enough dense IDs for the array to cover 3000, which the map held.
	for id := uint32(10); id < 3100; id++ {
		if names[id] != "" {
			continue
		}
		ix.Add(Entry{ID: id, Kind: KindCompany, Names: []string{"Filler Trading " + string(rune('A'+id%26)) + string(rune('A'+id/26%26))}})
	}
	found := func(name string) []uint32 {
		var ids []uint32
		for _, m := range ix.Search(Query{Kind: KindPerson, Name: name, BirthDate: "1980-02-03", Nationality: "PL"}, DefaultThreshold, 5) {
			ids = append(ids, m.ID)
		}
		return ids
	}
	for id, n := range names {
		if got := found(n); !slices.Equal(got, []uint32{id}) {
			t.Errorf("%q: %v, want [%d]", n, got, id)
		}
	}
	m := ix.Search(Query{Kind: KindPerson, Name: names[3000], BirthDate: "1980-02-03", Nationality: "PL"}, DefaultThreshold, 1)
	var sawDate, sawNat bool
	for _, e := range m[0].Explanation.Evidence {
		sawDate = sawDate || e.Field == "birth_date" && e.Alert == "1980-02-03" && e.Effect == "agrees"
		sawNat = sawNat || e.Field == "nationality" && e.Alert == "PL" && e.Effect == "agrees"
	}
	if !sawDate || !sawNat {
		t.Errorf("the packed date of birth or shared nationalities lost: %+v", m[0].Explanation.Evidence)
	}
	ix.Add(Entry{ID: 3000, Kind: KindPerson, Names: []string{"Teodora Vasileva"}})
	ix.Remove(math.MaxUint32)
	ix.Remove(2)
	if got := found(names[3000]); len(got) != 0 {
		t.Errorf("replaced entry's old name still found: %v", got)
	}
	if got := found("Teodora Vasileva"); !slices.Equal(got, []uint32{3000}) {
		t.Errorf("replacing name: %v", got)
	}
	if got := found(names[math.MaxUint32]); len(got) != 0 {
		t.Errorf("removed sparse ID still found: %v", got)
	}
	if got := found(names[2]); len(got) != 0 {
		t.Errorf("removed dense ID still found: %v", got)
	}
	if ix.Len() != 5+3089-2 {
		t.Errorf("Len %d, want %d", ix.Len(), 5+3089-2)
	}
}

// The fuzzy keys' table finds every key's latest head, also when keys
// share their low bits (one probe sequence) and across growth, and finds
// nothing for a key never filed.
func TestChainHeadsFindEveryKey(t *testing.T) {
	var c chainHeads
	var keys []uint64
	want := map[uint64]uint32{}
	file := func(h uint64) {
		keys = append(keys, h)
		c.set(h, uint32(len(keys)), keys)
		want[h] = uint32(len(keys))
	}
	for i := range uint64(3000) {
		file(i<<40 | 7) // the same low bits
		file(i * 0x9e3779b97f4a7c15)
	}
	for i := range uint64(500) {
		file(i<<40 | 7) // a new head for keys already filed
	}
	for h, p := range want {
		if got := c.head(h, keys); got != p {
			t.Fatalf("key %#x: head %d, want %d", h, got, p)
		}
	}
	if got := c.head(12345<<40|7, keys); got != 0 {
		t.Fatalf("key never filed: head %d", got)
	}
	if c.n != len(want) {
		t.Fatalf("%d keys counted, want %d", c.n, len(want))
	}
}
