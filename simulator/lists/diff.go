package lists

import (
	"slices"

	"github.com/borderpost/borderpost/store"
)

// Diff returns the delta that turns the set old into the set new, matching
// alerts by ID: upserts holds every alert of new whose ID is not in old or
// whose Version differs (in the order of new), deletes the IDs of old that
// are not in new (sorted). Applying the delta to old gives new exactly.
// Both sets must hold each ID at most once, as the parsers here guarantee.
func Diff(old, new []store.Alert) (upserts []store.Alert, deletes []string) {
	before := make(map[string]uint64, len(old))
	for i := range old {
		before[old[i].ID] = old[i].Version
	}
	after := make(map[string]struct{}, len(new))
	for i := range new {
		a := &new[i]
		after[a.ID] = struct{}{}
		if v, ok := before[a.ID]; !ok || v != a.Version {
			upserts = append(upserts, *a)
		}
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			deletes = append(deletes, id)
		}
	}
	slices.Sort(deletes)
	return upserts, deletes
}
