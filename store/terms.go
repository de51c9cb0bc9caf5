package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// TermFunc returns the lookup terms of an alert: its identifiers, each
// normalised and marked with its kind, as the agent's match index looks
// them up (match.Terms). The store cannot derive them itself, since it
// imports no normalisation (README.md, "Imports flow one way"); the agent
// passes it in Options.Terms.
type TermFunc func(*Alert) []string

// The term index of a generation is the bucket "terms":
// HMAC(index key, "term" ∥ term) → the record keys (32 bytes each) of the
// alerts carrying the term. Keys and values are HMACs: the file reveals
// no identifier. It is written in the same transactions as the alerts,
// and trusted only while it carries the version of the term function that
// built it (termsVersionKey, shorter than any record key).
var (
	bucketTerms     = []byte("terms")
	termsVersionKey = []byte("version")
	termsCountKey   = []byte("count") // alerts in the generation, kept with the index
)

// sortTerm marks a snapshot's term entries in the bulk loader:
//
//	0x02 term key(32) record key(32)
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
	for _, tk := range g.termKeys(a) {
		v := g.terms.Get(tk)
		if recordIndex(v, k) >= 0 {
			continue
		}
		nv := make([]byte, 0, len(v)+len(k))
		if err := g.terms.Put(tk, append(append(nv, v...), k...)); err != nil {
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
		v := g.terms.Get(tk)
		i := recordIndex(v, k)
		if i < 0 {
			continue
		}
		if len(v) == len(k) {
			if err := g.terms.Delete(tk); err != nil {
				return err
			}
			continue
		}
		nv := make([]byte, 0, len(v)-len(k))
		if err := g.terms.Put(tk, append(append(nv, v[:i]...), v[i+len(k):]...)); err != nil {
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

// recordIndex returns the offset of record key k in a term's list, or -1.
func recordIndex(list, k []byte) int {
	for i := 0; i+len(k) <= len(list); i += len(k) {
		if bytes.Equal(list[i:i+len(k)], k) {
			return i
		}
	}
	return -1
}

// ensureTerms runs at Open. With a term function, the term index of the
// active generation (and of a rotation's new one) is rebuilt unless it
// carries this function's version; without one, the indexes lose their
// version, since this process's writes will not keep them.
func (r *Replica) ensureTerms(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	type target struct {
		num  uint64
		ring *keyring
	}
	ks := r.keys()
	targets := []target{{binary.BigEndian.Uint64(meta.Get(metaAlertGen)), ks[binary.BigEndian.Uint32(meta.Get(metaKeyGen))]}}
	if rot, err := readRotation(tx); err != nil {
		return err
	} else if rot != nil && ks[rot.To] != nil {
		targets = append(targets, target{rot.Dst, ks[rot.To]})
	}
	for _, t := range targets {
		parent := tx.Bucket(genName(t.num))
		if parent == nil || t.ring == nil {
			continue
		}
		tb := parent.Bucket(bucketTerms)
		if r.terms == nil {
			if tb != nil && tb.Get(termsVersionKey) != nil {
				if err := tb.Delete(termsVersionKey); err != nil {
					return err
				}
			}
			continue
		}
		if tb != nil && bytes.Equal(tb.Get(termsVersionKey), r.termsVersion) {
			continue
		}
		if err := r.rebuildTerms(tx, parent, t.num, ks, t.ring); err != nil {
			return fmt.Errorf("rebuild the term index of alert generation %d: %w", t.num, err)
		}
	}
	return nil
}

// rebuildTerms replaces a generation's term index with one built from its
// alerts, and marks it with the term function's version.
func (r *Replica) rebuildTerms(tx *bolt.Tx, parent *bolt.Bucket, num uint64, ks keyset, ring *keyring) error {
	if parent.Bucket(bucketTerms) != nil {
		if err := parent.DeleteBucket(bucketTerms); err != nil {
			return err
		}
	}
	if _, err := parent.CreateBucket(bucketTerms); err != nil {
		return err
	}
	g, err := openGeneration(tx, num)
	if err != nil {
		return err
	}
	r.indexTerms(g, ring)
	n := 0
	c := g.alerts.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		a, err := decodeAlert(ks, k, v)
		if err != nil {
			return err
		}
		if err := g.addTerms(k, &a); err != nil {
			return err
		}
		n++
	}
	r.log.Info("term index rebuilt", "generation", num, "alerts", n)
	return r.markTerms(g)
}

// markTerms gives a generation's term index the term function's version,
// once it is complete.
func (r *Replica) markTerms(g *generation) error {
	if r.terms == nil || g.terms == nil {
		return nil
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
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) != 32 {
				continue // the version, the count
			}
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
			list := st.gen.terms.Get(st.ring.recordKey("term", term))
			for i := 0; i+32 <= len(list); i += 32 {
				a, found, err := st.gen.get(st.ks, list[i:i+32])
				if err != nil {
					return err
				}
				if found && !a.Expired(now) {
					if err := fn(a); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

// AlertsByTerm returns the alerts the term index files under term and
// not expired at the replica's clock, in one read transaction. The caller
// still checks that each carries the identifier it looks up.
func (r *Replica) AlertsByTerm(term string) ([]Alert, error) {
	var out []Alert
	now := r.now()
	err := r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		if st.gen.terms == nil {
			return nil
		}
		list := st.gen.terms.Get(st.ring.recordKey("term", term))
		for i := 0; i+32 <= len(list); i += 32 {
			a, found, err := st.gen.get(st.ks, list[i:i+32])
			if err != nil {
				return err
			}
			if found && !a.Expired(now) {
				out = append(out, a)
			}
		}
		return nil
	})
	return out, err
}
