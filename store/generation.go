package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A generation is one complete alert set: a top-level bucket named by a
// number ("gen.7"), never by content, holding the sealed alerts, the
// expiry index and the tombstones of expired alerts. Exactly one
// generation is active; a snapshot or a key rotation builds another one
// beside it and switches the meta pointer in one transaction, so a kill
// leaves either the old or the new set, never a mix.
type generation struct {
	num    uint64
	alerts *bolt.Bucket // HMAC(id) -> sealed Alert JSON
	expiry *bolt.Bucket // expires (unix seconds, 8 bytes) || HMAC(id) -> empty
	tombs  *bolt.Bucket // HMAC(id) -> sealed tombstone of an expired alert
	terms  *bolt.Bucket // HMAC(term) -> HMAC(id)...; nil in a generation older than it (terms.go)
	// termsOf and termRing are set when writes keep the term index.
	termsOf  TermFunc
	termRing *keyring
	revised  bool // the term index's revision was renewed in this transaction (touchTerms)
}

const genPrefix = "gen."

func genName(num uint64) []byte { return strconv.AppendUint([]byte(genPrefix), num, 10) }

// parseGenName returns the number of a generation bucket name.
func parseGenName(name []byte) (uint64, bool) {
	if !bytes.HasPrefix(name, []byte(genPrefix)) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(name[len(genPrefix):]), 10, 64)
	return n, err == nil
}

func openGeneration(tx *bolt.Tx, num uint64) (*generation, error) {
	b, err := genBucket(tx, num)
	if err != nil {
		return nil, err
	}
	g := &generation{num: num, alerts: b.Bucket(bucketAlerts), expiry: b.Bucket(bucketExpiry), tombs: b.Bucket(bucketTombs),
		terms: b.Bucket(bucketTerms)}
	if g.alerts == nil || g.expiry == nil || g.tombs == nil {
		return nil, fmt.Errorf("%w: alert generation %d is incomplete", ErrCorrupt, num)
	}
	return g, nil
}

// genBucket returns the bucket of alert generation num, naming it on the
// stack: a held identifier's lookup opens it on every check
// (AppendAlertsByRecord).
func genBucket(tx *bolt.Tx, num uint64) (*bolt.Bucket, error) {
	var name [len(genPrefix) + 20]byte
	b := tx.Bucket(strconv.AppendUint(append(name[:0], genPrefix...), num, 10))
	if b == nil {
		return nil, fmt.Errorf("%w: alert generation %d is missing", ErrCorrupt, num)
	}
	return b, nil
}

// createGeneration makes a new, empty generation under the next unused
// number. Numbers are never reused, so a stale reference cannot name a
// newer set.
func createGeneration(tx *bolt.Tx) (*generation, error) {
	meta := tx.Bucket(bucketMeta)
	num := uint64(1)
	if b := meta.Get(metaGenNext); b != nil {
		num = binary.BigEndian.Uint64(b)
	}
	if err := meta.Put(metaGenNext, u64(num+1)); err != nil {
		return nil, err
	}
	if tx.Bucket(genName(num)) != nil {
		// Numbers only grow: the counter was damaged.
		return nil, fmt.Errorf("%w: the next alert generation, %d, exists already", ErrCorrupt, num)
	}
	b, err := tx.CreateBucket(genName(num))
	if err != nil {
		return nil, fmt.Errorf("create alert generation %d: %w", num, err)
	}
	// Keys are HMACs, so inserts are random: the default fill suits them.
	for _, name := range [][]byte{bucketAlerts, bucketExpiry, bucketTombs, bucketTerms} {
		if _, err := b.CreateBucket(name); err != nil {
			return nil, err
		}
	}
	return openGeneration(tx, num)
}

func dropGeneration(tx *bolt.Tx, num uint64) error {
	if tx.Bucket(genName(num)) == nil {
		return nil
	}
	return tx.DeleteBucket(genName(num))
}

// tombstone is what remains of an alert purged on expiry until central
// deletes or re-issues it: its ID and version keep the replica's digest
// equal to central's (see README.md, "Expiry and the digest").
type tombstone struct {
	ID      string    `json:"id"`
	Version uint64    `json:"version"`
	Expires time.Time `json:"expires"`
}

func expiryKey(t time.Time, k []byte) []byte {
	s := t.Unix()
	if s < 0 {
		s = 0
	}
	return append(u64(uint64(s)), k...)
}

// get returns the alert stored under k, if any.
func (g *generation) get(ks keyset, k []byte) (Alert, bool, error) {
	v := g.alerts.Get(k)
	if v == nil {
		return Alert{}, false, nil
	}
	a, err := decodeAlert(ks, k, v)
	return a, err == nil, err
}

func (g *generation) getTomb(ks keyset, k []byte) (tombstone, bool, error) {
	v := g.tombs.Get(k)
	if v == nil {
		return tombstone{}, false, nil
	}
	t, err := decodeTomb(ks, k, v)
	return t, err == nil, err
}

// put stores a under ring, replacing whatever the generation held for its
// ID, and keeps d the digest of the generation's (ID, version) pairs. An
// alert already expired at now is kept as a tombstone only.
func (g *generation) put(ks keyset, ring *keyring, a *Alert, d *Digest, now time.Time) error {
	k := ring.recordKey("alert", a.ID)
	if err := g.remove(ks, k, d); err != nil {
		return err
	}
	d.Add(a.ID, a.Version)
	if a.Expired(now) {
		return g.putTomb(ring, k, tombstone{ID: a.ID, Version: a.Version, Expires: a.Expires})
	}
	return g.putAlert(ring, k, a)
}

// putAlert writes the sealed alert and its expiry entry; the digest is the
// caller's business.
func (g *generation) putAlert(ring *keyring, k []byte, a *Alert) error {
	v, err := ring.seal(bucketAlerts, k, encodeAlert(nil, a))
	if err != nil {
		return err
	}
	if err := g.alerts.Put(k, v); err != nil {
		return err
	}
	if err := g.addTerms(k, a); err != nil {
		return err
	}
	if !a.Expires.IsZero() {
		return g.expiry.Put(expiryKey(a.Expires, k), nil)
	}
	return nil
}

func (g *generation) putTomb(ring *keyring, k []byte, t tombstone) error {
	v, err := sealTomb(ring, k, t)
	if err != nil {
		return err
	}
	return g.tombs.Put(k, v)
}

func sealTomb(ring *keyring, k []byte, t tombstone) ([]byte, error) {
	plain, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	return ring.seal(bucketTombs, k, plain)
}

// remove deletes the alert or tombstone stored under k, taking it out of
// d. Removing what is not held is a no-op, as central intends.
func (g *generation) remove(ks keyset, k []byte, d *Digest) error {
	if a, ok, err := g.get(ks, k); err != nil {
		return err
	} else if ok {
		d.Remove(a.ID, a.Version)
		if !a.Expires.IsZero() {
			if err := g.expiry.Delete(expiryKey(a.Expires, k)); err != nil {
				return err
			}
		}
		if err := g.alerts.Delete(k); err != nil {
			return err
		}
		if err := g.dropTerms(k, &a); err != nil {
			return err
		}
	}
	if t, ok, err := g.getTomb(ks, k); err != nil {
		return err
	} else if ok {
		d.Remove(t.ID, t.Version)
		return g.tombs.Delete(k)
	}
	return nil
}

func decodeAlert(ks keyset, k, v []byte) (Alert, error) {
	plain, err := ks.open(bucketAlerts, k, v)
	if err != nil {
		return Alert{}, err
	}
	return decodeAlertValue(plain)
}

func decodeTomb(ks keyset, k, v []byte) (tombstone, error) {
	var t tombstone
	plain, err := ks.open(bucketTombs, k, v)
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(plain, &t); err != nil {
		return t, fmt.Errorf("%w: tombstone: %w", ErrCorrupt, err)
	}
	return t, nil
}
