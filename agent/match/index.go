// Package match owns the in-memory matching engine of the agent: indexes
// built from the replica's alerts, and the lookup of what arrives
// (identifiers now; names in sub-package name) against them. Every hit
// carries its explanation.
//
// It holds decrypted alerts in memory only; it must never write them to
// disk or log them, and it must never return a hit on an expired alert.
package match

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
	"github.com/borderpost/borderpost/store"
)

// Index maps normalised identifiers to the alerts that carry them. It is
// safe for concurrent lookups with one writer at a time.
type Index struct {
	mu     sync.RWMutex
	terms  map[string][]string    // term -> alert IDs
	alerts map[string]store.Alert // alert ID -> alert
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{terms: make(map[string][]string), alerts: make(map[string]store.Alert)}
}

// Len returns the number of alerts indexed.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.alerts)
}

// term joins a kind, a country and a normalised value into an index key.
func term(kind devices.Kind, country, value string) string {
	return string(kind) + "\x00" + country + "\x00" + value
}

// Terms returns the index keys of an alert's identifiers. An identifier
// that does not normalise is left out: it could never be matched.
func Terms(a *store.Alert) []string {
	var ts []string
	s := a.Subject
	switch s.Kind {
	case store.SubjectVehicle:
		if v := s.Vehicle; v != nil && v.Plate != "" {
			if iso, p, err := ident.NormalizePlate(v.PlateCountry, v.Plate); err == nil {
				ts = append(ts, term(devices.KindPlate, iso, p))
			}
		}
	case store.SubjectContainer:
		if c, err := ident.ParseContainer(s.Container.Number); err == nil {
			ts = append(ts, term(devices.KindContainer, "", c))
		}
	}
	return ts
}

// Put adds or replaces an alert.
func (ix *Index) Put(a store.Alert) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.remove(a.ID)
	ix.alerts[a.ID] = a
	for _, t := range Terms(&a) {
		ix.terms[t] = append(ix.terms[t], a.ID)
	}
}

// Delete removes an alert if it is indexed.
func (ix *Index) Delete(id string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.remove(id)
}

func (ix *Index) remove(id string) {
	old, ok := ix.alerts[id]
	if !ok {
		return
	}
	delete(ix.alerts, id)
	for _, t := range Terms(&old) {
		ids := ix.terms[t]
		for i, x := range ids {
			if x == id {
				ids = append(ids[:i], ids[i+1:]...)
				break
			}
		}
		if len(ids) == 0 {
			delete(ix.terms, t)
		} else {
			ix.terms[t] = ids
		}
	}
}

// Apply follows a committed change from central.
func (ix *Index) Apply(ch store.Change) {
	for _, a := range ch.Upserts {
		ix.Put(a)
	}
	for _, id := range ch.Deletes {
		ix.Delete(id)
	}
}

// Candidate is an alert matched by one item, with how it matched.
type Candidate struct {
	Alert       store.Alert
	Match       string // exact, normalised, fuzzy, derived
	Score       float64
	Explanation string
}

// Lookup returns the alerts that the item matches at time now, leaving out
// expired alerts.
func (ix *Index) Lookup(it devices.Item, now time.Time) []Candidate {
	var country string
	switch it.Kind {
	case devices.KindPlate:
		country = it.Country
	case devices.KindContainer:
	default:
		return nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []Candidate
	for _, id := range ix.terms[term(it.Kind, country, it.Value)] {
		a := ix.alerts[id]
		if a.Expired(now) {
			continue
		}
		out = append(out, Candidate{Alert: a, Match: matchKind(it), Score: 1, Explanation: explain(it)})
	}
	return out
}

// matchKind says whether the read matched as read or only after
// normalisation or correction.
func matchKind(it devices.Item) string {
	switch {
	case it.Correction != "":
		return "derived"
	case it.Raw == it.Value:
		return "exact"
	default:
		return "normalised"
	}
}

func explain(it devices.Item) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", it.Kind, it.Value)
	if it.Country != "" {
		fmt.Fprintf(&b, " (%s)", it.Country)
	}
	b.WriteString(" equals the alert's ")
	b.WriteString(string(it.Kind))
	if it.Raw != "" && it.Raw != it.Value {
		fmt.Fprintf(&b, "; read as %q, normalised", it.Raw)
	}
	if it.Correction != "" {
		fmt.Fprintf(&b, "; corrected: %s", it.Correction)
	}
	return b.String()
}
