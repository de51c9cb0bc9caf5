package match

import (
	"sync"

	"github.com/borderpost/borderpost/store"
)

// AlertSource returns the alert held under an ID, and false when none is
// held or it has expired. *store.Replica is one: the index reads the alert
// behind a match from it when the match is made, and holds no decrypted
// alert itself.
type AlertSource interface {
	Alert(id string) (store.Alert, bool, error)
}

// memAlerts is the source of an index built without a replica (tests, a
// file given to `borderpost screen`): the alerts Put gives it, in memory.
type memAlerts struct {
	mu sync.RWMutex
	m  map[string]store.Alert
}

func (s *memAlerts) Alert(id string) (store.Alert, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.m[id]
	return a, ok, nil
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
