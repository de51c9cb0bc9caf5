package match

import (
	"hash/maphash"
	"math"
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
// slot costs its ID's bytes, an offset, an expiry, a name entry and a
// 12-byte hash entry: no string header, no copy of the alert.
type slots struct {
	seed    maphash.Seed
	idBytes []byte    // every slot's alert ID, back to back
	idEnd   []uint64  // slot -> end of its ID in idBytes; it starts where the previous one ends
	expires []int64   // slot -> unix nanoseconds, noExpiry or removed
	nameOf  []uint32  // slot -> name entry, 0 when none
	byID    hashSlots // keyed hash of an alert ID -> its slot
	live    int
}

// newSlots returns empty slots sized for about hint alerts. In bulk, add
// trusts that every ID is new, and find works only once sealed.
func newSlots(hint int, bulk bool) slots {
	return slots{seed: maphash.MakeSeed(), idBytes: make([]byte, 0, hint*12),
		idEnd: append(make([]uint64, 0, hint+1), 0), expires: append(make([]int64, 0, hint+1), removed),
		nameOf: append(make([]uint32, 0, hint+1), 0), byID: newHashSlots(hint, bulk)}
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
	var found uint32
	s.byID.each(maphash.String(s.seed, id), func(slot uint32) bool {
		if string(s.idBytesOf(slot)) == id {
			found = slot
		}
		return found == 0
	})
	return found, found != 0
}

// add gives a new alert ID a slot.
func (s *slots) add(id string) uint32 {
	slot := uint32(len(s.idEnd))
	s.idBytes = append(s.idBytes, id...)
	s.idEnd = append(s.idEnd, uint64(len(s.idBytes)))
	s.expires = append(s.expires, noExpiry)
	s.nameOf = append(s.nameOf, 0)
	s.byID.add(maphash.String(s.seed, id), slot)
	s.live++
	return slot
}

// remove frees a live slot. Its ID's bytes stay until the index is
// rebuilt; the slot is never live again.
func (s *slots) remove(slot uint32) {
	s.byID.remove(maphash.String(s.seed, s.id(slot)), slot)
	s.expires[slot] = removed
	s.live--
}

// liveAt reports whether a slot holds an alert not expired at t (unix
// nanoseconds).
func (s *slots) liveAt(slot uint32, t int64) bool { return s.expires[slot] > t }
