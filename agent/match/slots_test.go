package match

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Slots agree with a plain map through any sequence of adds and removes.
func TestSlotsAgreeWithAMap(t *testing.T) {
	s := newSlots(0, false)
	model := map[string]uint32{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		id := fmt.Sprintf("A%d", rng.IntN(3000))
		slot, ok := s.find(id)
		want, held := model[id]
		if ok != held || ok && slot != want {
			t.Fatalf("op %d: find(%s) = %d,%v; want %d,%v", i, id, slot, ok, want, held)
		}
		if held {
			if s.id(slot) != id {
				t.Fatalf("slot %d holds %q, want %q", slot, s.id(slot), id)
			}
			s.remove(slot)
			delete(model, id)
			if s.id(slot) != "" || s.liveAt(slot, 0) {
				t.Fatalf("removed slot %d still live", slot)
			}
		} else {
			model[id] = s.add(id)
		}
		if s.live != len(model) {
			t.Fatalf("op %d: %d live, want %d", i, s.live, len(model))
		}
	}
}
