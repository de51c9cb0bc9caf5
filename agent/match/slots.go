package match

import (
	"hash/maphash"
	"math"
	"slices"
)

const (
	// noExpiry is the expiry of a slot whose alert never expires.
	noExpiry = math.MaxInt64
	// removed is the expiry of a slot whose alert left the index: never
	// live, never due.
	removed = math.MinInt64
)

// slots number the alerts an index holds, one slot per alert ID, never
// reused (0 is unused); fingerprints and name entries point at slots. A
// slot costs its ID's bytes, an offset, an expiry, a name entry and one
// map entry: no string header, no copy of the alert.
type slots struct {
	seed    maphash.Seed
	idBytes []byte   // every slot's alert ID, back to back
	idEnd   []uint64 // slot -> end of its ID in idBytes; it starts where the previous one ends
	expires []int64  // slot -> unix nanoseconds, noExpiry or removed
	nameOf  []uint32 // slot -> name entry, 0 when none
	first   map[uint64]uint32
	more    map[uint64][]uint32 // further slots whose IDs share a hash
	live    int
}

// newSlots returns empty slots sized for about hint alerts.
func newSlots(hint int) slots {
	return slots{seed: maphash.MakeSeed(), idBytes: make([]byte, 0, hint*12),
		idEnd: append(make([]uint64, 0, hint+1), 0), expires: append(make([]int64, 0, hint+1), removed),
		nameOf: append(make([]uint32, 0, hint+1), 0), first: make(map[uint64]uint32, hint), more: make(map[uint64][]uint32)}
}

func (s *slots) idBytesOf(slot uint32) []byte { return s.idBytes[s.idEnd[slot-1]:s.idEnd[slot]] }

// id returns the alert ID of a slot, "" once removed.
func (s *slots) id(slot uint32) string {
	if s.expires[slot] == removed {
		return ""
	}
	return string(s.idBytesOf(slot))
}

// find returns the slot of a held alert ID.
func (s *slots) find(id string) (uint32, bool) {
	h := maphash.String(s.seed, id)
	if f, ok := s.first[h]; ok && string(s.idBytesOf(f)) == id {
		return f, true
	}
	for _, m := range s.more[h] {
		if string(s.idBytesOf(m)) == id {
			return m, true
		}
	}
	return 0, false
}

// add gives a new alert ID a slot.
func (s *slots) add(id string) uint32 {
	slot := uint32(len(s.idEnd))
	s.idBytes = append(s.idBytes, id...)
	s.idEnd = append(s.idEnd, uint64(len(s.idBytes)))
	s.expires = append(s.expires, noExpiry)
	s.nameOf = append(s.nameOf, 0)
	h := maphash.String(s.seed, id)
	if _, ok := s.first[h]; ok {
		s.more[h] = append(s.more[h], slot)
	} else {
		s.first[h] = slot
	}
	s.live++
	return slot
}

// remove frees a live slot. Its ID's bytes stay until the index is
// rebuilt; the slot is never live again.
func (s *slots) remove(slot uint32) {
	h := maphash.String(s.seed, s.id(slot))
	more := s.more[h]
	switch {
	case s.first[h] == slot && len(more) > 0:
		s.first[h], more = more[0], more[1:]
	case s.first[h] == slot:
		delete(s.first, h)
	default:
		more = slices.DeleteFunc(more, func(m uint32) bool { return m == slot })
	}
	if len(more) == 0 {
		delete(s.more, h)
	} else {
		s.more[h] = more
	}
	s.expires[slot] = removed
	s.live--
}

// liveAt reports whether a slot holds an alert not expired at t (unix
// nanoseconds).
func (s *slots) liveAt(slot uint32, t int64) bool { return s.expires[slot] > t }
