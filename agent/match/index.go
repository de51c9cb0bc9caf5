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

	"github.com/borderpost/borderpost/agent/match/name"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
	"github.com/borderpost/borderpost/store"
)

// Index maps normalised identifiers to the alerts that carry them, and
// holds the names of persons and companies in a name index. It is safe for
// concurrent lookups with one writer at a time.
type Index struct {
	mu        sync.RWMutex
	terms     map[string][]string    // term -> alert IDs
	alerts    map[string]store.Alert // alert ID -> alert
	names     *name.Index
	entry     map[string]uint32 // alert ID -> name entry
	byName    []string          // name entry -> alert ID ("" when removed)
	threshold float64           // name score from which a name match is a hit
	nameHits  int               // hits one name produces at most
}

// Options tune an Index. The zero value takes the defaults.
type Options struct {
	// NameThreshold is the name score from which a match is a hit;
	// default name.DefaultThreshold (0.70, the best F1 on the labelled
	// pairs the engine is tested on).
	NameThreshold float64
	// NameHits bounds the hits one name produces; default 5. Alerts whose
	// score ties with the last hit's come too (name.Search), up to four
	// times as many: equals are never cut arbitrarily.
	NameHits int
}

// NewIndex returns an empty index with the default options.
func NewIndex() *Index { return NewIndexWith(Options{}) }

// NewIndexWith returns an empty index with the given options.
func NewIndexWith(o Options) *Index {
	if o.NameThreshold <= 0 {
		o.NameThreshold = name.DefaultThreshold
	}
	if o.NameHits <= 0 {
		o.NameHits = nameLimit
	}
	return &Index{terms: make(map[string][]string), alerts: make(map[string]store.Alert),
		names: name.NewIndex(name.Options{}), entry: make(map[string]uint32), byName: []string{""},
		threshold: o.NameThreshold, nameHits: o.NameHits}
}

// nameEntry returns the name index's entry for a person or company alert.
func nameEntry(a *store.Alert, id uint32) (name.Entry, bool) {
	s := a.Subject
	switch {
	case s.Kind == store.SubjectPerson && s.Person != nil:
		p := s.Person
		full := strings.TrimSpace(p.Forenames + " " + p.Surname)
		return name.Entry{ID: id, Kind: name.KindPerson, Names: append([]string{full}, p.Aliases...),
			BirthDate: p.BirthDate, Nationalities: p.Nationalities, Sex: p.Sex}, true
	case s.Kind == store.SubjectCompany && s.Company != nil:
		c := s.Company
		var nat []string
		if c.Country != "" {
			nat = []string{c.Country}
		}
		return name.Entry{ID: id, Kind: name.KindCompany, Names: append([]string{c.Name}, c.Aliases...), Nationalities: nat}, true
	}
	return name.Entry{}, false
}

// Len returns the number of alerts indexed.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.alerts)
}

// term joins a kind and a normalised value into an index key. Plates
// carry their country in the key, since a plate only means something with
// it; documents do not, so that a read without an issuing state still
// finds the alert (the state is compared at lookup).
func term(kind devices.Kind, value string) string {
	return string(kind) + "\x00" + value
}

// Terms returns the index keys of an alert's identifiers. An identifier
// that does not normalise is left out: it could never be matched.
func Terms(a *store.Alert) []string {
	var ts []string
	// add(kind)(value, err) keeps a normalised value, dropping failures.
	add := func(kind devices.Kind) func(string, error) {
		return func(v string, err error) {
			if err == nil && v != "" {
				ts = append(ts, term(kind, v))
			}
		}
	}
	s := a.Subject
	switch s.Kind {
	case store.SubjectVehicle:
		if v := s.Vehicle; v.Plate != "" {
			iso, p, err := ident.NormalizePlate(v.PlateCountry, v.Plate)
			add(devices.KindPlate)(iso+" "+p, err)
		}
		if s.Vehicle.VIN != "" {
			add(devices.KindVIN)(ident.NormalizeSimple(s.Vehicle.VIN))
		}
	case store.SubjectContainer:
		add(devices.KindContainer)(ident.ParseContainer(s.Container.Number))
	case store.SubjectDocument:
		add(devices.KindDocument)(ident.NormalizeSimple(s.Document.Number))
	case store.SubjectCompany:
		if s.Company.EORI != "" {
			add(devices.KindEORI)(ident.ParseEORI(s.Company.EORI))
		}
	case store.SubjectVessel:
		add(devices.KindIMO)(ident.ParseIMO(s.Vessel.IMO))
	case store.SubjectAircraft:
		add(devices.KindAircraft)(ident.NormalizeSimple(s.Aircraft.Registration))
	case store.SubjectFirearm:
		add(devices.KindFirearm)(ident.NormalizeSimple(s.Firearm.Serial))
	case store.SubjectPhone:
		add(devices.KindPhone)(ident.NormalizePhone(s.Phone))
	case store.SubjectEmail:
		add(devices.KindEmail)(ident.NormalizeEmail(s.Email))
	}
	return ts
}

// ReplaceWith makes ix hold what fresh holds, in one step: a snapshot's
// alert set is indexed beside the old one while checks go on, then swapped
// in. fresh must not be used afterwards.
func (ix *Index) ReplaceWith(fresh *Index) {
	fresh.mu.Lock()
	defer fresh.mu.Unlock()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.terms, ix.alerts, ix.names, ix.entry, ix.byName = fresh.terms, fresh.alerts, fresh.names, fresh.entry, fresh.byName
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
	id := uint32(len(ix.byName))
	if e, ok := nameEntry(&a, id); ok {
		ix.byName = append(ix.byName, a.ID)
		ix.entry[a.ID] = id
		ix.names.Add(e)
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
	if e, ok := ix.entry[id]; ok {
		ix.names.Remove(e)
		ix.byName[e] = ""
		delete(ix.entry, id)
	}
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
	// Name explains a name match token by token; nil for identifiers.
	Name *name.Explanation
}

// nameLimit is the default bound on the hits one name produces: officers
// act on the best few, and a common name must not flood the screen.
const nameLimit = 5

// Lookup returns the alerts that an identifier item matches at time now,
// leaving out expired alerts. Items of other kinds (names) return nil. A
// plate a device corrected is looked up both as corrected and as read,
// since a correction can turn a personalised plate into an ordinary one.
func (ix *Index) Lookup(it devices.Item, now time.Time) []Candidate {
	if it.Kind == devices.KindPerson || it.Kind == devices.KindCompany {
		return ix.lookupName(it, now)
	}
	out := ix.lookup(it, now)
	if it.Kind == devices.KindPlate && it.Correction != "" {
		if _, p, err := ident.NormalizePlate(it.Country, it.Raw); err == nil && p != it.Value {
			asRead := it
			asRead.Value, asRead.Correction = p, ""
		next:
			for _, c := range ix.lookup(asRead, now) {
				for _, o := range out {
					if o.Alert.ID == c.Alert.ID {
						continue next
					}
				}
				out = append(out, c)
			}
		}
	}
	return out
}

func (ix *Index) lookup(it devices.Item, now time.Time) []Candidate {
	value := it.Value
	if it.Kind == devices.KindPlate {
		value = it.Country + " " + it.Value
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []Candidate
	for _, id := range ix.terms[term(it.Kind, value)] {
		a := ix.alerts[id]
		if a.Expired(now) {
			continue
		}
		c := Candidate{Alert: a, Match: matchKind(it), Score: 1, Explanation: explain(it)}
		if it.Kind == devices.KindDocument {
			// The number matched; the issuing states must not disagree.
			state := a.Subject.Document.Country
			switch {
			case state != "" && it.Country != "" && state != it.Country:
				continue
			case state == "" || it.Country == "":
				c.Score = 0.9
				c.Explanation += "; issuing state not compared (one side gives none)"
			default:
				c.Explanation += "; issuing state " + state + " agrees"
			}
		}
		out = append(out, c)
	}
	return out
}

// lookupName searches the name index at the index's threshold.
func (ix *Index) lookupName(it devices.Item, now time.Time) []Candidate {
	return ix.LookupName(it, now, ix.threshold, ix.nameHits)
}

// LookupName returns up to limit alerts whose names match a person or
// company item with a score of at least threshold, best first. An expired
// alert never matches.
func (ix *Index) LookupName(it devices.Item, now time.Time, threshold float64, limit int) []Candidate {
	kind := name.KindPerson
	if it.Kind == devices.KindCompany {
		kind = name.KindCompany
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	ms := ix.names.Search(name.Query{Kind: kind, Name: it.Value, BirthDate: it.BirthDate, Nationality: it.Nationality, Sex: it.Sex},
		threshold, limit)
	var out []Candidate
	for _, m := range ms {
		if int(m.ID) >= len(ix.byName) || ix.byName[m.ID] == "" {
			continue
		}
		a := ix.alerts[ix.byName[m.ID]]
		if a.Expired(now) {
			continue
		}
		x := m.Explanation
		match := "fuzzy"
		if m.Score >= 0.99 {
			match = "exact"
		}
		out = append(out, Candidate{Alert: a, Match: match, Score: m.Score, Explanation: x.String(), Name: &x})
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
