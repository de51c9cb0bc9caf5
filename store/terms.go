package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TermFunc returns the lookup terms of an alert: its identifiers, each
// normalised and marked with its kind, as the agent's match index looks
// them up (match.Terms). The store cannot derive them itself, since it
// imports no normalisation (README.md, "Imports flow one way"); the agent
// passes it in Options.Terms.
type TermFunc func(*Alert) []string

// The term index of a generation is the bucket "terms", one entry per
// (term, alert) with an empty value:
//
//	HMAC(index key, "term" ∥ term)[:8] ∥ record key[:8] → ""
//
// Keys are HMACs: the file reveals no identifier. A lookup seeks the
// term's 8 bytes and reads the alerts whose record keys begin with the 8
// that follow; the hit is made only when the alert read carries the
// term, so a prefix that two terms or two alerts share finds an extra
// candidate, never a wrong hit. Among 100 million terms two share 8
// bytes with a chance of about 3 in 10,000, and then one lookup reads
// one alert more. Keys of 16 bytes are what the walkers of the index
// (EachTermFingerprint, the term table) take as entries: a term held by
// several alerts comes once per alert there, adjacent. (Two alerts of
// one term sharing 8 bytes of keyed hash, about 2^-64 a pair, would
// share an entry: removing one would unfile the other, which a rebuild
// files again.) Layout 2 kept 16 and 16 bytes: 48 bytes an entry on the
// page rather than 32, a third of the index, 1.8 GB of a 100-million
// replica that the page cache then did not hold. The first layout kept
// HMAC(term) → the full record keys back to back, a list rewritten by
// every change to it. The index is written in the same transactions as
// the alerts, and trusted only while it carries the version of the term
// function that built it, prefixed with its layout (termsVersionKey,
// shorter than any entry); one of another layout or version is rebuilt
// at Open.
var (
	bucketTerms     = []byte("terms")
	termsVersionKey = []byte("version")
	termsCountKey   = []byte("count") // alerts in the generation, kept with the index
)

// termLayout is the layout tag of the stored term index version.
const termLayout = "layout3/"

// termsVersionOf is the version stored with an index of this layout built
// by the term function of version v.
func termsVersionOf(v string) []byte { return []byte(termLayout + v) }

// termPrefix and recordPrefix are the parts of a term index entry.
const (
	termPrefix   = 8
	recordPrefix = 8
	termEntryLen = termPrefix + recordPrefix
)

// termEntry returns the index key filing the alert stored under k under
// the term whose key is tk.
func termEntry(tk, k []byte) []byte {
	e := make([]byte, 0, termEntryLen)
	return append(append(e, tk[:termPrefix]...), k[:recordPrefix]...)
}

// sortTerm marks a snapshot's term entries in the bulk loader:
//
//	0x02 term entry(16)
const sortTerm = 0x02

// indexTerms makes writes to g keep its term index, under ring's keys,
// when the replica has a term function and g a term bucket.
func (r *Replica) indexTerms(g *generation, ring *keyring) {
	if r.terms != nil && g.terms != nil {
		g.termsOf, g.termRing = r.terms, ring
	}
}

// termKeys returns the distinct term keys of a under g's ring.
func (g *generation) termKeys(a *Alert) [][]byte {
	var out [][]byte
	for _, t := range g.termsOf(a) {
		k := g.termRing.recordKey("term", t)
		if !slices.ContainsFunc(out, func(o []byte) bool { return bytes.Equal(o, k) }) {
			out = append(out, k)
		}
	}
	return out
}

// addTerms files the alert stored under k under each of its terms, and
// counts it: every write that adds an alert to a generation calls it once.
func (g *generation) addTerms(k []byte, a *Alert) error {
	if g.termsOf == nil {
		return nil
	}
	if err := g.countAlerts(1); err != nil {
		return err
	}
	if err := g.touchTerms(); err != nil {
		return err
	}
	for _, tk := range g.termKeys(a) {
		if err := g.terms.Put(termEntry(tk, k), []byte{}); err != nil {
			return err
		}
	}
	return nil
}

// dropTerms takes the alert stored under k out of its terms' lists, and
// out of the count: every write that removes an alert calls it once.
func (g *generation) dropTerms(k []byte, a *Alert) error {
	if g.termsOf == nil {
		return nil
	}
	if err := g.countAlerts(-1); err != nil {
		return err
	}
	for _, tk := range g.termKeys(a) {
		if err := g.terms.Delete(termEntry(tk, k)); err != nil {
			return err
		}
	}
	return nil
}

// countAlerts adds d to the generation's alert count.
func (g *generation) countAlerts(d int64) error {
	var n int64
	if v := g.terms.Get(termsCountKey); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	return g.terms.Put(termsCountKey, u64(uint64(max(n+d, 0))))
}

// termTarget is a generation whose term index Open must rebuild.
type termTarget struct {
	num  uint64
	ring *keyring
}

// ensureTerms runs at Open, in its first transaction. With a term
// function, the term index of the active generation (and of a rotation's
// new one) that does not carry this function's version is emptied and
// left for rebuildTerms; without one, the indexes lose their version,
// since this process's writes will not keep them.
func (r *Replica) ensureTerms(tx *bolt.Tx) ([]termTarget, error) {
	meta := tx.Bucket(bucketMeta)
	ks := r.keys()
	targets := []termTarget{{binary.BigEndian.Uint64(meta.Get(metaAlertGen)), ks[binary.BigEndian.Uint32(meta.Get(metaKeyGen))]}}
	if rot, err := readRotation(tx); err != nil {
		return nil, err
	} else if rot != nil && ks[rot.To] != nil {
		targets = append(targets, termTarget{rot.Dst, ks[rot.To]})
	}
	var rebuild []termTarget
	for _, t := range targets {
		parent := tx.Bucket(genName(t.num))
		if parent == nil || t.ring == nil {
			continue
		}
		tb := parent.Bucket(bucketTerms)
		if r.terms == nil {
			if tb != nil && tb.Get(termsVersionKey) != nil {
				if err := tb.Delete(termsVersionKey); err != nil {
					return nil, err
				}
			}
			continue
		}
		if tb != nil && bytes.Equal(tb.Get(termsVersionKey), r.termsVersion) {
			continue
		}
		if tb != nil {
			if err := parent.DeleteBucket(bucketTerms); err != nil {
				return nil, err
			}
		}
		tb, err := parent.CreateBucket(bucketTerms)
		if err != nil {
			return nil, err
		}
		if alerts := parent.Bucket(bucketAlerts); alerts != nil {
			if k, _ := alerts.Cursor().First(); k == nil { // a new file: nothing to index
				if err := tb.Put(termsCountKey, u64(0)); err != nil {
					return nil, err
				}
				if err := tb.Put(termsVersionKey, r.termsVersion); err != nil {
					return nil, err
				}
				if err := (&generation{terms: tb}).touchTerms(); err != nil {
					return nil, err
				}
				continue
			}
		}
		rebuild = append(rebuild, t)
	}
	return rebuild, nil
}

// termRunDir is where a term index rebuild spills its sorted runs.
func termRunDir(dbPath string, gen uint64) string { return fmt.Sprintf("%s.terms-%d", dbPath, gen) }

// rebuildTerms fills a generation's emptied term index from its alerts,
// as a snapshot loads: the (term, alert) entries are sorted (spilled
// beside the file when large), then written in key order in transactions
// of bulkChunk entries. Random inserts in one
// transaction would take hours at a million alerts. The version is
// written last: a kill leaves the index unversioned, rebuilt at the next
// Open. Nothing else writes the replica meanwhile (Open runs it).
func (r *Replica) rebuildTerms(ctx context.Context, t termTarget) error {
	load := bulkLoader{dir: termRunDir(r.Path(), t.num)}
	os.RemoveAll(load.dir)
	defer load.remove()
	n := 0
	start, report := time.Now(), time.Now()
	progress := func(what string, done int) {
		if time.Since(report) >= 15*time.Second {
			report = time.Now()
			r.log.Info("building the term index", "generation", t.num, what, done, "took", time.Since(start).Round(time.Second))
		}
	}
	err := r.db.View(func(tx *bolt.Tx) error {
		g, err := openGeneration(tx, t.num)
		if err != nil {
			return err
		}
		keys := generation{termsOf: r.terms, termRing: t.ring}
		ks := r.keys()
		c := g.alerts.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			a, err := decodeAlert(ks, k, v)
			if err != nil {
				return err
			}
			for _, tk := range keys.termKeys(&a) {
				if err := load.add(termEntry(tk, k), nil); err != nil {
					return err
				}
			}
			if n++; n%4096 == 0 {
				progress("alerts read", n)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	m, err := load.merge()
	if err != nil {
		return err
	}
	defer m.close()
	written := 0
	for more := true; more; {
		progress("entries written", written)
		written += bulkChunk
		err := r.bulkUpdate(func(tx *bolt.Tx) error {
			g, err := openGeneration(tx, t.num)
			if err != nil {
				return err
			}
			if g.terms == nil {
				return fmt.Errorf("%w: term index of generation %d vanished", ErrCorrupt, t.num)
			}
			// Entries arrive in key order: fill pages to bulkFill (room for deltas).
			g.terms.FillPercent = bulkFill
			for range bulkChunk {
				e, ok, err := m.next()
				if err != nil {
					return err
				}
				if !ok {
					more = false
					return nil
				}
				if len(e.key) != termEntryLen {
					return fmt.Errorf("%w: bad term entry", ErrCorrupt)
				}
				if err := g.terms.Put(e.key, []byte{}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := r.db.Sync(); err != nil {
		return err
	}
	err = r.update(func(tx *bolt.Tx) error {
		g, err := openGeneration(tx, t.num)
		if err != nil {
			return err
		}
		if err := g.terms.Put(termsCountKey, u64(uint64(n))); err != nil {
			return err
		}
		return r.markTerms(g)
	})
	if err == nil {
		r.log.Info("term index rebuilt", "generation", t.num, "alerts", n, "took", time.Since(start).Round(time.Millisecond))
	}
	return err
}

// markTerms gives a generation's term index the term function's version,
// once it is complete.
func (r *Replica) markTerms(g *generation) error {
	if r.terms == nil || g.terms == nil {
		return nil
	}
	// A term table read before the index was complete is stale.
	g.revised = false
	if err := g.touchTerms(); err != nil {
		return err
	}
	return g.terms.Put(termsVersionKey, r.termsVersion)
}

// TermsReady reports whether the active generation's term index is
// complete for this replica's term function (Options.Terms): only then do
// TermFingerprints and AlertsByTerm answer for every alert.
func (r *Replica) TermsReady() (bool, error) {
	ready := false
	err := r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		ready = r.terms != nil && st.gen.terms != nil && bytes.Equal(st.gen.terms.Get(termsVersionKey), r.termsVersion)
		return nil
	})
	return ready, err
}

// TermFingerprints returns the fingerprints under which the term index
// files terms, at the same positions: the first 8 bytes of their keyed
// hashes, as EachTermFingerprint gives them. They change with the data
// key.
func (r *Replica) TermFingerprints(terms []string) ([]uint64, error) {
	// No transaction: only the active key is needed, and it changes only
	// when a rotation finishes (r.active follows).
	ring := r.active.Load()
	if ring == nil {
		return nil, fmt.Errorf("%w: no active key", ErrWrongKey)
	}
	out := make([]uint64, len(terms))
	for i, t := range terms {
		out[i] = binary.BigEndian.Uint64(ring.recordKey("term", t))
	}
	return out, nil
}

// EachTermFingerprint calls fn with the fingerprint of every term the
// active generation's term index holds, in ascending order, inside one
// read transaction; no alert is decrypted.
func (r *Replica) EachTermFingerprint(ctx context.Context, fn func(fp uint64)) error {
	return r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		if st.gen.terms == nil {
			return nil
		}
		c := st.gen.terms.Cursor()
		var last []byte
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) != termEntryLen {
				continue // the version, the count, the revision
			}
			if last != nil && bytes.Equal(last, k[:termPrefix]) {
				continue // the same term, filing another alert
			}
			last = k[:termPrefix]
			if err := ctx.Err(); err != nil {
				return err
			}
			fn(binary.BigEndian.Uint64(k))
		}
		return nil
	})
}

// EachAlertByTerm calls fn with every alert the term index files under
// any of terms, not expired at the replica's clock, inside one read
// transaction, stopping at fn's first error. An alert filed under two of
// the terms comes twice.
func (r *Replica) EachAlertByTerm(ctx context.Context, terms []string, fn func(Alert) error) error {
	now := r.now()
	return r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		if st.gen.terms == nil {
			return nil
		}
		for _, term := range terms {
			if err := ctx.Err(); err != nil {
				return err
			}
			err := st.gen.eachFiled(st.ks, st.ring.recordKey("term", term), func(a Alert) error {
				if a.Expired(now) {
					return nil
				}
				return fn(a)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// AlertsByTerm returns the alerts the term index files under term and
// not expired at the replica's clock, in one read transaction. The caller
// still checks that each carries the identifier it looks up.
func (r *Replica) AlertsByTerm(term string) ([]Alert, error) {
	k, err := r.TermKey([]byte(term))
	if err != nil {
		return nil, err
	}
	return r.AppendAlertsByTerm(nil, []byte(term), k)
}

// eachFiled calls fn with every alert the term index files under the term
// whose key is tk, decrypted, stopping at fn's first error: the alerts
// whose record keys begin with an entry's 8 bytes, so an alert sharing
// them with one filed under the term comes too (the callers check that an
// alert carries the term). A filed alert no longer held (removed in a
// generation written without the index kept) is skipped.
func (g *generation) eachFiled(ks keyset, tk []byte, fn func(Alert) error) error {
	tc, ac := g.terms.Cursor(), g.alerts.Cursor()
	prefix := tk[:termPrefix]
	for e, _ := tc.Seek(prefix); e != nil && bytes.HasPrefix(e, prefix); e, _ = tc.Next() {
		if len(e) != termEntryLen {
			continue
		}
		rec := e[termPrefix:]
		for k, v := ac.Seek(rec); k != nil && bytes.HasPrefix(k, rec); k, v = ac.Next() {
			a, err := decodeAlert(ks, k, v)
			if err != nil {
				return err
			}
			if err := fn(a); err != nil {
				return err
			}
		}
	}
	return nil
}

// TermKey is the keyed hash under which the term index files a term, as
// one key generation computes it: a lookup computes it once (TermKey),
// for the fingerprint the match index holds and the key the term index
// is sought by (AppendAlertsByTerm).
type TermKey struct {
	sum [sha256.Size]byte
	gen uint32
}

// Fingerprint returns the key's fingerprint, as TermFingerprints and
// EachTermFingerprint give it.
func (k TermKey) Fingerprint() uint64 { return binary.BigEndian.Uint64(k.sum[:8]) }

// TermKey returns the key of term under the active data key. It
// allocates nothing: it is computed for every identifier checked,
// most of which the match index then finds it does not hold.
func (r *Replica) TermKey(term []byte) (TermKey, error) {
	ring := r.active.Load()
	if ring == nil {
		return TermKey{}, fmt.Errorf("%w: no active key", ErrWrongKey)
	}
	k := TermKey{gen: ring.gen}
	recordKeyInto(ring, &k.sum, "term", term)
	return k, nil
}

// AppendAlertsByTerm appends to dst the alerts the term index files
// under term, whose key k is (from TermKey), not expired at the
// replica's clock, in one read transaction that opens only the term
// index and the alerts. The caller still checks that each carries the
// identifier it looks up. A key computed before a rotation finished is
// computed again under the key the transaction reads with.
func (r *Replica) AppendAlertsByTerm(dst []Alert, term []byte, k TermKey) ([]Alert, error) {
	now := r.now()
	err := r.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		ks := r.keys()
		kg := binary.BigEndian.Uint32(meta.Get(metaKeyGen))
		ring := ks[kg]
		if ring == nil {
			return fmt.Errorf("%w: key generation %d is not loaded (reopen the replica)", ErrWrongKey, kg)
		}
		if kg != k.gen {
			k.gen = kg
			recordKeyInto(ring, &k.sum, "term", term)
		}
		num := binary.BigEndian.Uint64(meta.Get(metaAlertGen))
		var name [len(genPrefix) + 20]byte
		b := tx.Bucket(strconv.AppendUint(append(name[:0], genPrefix...), num, 10))
		if b == nil {
			return fmt.Errorf("%w: alert generation %d is missing", ErrCorrupt, num)
		}
		g := generation{num: num, alerts: b.Bucket(bucketAlerts), terms: b.Bucket(bucketTerms)}
		if g.alerts == nil {
			return fmt.Errorf("%w: alert generation %d is incomplete", ErrCorrupt, num)
		}
		if g.terms == nil {
			return nil
		}
		return g.eachFiled(ks, k.sum[:], func(a Alert) error {
			if !a.Expired(now) {
				dst = append(dst, a)
			}
			return nil
		})
	})
	return dst, err
}

// Gen returns the key generation the key was computed under: a term
// table's record prefixes (TermTable.Gens) are used only with keys of
// their own generation.
func (k TermKey) Gen() uint32 { return k.gen }

// AppendAlertsByRecord appends to dst the alerts whose record keys begin
// with one of recs (record prefixes from TermTable.Records, of a table
// read under key generation keyGen from alert generation alertGen:
// TermTable.Gens), not expired at the replica's clock, in one read
// transaction that opens only the alerts: one B+tree descent a prefix
// instead of two (the term index's and the alerts'), which at 100
// million alerts is a third of a held identifier's check. The caller
// still checks that each alert carries the identifier it looks up: a
// prefix is a hint, as a fingerprint is. It reports false, reading
// nothing, when the replica's key or alert generation is no longer the
// table's (a rotation finished, a snapshot was loaded): the caller then
// reads by term (AppendAlertsByTerm).
func (r *Replica) AppendAlertsByRecord(dst []Alert, recs []uint64, keyGen uint32, alertGen uint64) ([]Alert, bool, error) {
	now := r.now()
	ok := false
	err := r.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		num := binary.BigEndian.Uint64(meta.Get(metaAlertGen))
		if binary.BigEndian.Uint32(meta.Get(metaKeyGen)) != keyGen || num != alertGen {
			return nil
		}
		ks := r.keys()
		b, err := genBucket(tx, num)
		if err != nil {
			return err
		}
		alerts := b.Bucket(bucketAlerts)
		if alerts == nil {
			return fmt.Errorf("%w: alert generation %d is incomplete", ErrCorrupt, num)
		}
		ok = true
		ac := alerts.Cursor()
		var p [8]byte
		for _, rec := range recs {
			binary.BigEndian.PutUint64(p[:], rec)
			prefix := p[:termTableRecordLen]
			for k, v := ac.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = ac.Next() {
				a, err := decodeAlert(ks, k, v)
				if err != nil {
					return err
				}
				if !a.Expired(now) {
					dst = append(dst, a)
				}
			}
		}
		return nil
	})
	return dst, ok, err
}
