package match

import (
	"slices"
	"sort"
)

// hashSlots maps 64-bit keyed hashes (of identifier terms, of alert IDs)
// to slots, several slots per hash allowed. What Load indexes is a sorted
// array pair, 12 bytes an entry, searched by interpolation (searchUniform); what deltas add
// later goes to a map until the next rebuild. Entries removed from the
// arrays are zeroed (slot 0 is never used).
type hashSlots struct {
	keys []uint64 // sorted once sealed
	vals []uint32 // slot of keys[i], 0 once removed
	over map[uint64][]uint32
	bulk bool // appends unsorted until seal
}

func newHashSlots(hint int, bulk bool) hashSlots {
	h := hashSlots{over: make(map[uint64][]uint32), bulk: bulk}
	if bulk {
		h.keys, h.vals = make([]uint64, 0, hint), make([]uint32, 0, hint)
	}
	return h
}

// add files slot under k. Adding a pair twice files it once, except in
// bulk, whose caller adds each pair once.
func (h *hashSlots) add(k uint64, slot uint32) {
	if h.bulk {
		h.keys, h.vals = append(h.keys, k), append(h.vals, slot)
		return
	}
	found := false
	h.each(k, func(s uint32) bool { found = s == slot; return !found })
	if !found {
		h.over[k] = append(h.over[k], slot)
	}
}

// seal sorts what bulk adds gave and ends the bulk.
func (h *hashSlots) seal() {
	if !h.bulk {
		return
	}
	sort.Sort(byHash{h})
	h.keys, h.vals = slices.Clip(h.keys), slices.Clip(h.vals)
	h.bulk = false
}

// each calls fn with the slots filed under k until fn returns false.
func (h *hashSlots) each(k uint64, fn func(slot uint32) bool) {
	for i := searchUniform(h.keys, k); i < len(h.keys) && h.keys[i] == k; i++ {
		if h.vals[i] != 0 && !fn(h.vals[i]) {
			return
		}
	}
	for _, s := range h.over[k] {
		if !fn(s) {
			return
		}
	}
}

// remove takes slot from under k.
func (h *hashSlots) remove(k uint64, slot uint32) {
	for i := searchUniform(h.keys, k); i < len(h.keys) && h.keys[i] == k; i++ {
		if h.vals[i] == slot {
			h.vals[i] = 0
		}
	}
	if o, ok := h.over[k]; ok {
		if o = slices.DeleteFunc(o, func(s uint32) bool { return s == slot }); len(o) == 0 {
			delete(h.over, k)
		} else {
			h.over[k] = o
		}
	}
}

// byHash sorts the array pair by hash.
type byHash struct{ h *hashSlots }

func (b byHash) Len() int           { return len(b.h.keys) }
func (b byHash) Less(i, j int) bool { return b.h.keys[i] < b.h.keys[j] }
func (b byHash) Swap(i, j int) {
	b.h.keys[i], b.h.keys[j] = b.h.keys[j], b.h.keys[i]
	b.h.vals[i], b.h.vals[j] = b.h.vals[j], b.h.vals[i]
}
