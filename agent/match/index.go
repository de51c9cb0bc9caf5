// Package match owns the in-memory matching engine of the agent: indexes
// built from the replica's alerts, and the lookup of what arrives
// (identifiers now; names in sub-package name) against them. Every hit
// carries its explanation.
//
// It holds no decrypted alert beyond the names of persons and companies:
// the alert behind a match is read from the replica when the match is
// made. It must never write alerts to disk or log them, and it must never
// return a hit on an expired alert.
package match

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/borderpost/borderpost/agent/match/name"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
	"github.com/borderpost/borderpost/store"
)

// Index finds the alerts that identifiers and names match. It holds no
// decrypted alert: with a replica that keeps a term index (WithTerms),
// identifiers are the fingerprints of that index's keys; persons and
// companies (and, without a term index, every alert) take a slot: the
// alert's ID, expiry and name entry, their terms as keyed 64-bit
// fingerprints. The alert behind a match is read from the replica when
// the match is made, and a match is a hit only once the alert read
// confirms it (the term is the alert's, it has not expired). See
// docs/architecture.md, "Memory model". It is safe for concurrent lookups
// with one writer at a time.
type Index struct {
	// writeMu serialises the writers (Put, Delete, Apply, Expire,
	// ReplaceWith) and Persist, which reads the index while lookups go on
	// under mu.
	writeMu sync.Mutex
	// persistMu makes Persists one at a time: an older one's term table
	// must not land after a newer one's name index.
	persistMu sync.Mutex
	mu        sync.RWMutex
	src       AlertSource
	mem       *memAlerts   // src when the index has no replica, else nil
	seed      maphash.Seed // keys the fingerprints: random per index
	fps       hashSlots    // fingerprint of a term -> slots of the alerts carrying it
	slots     slots
	// byTerm, when the replica keeps a term index, is where identifiers
	// are looked up: alerts without names then take no slot, only their
	// terms' fingerprints in termFPs. nil otherwise.
	byTerm  termIndex
	termFPs fpSet
	names   *name.Index
	bySlot  []uint32 // name entry -> slot, 0 when removed
	// termBufs holds *termBuf: the terms of lookups in progress.
	termBufs sync.Pool
	// threshold is the name score from which a name match is a hit.
	threshold float64
	nameHits  int // hits one name produces at most
	track     stateTrack
}

// stateTrack is what an index knows of the replica state it holds, so
// that Persist writes its files stamped with that state and no other.
type stateTrack struct {
	at        store.Stamp // the state loaded, or last persisted; zero when unknown
	applied   bool        // a change was applied since: epoch, seq, hash are its cursor
	epoch     uint64
	seq       uint64
	hash      [32]byte
	dirty     bool      // changes applied since the files were taken
	last      time.Time // when the last change was applied
	untracked bool      // changed by Put or Delete, not Apply: the state is unknown
	deferred  bool      // Load left its rebuilt files to Persist (Options.DeferFiles)
}

// Options tune an Index. The zero value takes the defaults.
type Options struct {
	// NameThreshold is the name score from which a match is a hit;
	// default name.DefaultThreshold (0.70, the best F1 on the labelled
	// pairs the engine is tested on).
	NameThreshold float64
	// NameHits bounds the hits one name produces; default 5. Alerts whose
	// score ties with the last hit's come too, up to twice as many
	// (hitTies), and past those, by reference, up to twenty times as many
	// (namesakeRefs, Candidate.Namesakes).
	NameHits int
	// Logger receives what Load reports (a term table refused or not
	// saved); default slog.Default().
	Logger *slog.Logger
	// DeferFiles makes Load leave the files it rebuilt (the term table,
	// the name index) unsaved: the index it returns is Stale and Persist
	// writes them. The agent sets it when it rebuilds the index after a
	// snapshot, so that the new index is swapped in first and the files
	// written after, in the background.
	DeferFiles bool
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

// NewIndex returns an empty index with the default options that keeps
// the alerts Put gives it in memory (tests, tools given a file); the
// agent's index reads them from its replica instead (Load).
func NewIndex() *Index { return NewIndexWith(Options{}) }

// NewIndexWith returns an empty in-memory index (see NewIndex) with the
// given options.
func NewIndexWith(o Options) *Index {
	mem := &memAlerts{m: make(map[string]store.Alert)}
	ix := newIndex(o, mem, 0, false)
	ix.mem = mem
	return ix
}

// NewIndexOn returns an empty index that reads the alerts behind its
// matches from src, and keeps none itself: Put indexes an alert that src
// holds (or, for a tool that reports alert IDs only, answers by ID).
func NewIndexOn(src AlertSource, o Options) *Index { return newIndex(o, src, 0, false) }

// NewBulkIndexOn returns an empty index like NewIndexOn, sized for about
// hint alerts, for a load that gives each alert ID once (the caller has
// refused duplicates): IDs and terms are appended unsorted, 12 bytes
// each, and sorted once by Seal. Nothing may be looked up, and no alert
// put or deleted twice, before Seal; after it the index works as
// NewIndexOn's does.
func NewBulkIndexOn(src AlertSource, o Options, hint int) *Index {
	return newIndex(o, src, hint, true)
}

// Seal ends the load of an index made by NewBulkIndexOn: its tables are
// sorted for lookups. It does nothing to another index.
func (ix *Index) Seal() { ix.seal() }

// newIndex returns an empty index that reads alerts from src, sized for
// about hint alerts. A bulk index takes each alert ID once and serves
// lookups only after seal.
func newIndex(o Options, src AlertSource, hint int, bulk bool) *Index {
	if o.NameThreshold <= 0 {
		o.NameThreshold = name.DefaultThreshold
	}
	if o.NameHits <= 0 {
		o.NameHits = nameLimit
	}
	return &Index{src: src, seed: maphash.MakeSeed(), fps: newHashSlots(hint, bulk),
		slots: newSlots(hint, bulk), names: name.NewIndex(nameOptions()), bySlot: []uint32{0},
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
	case s.Kind == store.SubjectVessel && s.Vessel != nil && s.Vessel.Name != "":
		// A declaration names a ship by name as often as by IMO number: its
		// names are screened like a company's.
		v := s.Vessel
		return name.Entry{ID: id, Kind: name.KindCompany, Names: append([]string{v.Name}, v.Aliases...)}, true
	}
	return name.Entry{}, false
}

// Len returns the number of alerts indexed: with a term index, the number
// the replica holds.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.byTerm != nil {
		if n, err := ix.byTerm.AlertCount(); err == nil {
			return n
		}
	}
	return ix.slots.live
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

// Named returns the number of alerts indexed by name (persons and
// companies, and the vessels and aircraft the index names).
func (ix *Index) Named() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.names.Len()
}

// ReplaceWith makes ix hold what fresh holds, in one step: a snapshot's
// alert set is indexed beside the old one while checks go on, then swapped
// in. fresh must not be used afterwards.
func (ix *Index) ReplaceWith(fresh *Index) {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	fresh.mu.Lock()
	defer fresh.mu.Unlock()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.src, ix.mem, ix.seed, ix.fps, ix.byTerm, ix.termFPs = fresh.src, fresh.mem, fresh.seed, fresh.fps, fresh.byTerm, fresh.termFPs
	ix.slots, ix.names, ix.bySlot, ix.track = fresh.slots, fresh.names, fresh.bySlot, fresh.track
}

// fingerprint is the keyed 64-bit hash under which a term is indexed.
func (ix *Index) fingerprint(t string) uint64 { return maphash.String(ix.seed, t) }

// Put adds or replaces an alert. An index with a replica expects the
// alert to be in the replica already (a committed change); one that
// follows central's changes takes them through Apply, which knows which
// state of the replica they lead to.
func (ix *Index) Put(a store.Alert) {
	p := ix.Prepare(a)
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	ix.putPrepared(&p, true)
}

// Prepared is an alert made ready to Put by Prepare: its terms listed and
// its names normalised and keyed (name.Prepared), the work of Put that
// needs no lock.
type Prepared struct {
	a     store.Alert
	terms []string
	name  name.Prepared
	named bool
}

// Prepare does the work of Put(a) that needs no lock. It is safe to call
// from any number of goroutines while the index is used or changed; its
// result is for PutPrepared of the same index.
func (ix *Index) Prepare(a store.Alert) Prepared {
	p := Prepared{a: a, terms: Terms(&a)}
	if ne, ok := nameEntry(&p.a, 0); ok {
		p.name, p.named = ix.names.Prepare(ne), true
	}
	return p
}

// PutPrepared puts the alerts ps were prepared from, in that order, as
// Put does one by one, under one lock: a bulk load prepares alerts on
// every core while one goroutine puts them.
func (ix *Index) PutPrepared(ps []Prepared) {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	for i := range ps {
		ix.putPrepared(&ps[i], true)
	}
}

// put is Put with writeMu held; untracked marks the index's state as not
// known to be any of the replica's (see Persist).
func (ix *Index) put(a store.Alert, untracked bool) {
	p := ix.Prepare(a)
	ix.putPrepared(&p, untracked)
}

// putPrepared is put of a prepared alert.
func (ix *Index) putPrepared(p *Prepared, untracked bool) {
	a, terms := &p.a, p.terms
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.track.untracked = ix.track.untracked || untracked
	if ix.mem != nil {
		ix.mem.put(*a)
	}
	if ix.byTerm != nil && !hasName(a) {
		// Keyed hashes only, no transaction: cheap under the lock.
		if fps, err := ix.byTerm.TermFingerprints(terms); err == nil {
			if ix.slots.byID.bulk {
				// Load gives only alerts with names: nothing to replace.
			} else if slot, ok := ix.slots.find(a.ID); ok { // it had names before
				ix.remove(slot)
			}
			for _, fp := range fps {
				ix.termFPs.add(fp)
			}
			return
		}
		// The replica cannot say where it files the terms: the alert takes
		// a slot, as without a term index, so that it is still found, and
		// the index no longer is what its files would say.
		ix.track.untracked = true
	}
	slot, ok := uint32(0), false
	if !ix.slots.byID.bulk {
		slot, ok = ix.slots.find(a.ID)
	}
	if ok {
		// The replaced version's fingerprints stay until the next rebuild;
		// confirmation refuses those the new version no longer carries.
		ix.dropName(slot)
	} else {
		slot = ix.slots.add(a.ID)
	}
	ix.slots.expires[slot] = noExpiry
	if !a.Expires.IsZero() {
		ix.slots.expires[slot] = a.Expires.UnixNano()
	}
	for _, t := range terms {
		ix.fps.add(ix.fingerprint(t), slot)
	}
	if ix.byTerm != nil && !ix.slots.byID.bulk && len(terms) > 0 {
		// A delta's company or vessel: its identifiers go to the term
		// table's set too, which Persist writes (the slots' fingerprints
		// are not persisted).
		if fps, err := ix.byTerm.TermFingerprints(terms); err == nil {
			for _, fp := range fps {
				ix.termFPs.add(fp)
			}
		} else {
			ix.track.untracked = true
		}
	}
	e := uint32(len(ix.bySlot))
	if p.named {
		ix.bySlot = append(ix.bySlot, slot)
		ix.slots.nameOf[slot] = e
		ix.names.AddPrepared(p.name.WithID(e))
	}
}

// seal ends a bulk build (Load): the tables are sorted for lookups.
func (ix *Index) seal() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.fps.seal()
	ix.slots.byID.seal()
}

// dropName takes a slot's name, if any, out of the name index.
func (ix *Index) dropName(slot uint32) {
	if e := ix.slots.nameOf[slot]; e != 0 {
		ix.names.Remove(e)
		ix.bySlot[e] = 0
		ix.slots.nameOf[slot] = 0
	}
}

// Delete removes an alert if it is indexed.
func (ix *Index) Delete(id string) {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	ix.delete(id, true)
}

// delete is Delete with writeMu held.
func (ix *Index) delete(id string, untracked bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.track.untracked = ix.track.untracked || untracked
	if slot, ok := ix.slots.find(id); ok {
		ix.remove(slot)
	}
}

// remove forgets a slot's alert. Its fingerprints stay until the next
// rebuild, pointing at an empty slot.
func (ix *Index) remove(slot uint32) {
	id := ix.slots.id(slot)
	ix.dropName(slot)
	ix.slots.remove(slot)
	if ix.mem != nil {
		ix.mem.delete(id)
	}
}

// Expire removes from the index every alert with a slot expired at now,
// as the replica's housekeeping purges them from disk
// (store.Replica.Maintain): their names leave memory then, not at the
// next restart (identifiers in the replica's term index leave it with the
// purge). It returns how many it removed. The agent calls it as often as
// it purges the replica.
func (ix *Index) Expire(now time.Time) int {
	t := now.UnixNano()
	var due []uint32
	ix.mu.RLock()
	for slot, exp := range ix.slots.expires {
		if exp != removed && exp <= t {
			due = append(due, uint32(slot))
		}
	}
	ix.mu.RUnlock()
	if len(due) == 0 {
		return 0
	}
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n := 0
	for _, slot := range due {
		if exp := ix.slots.expires[slot]; exp != removed && exp <= t { // not re-issued meanwhile
			ix.remove(slot)
			n++
		}
	}
	return n
}

// Apply follows a committed change from central, and records the cursor
// it leaves the replica at (see Persist).
func (ix *Index) Apply(ch store.Change) {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	for _, a := range ch.Upserts {
		ix.put(a, false)
	}
	for _, id := range ch.Deletes {
		ix.delete(id, false)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.track.applied, ix.track.epoch, ix.track.seq, ix.track.hash = true, ch.Epoch, ch.Seq, ch.Hash
	ix.track.dirty, ix.track.last = true, time.Now()
}

// Candidate is an alert matched by one item, with how it matched.
type Candidate struct {
	Alert       store.Alert
	Match       string // exact, normalised, fuzzy, derived
	Score       float64
	Explanation string
	// Name explains a name match token by token; nil for identifiers.
	Name *name.Explanation
	// Namesakes are the IDs of live alerts whose names also match the
	// item's at or above the threshold, past the hits the bound left
	// unread (hitTies), best first: those scoring exactly as the last hit
	// (a name many alerts hold), then those scoring less (a name each of
	// them holds with one more word). Only the last candidate of a name
	// carries them, at most namesakeRefs times the limit in all; the
	// officer is told of them and central receives them with the hit.
	Namesakes []string
}

// nameLimit is the default bound on the hits one name produces: officers
// act on the best few, and a common name must not flood the screen.
const nameLimit = 5

// nameOptions are the name index's: it returns the namesakes LookupName
// reads and those it gives by reference.
func nameOptions() name.Options { return name.Options{Ties: namesakeRefs} }

// hitTies bounds, in multiples of the limit, the hits one name produces
// when alerts tie with the last one kept: each is an alert read and
// decrypted in the check's path (at 100 million alerts a B+tree descent
// in a file the page cache does not hold whole) and a hit recorded and
// sent. The namesakes past them come by reference: reading 20 rather
// than 10 put the one-name p99 at 100M at 288-340 µs instead of 245-260,
// for the same alerts found.
const hitTies = 2

// namesakeRefs bounds, in multiples of the limit, the alerts one name
// produces, read or by reference (Candidate.Namesakes): a name a hundred
// alerts hold is not cut silently at ten, and an alert ID costs
// nothing to find (the slot table holds it), only to read.
const namesakeRefs = 20

// Lookup returns the alerts that an item matches at time now, leaving
// out expired alerts: identifiers here, names through LookupName at the
// index's threshold. A plate a device corrected is looked up both as
// corrected and as read, since a correction can turn a personalised plate
// into an ordinary one. It fails with ErrUnreadable when the alert behind
// a match cannot be read: the caller must not take that for "no hit".
func (ix *Index) Lookup(it devices.Item, now time.Time) ([]Candidate, error) {
	if it.Kind == devices.KindPerson || it.Kind == devices.KindCompany {
		return ix.LookupName(it, now, ix.threshold, ix.nameHits)
	}
	out, err := ix.lookup(it, now)
	if err != nil {
		return nil, err
	}
	if it.Kind == devices.KindPlate && it.Correction != "" {
		if _, p, err := ident.NormalizePlate(it.Country, it.Raw); err == nil && p != it.Value {
			asRead := it
			asRead.Value, asRead.Correction = p, ""
			more, err := ix.lookup(asRead, now)
			if err != nil {
				return nil, err
			}
		next:
			for _, c := range more {
				for _, o := range out {
					if o.Alert.ID == c.Alert.ID {
						continue next
					}
				}
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// read returns the alerts src holds under ids, at the same positions; a
// zero Alert stands for one gone or expired at now.
func read(src AlertSource, ids []string, now time.Time) ([]store.Alert, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	as, err := src.AlertsByID(ids)
	if err != nil {
		return nil, fmt.Errorf("%w: %d alerts: %w", ErrUnreadable, len(ids), err)
	}
	if len(as) != len(ids) {
		return nil, fmt.Errorf("%w: asked for %d alerts, got %d", ErrUnreadable, len(ids), len(as))
	}
	for i := range as {
		if as[i].ID != ids[i] || as[i].Expired(now) {
			as[i] = store.Alert{}
		}
	}
	return as, nil
}

// appendItemTerm appends to dst the term an identifier is looked up by:
// term(kind, value), a plate's value preceded by its country.
func appendItemTerm(dst []byte, it devices.Item) []byte {
	dst = append(append(dst, it.Kind...), 0)
	if it.Kind == devices.KindPlate {
		dst = append(append(dst, it.Country...), ' ')
	}
	return append(dst, it.Value...)
}

// termBuf is a buffer for the term of one lookup: a miss, the common
// case, then allocates nothing.
type termBuf struct{ b []byte }

func (ix *Index) lookup(it devices.Item, now time.Time) ([]Candidate, error) {
	buf, _ := ix.termBufs.Get().(*termBuf)
	if buf == nil {
		buf = &termBuf{}
	}
	defer ix.termBufs.Put(buf)
	buf.b = appendItemTerm(buf.b[:0], it)
	t := buf.b
	var ids []string
	t0 := now.UnixNano()
	ix.mu.RLock()
	src, byTerm := ix.src, ix.byTerm
	ix.fps.each(maphash.Bytes(ix.seed, t), func(slot uint32) bool {
		if ix.slots.liveAt(slot, t0) && !slices.Contains(ids, ix.slots.id(slot)) {
			ids = append(ids, ix.slots.id(slot))
		}
		return true
	})
	var key store.TermKey
	inTermIndex, byRecord := false, false
	var recs []uint64 // allocated only for a held identifier
	if byTerm != nil {
		// A keyed hash only, no transaction: cheap under the lock. It is
		// computed once, for the fingerprint and for the read below.
		var err error
		if key, err = byTerm.TermKey(t); err != nil {
			ix.mu.RUnlock()
			return nil, fmt.Errorf("%w: %w", ErrUnreadable, err)
		}
		recs, inTermIndex, byRecord = ix.termFPs.records(recs, key.Fingerprint())
	}
	keyGen, alertGen := ix.termFPs.table.Gens()
	ix.mu.RUnlock()
	if len(ids) == 0 && !inTermIndex {
		return nil, nil
	}
	as, err := read(src, ids, now)
	if err != nil {
		return nil, err
	}
	if inTermIndex {
		if as, err = readByTerm(byTerm, t, key, byRecord, recs, keyGen, alertGen, now, as); err != nil {
			return nil, err
		}
	}
	var out []Candidate
	for _, a := range as {
		// A fingerprint is a hint: the alert read must carry the term
		// (another term may share the fingerprint, or the alert may have
		// changed since it was indexed).
		if a.ID == "" || !carries(&a, t) {
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
	return out, nil
}

// carries reports whether t is one of a's terms.
func carries(a *store.Alert, t []byte) bool {
	for _, at := range Terms(a) {
		if at == string(t) {
			return true
		}
	}
	return false
}

// readByTerm adds to as the alerts the replica's term index files under
// t (whose key is key), not those already in as: read by their record
// prefixes when byRecord (the term table's, recs, computed under keyGen
// in alertGen), by term otherwise or when the replica has moved to
// another key or alert generation since.
func readByTerm(byTerm termIndex, t []byte, key store.TermKey, byRecord bool, recs []uint64, keyGen uint32, alertGen uint64, now time.Time, as []store.Alert) ([]store.Alert, error) {
	n := len(as)
	var all []store.Alert
	var err error
	read := false
	if byRecord && key.Gen() == keyGen {
		all, read, err = byTerm.AppendAlertsByRecord(as, recs, keyGen, alertGen)
	}
	if err == nil && !read {
		all, err = byTerm.AppendAlertsByTerm(as, t, key)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	as = all[:n]
	for _, a := range all[n:] {
		if !a.Expired(now) && !slices.ContainsFunc(as, func(o store.Alert) bool { return o.ID == a.ID }) {
			as = append(as, a)
		}
	}
	return as, nil
}

// nameMatch is a name match whose alert is still to be read.
type nameMatch struct {
	id string
	m  name.Match
}

// LookupName returns up to limit alerts whose names match a person or
// company item with a score of at least threshold, best first, plus those
// tying with the last; the other matches the name search scored ride on
// the last by reference (Candidate.Namesakes). An expired alert never
// matches, and does not take the place of one that does: the limit
// applies after expired alerts are left out. It fails with ErrUnreadable
// as Lookup does.
func (ix *Index) LookupName(it devices.Item, now time.Time, threshold float64, limit int) ([]Candidate, error) {
	kind := name.KindPerson
	if it.Kind == devices.KindCompany {
		kind = name.KindCompany
	}
	q := name.Query{Kind: kind, Name: it.Value, BirthDate: it.BirthDate, Nationality: it.Nationality, Sex: it.Sex}
	var found, namesakes []nameMatch
	t := now.UnixNano()
	ix.mu.RLock()
	src := ix.src
	for ask, explained := limit, hitTies*limit; ; {
		ms := ix.names.SearchNamesakes(q, threshold, ask, explained)
		found = found[:0]
		dropped, last := 0, -1 // last: the index in ms of the last hit kept
		for i, m := range ms {
			var slot uint32
			if int(m.ID) < len(ix.bySlot) {
				slot = ix.bySlot[m.ID]
			}
			if slot == 0 || !ix.slots.liveAt(slot, t) {
				dropped++
				continue
			}
			found = append(found, nameMatch{ix.slots.id(slot), m})
			if len(found) <= hitTies*limit {
				last = i
			}
		}
		if last >= explained {
			// Expired alerts pushed a hit to be read past the matches
			// explained: search again explaining as far as it.
			explained = last + 1
			continue
		}
		// Expired alerts the purge has not reached yet took places: ask
		// for as many more, unless the search already gave all it had.
		if dropped == 0 || len(ms) < ask || len(found) >= limit {
			found, namesakes = cutTies(found, limit)
			break
		}
		ask += dropped
	}
	ix.mu.RUnlock()
	ids := make([]string, len(found))
	for i, f := range found {
		ids[i] = f.id
	}
	as, err := read(src, ids, now)
	if err != nil {
		return nil, err
	}
	var out []Candidate
	for i, f := range found {
		a := as[i]
		if a.ID == "" {
			continue
		}
		x := f.m.Explanation
		match := "fuzzy"
		if f.m.Score >= 0.99 {
			match = "exact"
		}
		out = append(out, Candidate{Alert: a, Match: match, Score: f.m.Score, Explanation: x.String(), Name: &x})
	}
	if len(namesakes) > 0 && len(out) > 0 {
		last := &out[len(out)-1]
		last.Namesakes = make([]string, len(namesakes))
		for i, n := range namesakes {
			last.Namesakes[i] = n.id
		}
	}
	return out, nil
}

// cutTies keeps the first limit matches (best first) and those tying with
// the last kept, up to hitTies times limit; it returns the matches beyond
// those, tying or scoring less (all at or above the threshold), up to
// namesakeRefs times limit in all, as namesakes.
func cutTies(ms []nameMatch, limit int) (kept, namesakes []nameMatch) {
	if len(ms) <= limit {
		return ms, nil
	}
	n := limit
	tie := ms[limit-1].m.Score
	for n < len(ms) && n < hitTies*limit && ms[n].m.Score == tie {
		n++
	}
	return ms[:n], ms[n:min(len(ms), namesakeRefs*limit)]
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
