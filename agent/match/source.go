package match

import (
	"sync"

	"github.com/borderpost/borderpost/store"
)

// AlertSource returns the alerts held under IDs, at the same positions; a
// zero Alert (empty ID) stands for one not held or expired.
// *store.Replica is one: the index reads the alerts behind a lookup's
// matches from it, in one call, when the matches are made, and holds no
// decrypted alert itself.
type AlertSource interface {
	AlertsByID(ids []string) ([]store.Alert, error)
}

// memAlerts is the source of an index built without a replica (tests, a
// file given to `borderpost screen`): the alerts Put gives it, in memory.
type memAlerts struct {
	mu sync.RWMutex
	m  map[string]store.Alert
}

func (s *memAlerts) AlertsByID(ids []string) ([]store.Alert, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]store.Alert, len(ids))
	for i, id := range ids {
		out[i] = s.m[id]
	}
	return out, nil
}

func (s *memAlerts) put(a store.Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[a.ID] = a
}

func (s *memAlerts) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}
