package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// rotation is the meta record of a key rotation in progress. The copy
// first writes alerts and tombstones in the order of their new record
// keys, so the new generation's B+tree is filled by appends (HMAC keys are
// random: copying in the old order would rewrite most of the tree in every
// transaction); then it walks the old expiry index, in time order, to
// build the new one; then, with deltas held, the new term index is built
// sorted from the copied alerts (rotationTerms), as a snapshot's is. After
// is the mark of the current phase (last new key written, then last old
// expiry key walked), so a restart continues behind it.
type rotation struct {
	From     uint32 `json:"from"` // key generations
	To       uint32 `json:"to"`
	NewCheck []byte `json:"new_check"`
	Src      uint64 `json:"src"` // alert generations
	Dst      uint64 `json:"dst"`
	Phase    int    `json:"phase"` // phaseAlerts, phaseExpiry, phaseCopied
	After    []byte `json:"after,omitempty"`
	Done     int    `json:"done"`
	Total    int    `json:"total"`
}

const (
	phaseAlerts = iota // alerts and tombstones, by new key
	phaseExpiry        // the expiry index, by old expiry key
	phaseCopied
)

func readRotation(tx *bolt.Tx) (*rotation, error) {
	b := tx.Bucket(bucketMeta).Get(metaRotation)
	if b == nil {
		return nil, nil
	}
	var rot rotation
	if err := json.Unmarshal(b, &rot); err != nil {
		return nil, fmt.Errorf("%w: rotation record: %w", ErrCorrupt, err)
	}
	return &rot, nil
}

func writeRotation(tx *bolt.Tx, rot *rotation) error {
	b, err := json.Marshal(rot)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(metaRotation, b)
}

// rotationView lets a write to the active generation keep a rotation's
// copy in step. Its zero value (no rotation) does nothing.
type rotationView struct {
	rot  *rotation
	st   *txState
	dst  *generation
	next *keyring
}

func (r *Replica) rotationState(tx *bolt.Tx, st *txState) (rotationView, error) {
	rot, err := readRotation(tx)
	if err != nil || rot == nil {
		return rotationView{}, err
	}
	dst, err := openGeneration(tx, rot.Dst)
	if err != nil {
		return rotationView{}, err
	}
	next := st.ks[rot.To]
	if next == nil {
		return rotationView{}, fmt.Errorf("%w: rotation to key generation %d in progress but its key is not loaded", ErrWrongKey, rot.To)
	}
	r.indexTerms(dst, next)
	return rotationView{rot: rot, st: st, dst: dst, next: next}, nil
}

// mirror makes the new generation agree with the active one about id,
// whether or not the copy has reached it: the copy always reads the
// active generation's current value, so writing it early is harmless. The
// digest is not touched: it describes the active generation.
func (v rotationView) mirror(id string) error {
	if v.rot == nil {
		return nil
	}
	return v.sync(v.st.ring.recordKey("alert", id), v.next.recordKey("alert", id), true)
}

// sync replaces the new generation's entry under newK with the active
// generation's entry under oldK, re-sealed: the alert or tombstone, and
// the alert's expiry entry when withExpiry is set.
func (v rotationView) sync(oldK, newK []byte, withExpiry bool) error {
	var scratch Digest
	if err := v.dst.remove(v.st.ks, newK, &scratch); err != nil {
		return err
	}
	if val := v.st.gen.alerts.Get(oldK); val != nil {
		plain, err := v.st.ks.open(bucketAlerts, oldK, val)
		if err != nil {
			return err
		}
		if len(plain) > 0 && plain[0] != codecBinary4 {
			// Written by an older agent: the copy takes the compact form.
			a, err := decodeAlertValue(plain)
			if err != nil {
				return err
			}
			plain = encodeAlert(nil, &a)
		}
		sealed, err := v.next.seal(bucketAlerts, newK, plain)
		if err != nil {
			return err
		}
		if err := v.dst.alerts.Put(newK, sealed); err != nil {
			return err
		}
		if withExpiry || v.dst.termsOf != nil {
			a, err := decodeAlertValue(plain)
			if err != nil {
				return err
			}
			if err := v.dst.addTerms(newK, &a); err != nil {
				return err
			}
			if withExpiry && !a.Expires.IsZero() {
				if err := v.dst.expiry.Put(expiryKey(a.Expires, newK), []byte{}); err != nil {
					return err
				}
			}
		}
	}
	if val := v.st.gen.tombs.Get(oldK); val != nil {
		plain, err := v.st.ks.open(bucketTombs, oldK, val)
		if err != nil {
			return err
		}
		sealed, err := v.next.seal(bucketTombs, newK, plain)
		if err != nil {
			return err
		}
		return v.dst.tombs.Put(newK, sealed)
	}
	return nil
}

// recoverRotation runs at Open: a rotation whose new key was supplied
// (Options.NextKey) is kept for Rotate to resume; otherwise it is
// forgotten, which undoes it completely, since the active generation and
// the outbox are still under the old key: its partial generation, named
// by no record, is dropped after Open returns (stray.go).
func (r *Replica) recoverRotation(tx *bolt.Tx, next []byte) error {
	rot, err := readRotation(tx)
	if err != nil || rot == nil {
		return err
	}
	if next != nil {
		k, err := newKeyring(next, r.salt, rot.To)
		if err != nil {
			return err
		}
		if hmac.Equal(k.check(), rot.NewCheck) {
			r.addRing(k)
			r.log.Warn("key rotation interrupted; it resumes when Rotate is called again", "from", rot.From, "to", rot.To, "done", rot.Done, "total", rot.Total)
			return nil
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := errors.Join(meta.Put(metaCompact, []byte{1}), meta.Delete(metaRotation)); err != nil {
		return err
	}
	r.log.Warn("key rotation interrupted and rolled back: its new key was not supplied; its partial copy is dropped in the background", "from", rot.From, "to", rot.To)
	return r.appendAudit(tx, AuditRecord{Event: EventKeyRotationRolledBack, Ref: fmt.Sprintf("%d->%d", rot.From, rot.To),
		Detail: "interrupted; new key not supplied at open"})
}

// KeyStatus describes the replica's data key.
type KeyStatus struct {
	// Generation counts the keys the replica has had: 1 when created, one
	// more after each rotation.
	Generation uint32 `json:"generation"`
	// Check identifies the active key without revealing it (the first 8
	// bytes of its check value, in hexadecimal).
	Check string `json:"check"`
	// Rotating is set while a rotation is in progress, with its target
	// generation and how many of Total entries were re-encrypted.
	Rotating   bool   `json:"rotating"`
	RotatingTo uint32 `json:"rotating_to,omitempty"`
	Done       int    `json:"done,omitempty"`
	Total      int    `json:"total,omitempty"`
}

// KeyStatus returns the key generation and any rotation in progress.
func (r *Replica) KeyStatus() (KeyStatus, error) {
	var s KeyStatus
	err := r.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		s.Generation = binary.BigEndian.Uint32(meta.Get(metaKeyGen))
		if c := meta.Get(keyCheckName(s.Generation)); len(c) >= 8 {
			s.Check = hex.EncodeToString(c[:8])
		}
		rot, err := readRotation(tx)
		if err != nil || rot == nil {
			return err
		}
		s.Rotating, s.RotatingTo, s.Done, s.Total = true, rot.To, rot.Done, rot.Total
		return nil
	})
	return s, err
}

// Rotate re-encrypts the replica under the key newKey yields: every alert
// and tombstone is copied, under new HMAC keys, into a new generation in
// transactions of chunk entries, while reads, Record and Apply go on (an
// Apply during the copy is mirrored into the new generation at once). A final
// transaction re-seals the outbox, switches the active generation and key,
// and drops the old generation. progress, if not nil, is called after each
// chunk.
//
// The rotation is recorded in the file. If the process dies, Open with
// Options.NextKey set to newKey keeps it, and calling Rotate again with the
// same key resumes it; Open without NextKey rolls it back. Either way the
// alert set is untouched. After Rotate returns, only newKey opens the
// replica: install it as the configured key (see README.md, "Rotating the
// data key"). Rotate returns ErrBusy while a snapshot loads or a delta is
// applied in chunks, or while a rotation to another key is pending.
func (r *Replica) Rotate(ctx context.Context, newKey KeyProvider, chunk int, progress func(done, total int)) error {
	if newKey == nil {
		return fmt.Errorf("%w: no new key provider", ErrNoKey)
	}
	if !r.op.TryLock() {
		return fmt.Errorf("%w: a key rotation, snapshot or delta applied in chunks is running", ErrBusy)
	}
	defer r.op.Unlock()
	if chunk <= 0 {
		chunk = 5000
	}
	key, err := dataKey(ctx, newKey)
	if err != nil {
		return err
	}
	defer clear(key)
	if err := r.startRotation(key); err != nil {
		return err
	}
	order, err := r.newRotationOrder(ctx)
	if err != nil {
		return fmt.Errorf("key rotation: %w", err)
	}
	defer order.close()
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("key rotation paused (call Rotate again to resume): %w", err)
		}
		var done, total int
		var finished bool
		err := r.update(func(tx *bolt.Tx) error {
			var err error
			done, total, finished, err = r.rotateChunk(tx, chunk, order)
			return err
		})
		if err != nil {
			return fmt.Errorf("key rotation: %w", err)
		}
		if progress != nil {
			progress(done, total)
		}
		if finished {
			break
		}
	}
	// No delta from here to the switch: the term index is built from the
	// new generation's alerts as they are now (Apply waits; checks do not).
	r.deltaMu.Lock()
	defer r.deltaMu.Unlock()
	if err := r.rotationTerms(ctx); err != nil {
		return fmt.Errorf("key rotation: build the new generation's term index (call Rotate again to resume): %w", err)
	}
	if err := r.update(r.finishRotation); err != nil {
		return err
	}
	r.dropStraysLater() // the old generation (stray.go)
	// Only the new key opens the file now: the close mark is made with it,
	// so the next start need not read the whole file again (closemark.go).
	clear(r.markKey)
	r.markKey = closeMarkKey(key)
	err = r.db.View(func(tx *bolt.Tx) error {
		ring := r.keys()[binary.BigEndian.Uint32(tx.Bucket(bucketMeta).Get(metaKeyGen))]
		if ring == nil {
			return fmt.Errorf("%w: rotated key generation not loaded", ErrWrongKey)
		}
		r.active.Store(ring)
		return nil
	})
	if err != nil {
		return err
	}
	if err := r.resealJournal(); err != nil {
		return fmt.Errorf("key rotated; re-seal the journal (done again at the next open): %w", err)
	}
	return nil
}

// rotationTerms builds the term index of the rotation's new generation
// from its alerts, sorted, as a snapshot's is (rebuildTerms). It always
// builds: an Open that resumed the rotation may have built and versioned
// the index of a partial copy, which the copy then did not extend; what
// is already filed is written again, and an entry of an alert removed
// since is inert (a lookup confirms every candidate). The caller holds
// deltaMu, so no alert is added meanwhile.
func (r *Replica) rotationTerms(ctx context.Context) error {
	if r.terms == nil {
		return nil
	}
	var t termTarget
	err := r.db.View(func(tx *bolt.Tx) error {
		rot, err := readRotation(tx)
		if err != nil || rot == nil {
			return err
		}
		if t.ring = r.keys()[rot.To]; t.ring == nil {
			return fmt.Errorf("%w: rotation to key generation %d in progress but its key is not loaded", ErrWrongKey, rot.To)
		}
		t.num = rot.Dst
		return nil
	})
	if err != nil || t.ring == nil {
		return err
	}
	return r.rebuildTerms(ctx, t)
}

// startRotation writes the rotation record, or checks that the pending
// one rotates to key.
func (r *Replica) startRotation(key []byte) error {
	return r.update(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		if tx.Bucket(bucketMeta).Get(metaSnapshot) != nil {
			return fmt.Errorf("%w: a snapshot is loading", ErrBusy)
		}
		rot, err := readRotation(tx)
		if err != nil {
			return err
		}
		if rot != nil {
			k, err := newKeyring(key, r.salt, rot.To)
			if err != nil {
				return err
			}
			if !hmac.Equal(k.check(), rot.NewCheck) {
				return fmt.Errorf("%w: a rotation to another key is pending; resume it with that key, or reopen without it to roll it back", ErrBusy)
			}
			r.addRing(k)
			return nil
		}
		k, err := newKeyring(key, r.salt, st.ring.gen+1)
		if err != nil {
			return err
		}
		if hmac.Equal(k.check(), st.ring.check()) {
			return fmt.Errorf("%w: the new key is the current key", ErrWrongKey)
		}
		dst, err := createGeneration(tx)
		if err != nil {
			return err
		}
		// The new generation's term index is built sorted once the copy
		// is done (Rotate, rotationTerms), not filed alert by alert as the
		// copy goes: until then it carries no version, and an Open that
		// resumes the rotation rebuilds it (ensureTerms).
		rot = &rotation{From: st.ring.gen, To: k.gen, NewCheck: k.check(), Src: st.gen.num, Dst: dst.num,
			Total: st.gen.alerts.Stats().KeyN + st.gen.tombs.Stats().KeyN + st.gen.expiry.Stats().KeyN}
		if err := writeRotation(tx, rot); err != nil {
			return err
		}
		r.addRing(k)
		return r.appendAudit(tx, AuditRecord{Event: EventKeyRotationStarted, Ref: fmt.Sprintf("%d->%d", rot.From, rot.To),
			Detail: fmt.Sprintf("%d entries", rot.Total)})
	})
}

// rotationEntry pairs an entry's record key in the new generation with
// its key in the active one.
type rotationEntry struct{ newK, oldK [32]byte }

// rotationRunMemory is how much of the rotation's order is sorted in
// memory before a run is spilled beside the file: at 100 million alerts
// the whole order, 64 bytes an entry, took 13-17 GB of a 24 GB post
// beside the mapped replica (stop 21), and the rotation could not finish.
const rotationRunMemory = 128 << 20

// rotationRunDir is where a rotation spills the sorted runs of its order.
func rotationRunDir(dbPath string) string { return dbPath + ".rotation-order" }

// rotationOrder is the active generation's alerts and tombstones not yet
// copied, in the order of their new record keys, read from sorted runs
// (record keys only, HMACs: never plaintext).
type rotationOrder struct {
	load bulkLoader
	m    *merger
}

// next returns the next entry, or false at the end.
func (o *rotationOrder) next() (rotationEntry, bool, error) {
	var e rotationEntry
	se, ok, err := o.m.next()
	if err != nil || !ok {
		return e, false, err
	}
	copy(e.newK[:], se.key)
	copy(e.oldK[:], se.val)
	return e, true, nil
}

// close removes the runs.
func (o *rotationOrder) close() {
	if o.m != nil {
		o.m.close()
	}
	o.load.remove()
}

// newRotationOrder lists the active generation's alerts and tombstones
// not yet copied, in the order of their new record keys. Entries added
// later are mirrored by the writes that add them; entries deleted later
// are skipped when their turn comes. The caller closes it.
func (r *Replica) newRotationOrder(ctx context.Context) (*rotationOrder, error) {
	o := &rotationOrder{load: bulkLoader{dir: rotationRunDir(r.Path()), memory: cmp.Or(r.rotationMemory, rotationRunMemory)}}
	os.RemoveAll(o.load.dir) // runs of a rotation a kill interrupted
	err := r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		v, err := r.rotationState(tx, st)
		if err != nil || v.rot == nil || v.rot.Phase != phaseAlerts {
			return err
		}
		add := func(id string, oldK []byte) error {
			// One allocation an entry, outside the map: the buffered
			// entries outlive this transaction.
			b := make([]byte, 64)
			copy(b, v.next.recordKey("alert", id))
			copy(b[32:], oldK)
			if v.rot.After == nil || bytes.Compare(b[:32], v.rot.After) > 0 {
				return o.load.add(b[:32:32], b[32:])
			}
			return nil
		}
		c := st.gen.alerts.Cursor()
		for k, val := c.First(); k != nil; k, val = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			plain, err := st.ks.open(bucketAlerts, k, val)
			if err != nil {
				return err
			}
			id, err := alertIDOf(plain)
			if err != nil {
				return err
			}
			if err := add(id, k); err != nil {
				return err
			}
		}
		c = st.gen.tombs.Cursor()
		for k, val := c.First(); k != nil; k, val = c.Next() {
			t, err := decodeTomb(st.ks, k, val)
			if err != nil {
				return err
			}
			if err := add(t.ID, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		o.m, err = o.load.merge()
	}
	if err != nil {
		o.close()
		return nil, err
	}
	return o, nil
}

// rotateChunk does up to n steps of the rotation behind its mark.
func (r *Replica) rotateChunk(tx *bolt.Tx, n int, order *rotationOrder) (done, total int, finished bool, err error) {
	st, err := r.state(tx)
	if err != nil {
		return 0, 0, false, err
	}
	v, err := r.rotationState(tx, st)
	if err != nil {
		return 0, 0, false, err
	}
	rot := v.rot
	if rot == nil {
		return 0, 0, false, fmt.Errorf("%w: rotation record vanished", ErrCorrupt)
	}
	switch rot.Phase {
	case phaseAlerts:
		// Appends: fill the pages to bulkFill (room for deltas).
		v.dst.alerts.FillPercent, v.dst.tombs.FillPercent = bulkFill, bulkFill
		// The copy files no terms: in the order of the alerts' new keys,
		// their terms' keys come at random, and inserting them so into an
		// index of 100 million entries held the copy to 25,000 alerts a
		// second, slowing (stop 21). rotationTerms sorts them after.
		v.dst.termsOf = nil
		// Entries taken from the order by a transaction that then fails
		// are not lost: Rotate returns, and the next call lists the order
		// again after rot.After.
		for i := 0; i < n; i++ {
			e, ok, err := order.next()
			if err != nil {
				return 0, 0, false, err
			}
			if !ok {
				rot.Phase, rot.After = phaseExpiry, nil
				break
			}
			if err := v.sync(e.oldK[:], e.newK[:], false); err != nil {
				return 0, 0, false, err
			}
			rot.After = bytes.Clone(e.newK[:])
			rot.Done++
		}
	case phaseExpiry:
		c := st.gen.expiry.Cursor()
		var k []byte
		if rot.After == nil {
			k, _ = c.First()
		} else if k, _ = c.Seek(rot.After); k != nil && bytes.Equal(k, rot.After) {
			k, _ = c.Next()
		}
		for i := 0; i < n && k != nil; i++ {
			oldK := k[8:]
			if val := st.gen.alerts.Get(oldK); val != nil {
				a, err := decodeAlert(st.ks, oldK, val)
				if err != nil {
					return 0, 0, false, err
				}
				if !a.Expires.IsZero() {
					if err := v.dst.expiry.Put(expiryKey(a.Expires, v.next.recordKey("alert", a.ID)), []byte{}); err != nil {
						return 0, 0, false, err
					}
				}
			}
			rot.After = bytes.Clone(k)
			rot.Done++
			k, _ = c.Next()
		}
		if k == nil {
			rot.Phase, rot.After = phaseCopied, nil
		}
	}
	if err := writeRotation(tx, rot); err != nil {
		return 0, 0, false, err
	}
	return rot.Done, rot.Total, rot.Phase >= phaseCopied, nil
}

// finishRotation switches to the new generation and key in one
// transaction.
func (r *Replica) finishRotation(tx *bolt.Tx) error {
	st, err := r.state(tx)
	if err != nil {
		return err
	}
	v, err := r.rotationState(tx, st)
	if err != nil {
		return err
	}
	rot := v.rot
	if rot == nil || rot.Phase < phaseCopied {
		return fmt.Errorf("%w: rotation not ready to finish", ErrCorrupt)
	}
	if err := r.handOnAuditKeys(tx, v.next); err != nil {
		return fmt.Errorf("hand on audit keys: %w", err)
	}
	// The journal (outbox, officers' keep) is re-sealed after this commit
	// (resealJournal); until then, and across a kill, the old value key
	// stays here, sealed under the new one.
	if err := r.retireForJournal(tx, v.next); err != nil {
		return fmt.Errorf("keep the old key for the journal: %w", err)
	}
	if q := tx.Bucket(bucketAuditQueue); q != nil {
		if _, err := resealBucket(q, bucketAuditQueue, st.ks, v.next); err != nil {
			return fmt.Errorf("re-seal the audit queue: %w", err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	for _, kv := range [][2][]byte{{metaKeyGen, u32(rot.To)}, {keyCheckName(rot.To), rot.NewCheck},
		{metaAlertGen, u64(rot.Dst)}, {metaCompact, []byte{1}}} {
		if err := meta.Put(kv[0], kv[1]); err != nil {
			return err
		}
	}
	if err := meta.Delete(keyCheckName(rot.From)); err != nil {
		return err
	}
	if err := meta.Delete(metaRotation); err != nil {
		return err
	}
	// The old generation is now a stray, dropped after the switch in
	// chunks (or left out of the next compaction's copy): dropped here,
	// bbolt would read every page of it inside the switch.
	// New journal values are sealed under the new key from the commit on,
	// and the record below is the first of its generation.
	next := v.next
	tx.OnCommit(func() { r.active.Store(next) })
	return r.appendAudit(tx, AuditRecord{Event: EventKeyRotated, Ref: fmt.Sprintf("%d->%d", rot.From, rot.To),
		Detail: fmt.Sprintf("%d alerts and tombstones re-encrypted; the journal follows", rot.Done)})
}
