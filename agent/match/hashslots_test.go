package match

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// A table built in bulk then changed by deltas finds what a plain
// multimap holds, hashes shared by several slots included.
func TestHashSlotsAgreeWithAMultimap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	model := map[uint64][]uint32{}
	h := newHashSlots(0, true)
	for slot := uint32(1); slot <= 5000; slot++ {
		k := rng.Uint64N(3000) // many keys shared
		h.add(k, slot)
		model[k] = append(model[k], slot)
	}
	h.seal()
	check := func(when string) {
		t.Helper()
		for k := range uint64(3000) {
			var got []uint32
			h.each(k, func(s uint32) bool { got = append(got, s); return true })
			slices.Sort(got)
			want := slices.Clone(model[k])
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: key %d gives %v, want %v", when, k, got, want)
			}
		}
	}
	check("sealed")
	for i := range 4000 {
		k := rng.Uint64N(3000)
		if ss := model[k]; len(ss) > 0 && i%2 == 0 {
			s := ss[rng.IntN(len(ss))]
			h.remove(k, s)
			model[k] = slices.DeleteFunc(ss, func(x uint32) bool { return x == s })
		} else {
			s := uint32(10000 + i)
			h.add(k, s)
			h.add(k, s) // twice: filed once
			model[k] = append(model[k], s)
		}
	}
	check("after deltas")
}
