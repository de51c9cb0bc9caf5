package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Hit is a match recorded at the post, waiting in the outbox until central
// acknowledges it. Seq orders outbox entries per agent; the store assigns
// it. An entry whose Outcome is set carries an officer's outcome for the
// earlier hit Outcome.HitID rather than a new hit, so that outcomes reach
// central through the same ordered, acknowledged stream.
type Hit struct {
	ID           string    `json:"hit_id"`
	Seq          uint64    `json:"seq"`
	CheckID      string    `json:"check_id"`
	Device       string    `json:"device,omitempty"`
	Lane         string    `json:"lane,omitempty"`
	Time         time.Time `json:"time"`
	Field        string    `json:"field"`
	ItemKind     string    `json:"item_kind"`
	Raw          string    `json:"raw,omitempty"`
	Value        string    `json:"value"`
	Country      string    `json:"country,omitempty"` // plate country or document issuing state, as read
	Correction   string    `json:"correction,omitempty"`
	AlertID      string    `json:"alert_id"`
	AlertVersion uint64    `json:"alert_version"`
	Match        string    `json:"match"`
	Score        float64   `json:"score"`
	Category     string    `json:"category,omitempty"`
	Action       string    `json:"action,omitempty"`
	// Warnings are the alert's (armed, violent, ...), so that central and
	// an export say what the officer was warned of.
	Warnings    []string `json:"warnings,omitempty"`
	Explanation string   `json:"explanation,omitempty"`
	// Namesakes are the IDs of more alerts whose names match at or above
	// the threshold, past the hits read for one name, best first (a name
	// many alerts hold, or hold with a word more): references only, neither read nor recorded as hits, so that
	// the officer and central know the hits were not all.
	Namesakes []string `json:"namesakes,omitempty"`
	Outcome   *Outcome `json:"outcome,omitempty"`
}

// Outcome is what an officer found when acting on a hit.
type Outcome struct {
	ID      string    `json:"outcome_id"`
	HitID   string    `json:"hit_id"`
	AlertID string    `json:"alert_id"`
	Outcome string    `json:"outcome"` // confirmed, false-match, not-found, not-actionable
	Remark  string    `json:"remark,omitempty"`
	Officer string    `json:"officer"` // the terminal account
	Role    string    `json:"role"`
	Time    time.Time `json:"time"`
	// Corrects is the ID of an earlier outcome for the same hit that this
	// one corrects (a supervisor's correction); the earlier one stands in
	// the record.
	Corrects string `json:"corrects,omitempty"`
}

// CheckRecord is what the audit log keeps of one check: references only.
type CheckRecord struct {
	ID     string
	Device string
	Items  int
}

// Record writes the audit record of a check and puts its hits in the
// outbox, in one transaction: a check is either recorded with all its hits
// or not at all. It returns, once they are on disk, the hits with their
// outbox sequence set. Concurrent calls share one transaction and one disk
// sync (group commit, see commitCheck).
func (r *Replica) Record(ctx context.Context, c CheckRecord, hits []Hit) ([]Hit, error) {
	out, err := r.commitCheck(c, hits)
	if err != nil {
		return nil, fmt.Errorf("record check: %w", err)
	}
	return out, nil
}

// RecordOutcome puts an officer's outcome for a hit into the outbox, with
// its audit record (who, which hit, what outcome; the remark stays in the
// encrypted outbox), in one transaction.
func (r *Replica) RecordOutcome(ctx context.Context, o Outcome) error {
	if o.ID == "" || o.HitID == "" || o.Outcome == "" {
		return fmt.Errorf("record outcome: %w: outcome, hit and outcome ID are required", ErrInvalidAlert)
	}
	err := r.jupdate(func(tx *bolt.Tx) error {
		e := []Hit{{ID: o.ID, Time: o.Time, AlertID: o.AlertID, Outcome: &o}}
		if err := r.putOutbox(tx, e); err != nil {
			return err
		}
		if err := settleForOfficers(tx, o.HitID); err != nil {
			return err
		}
		return r.appendJournalAudit(tx, AuditRecord{Event: EventOutcome, Ref: o.HitID, Device: o.Officer, Detail: o.Outcome,
			Hits: []string{o.ID}, Alerts: []string{o.AlertID}})
	})
	if err != nil {
		return fmt.Errorf("record outcome: %w", err)
	}
	return nil
}

// putOutbox seals entries into the outbox under the next sequences, which
// it sets on them.
func (r *Replica) putOutbox(tx *bolt.Tx, entries []Hit) error {
	if err := nextOutboxSeqs(tx, entries); err != nil {
		return err
	}
	if err := putOutboxAt(tx, r.journalRing(), entries); err != nil {
		return err
	}
	return addOutboxN(tx, int64(len(entries)))
}

// nextOutboxSeqs sets on entries the outbox's next sequences, in tx.
func nextOutboxSeqs(tx *bolt.Tx, entries []Hit) error {
	ob := tx.Bucket(bucketOutbox)
	for i := range entries {
		seq, err := ob.NextSequence()
		if err != nil {
			return err
		}
		entries[i].Seq = seq
	}
	return nil
}

// putOutboxAt seals entries into the outbox under the sequences they
// carry (assigned by nextOutboxSeqs, or by the journal's log).
func putOutboxAt(tx *bolt.Tx, ring *keyring, entries []Hit) error {
	ob := tx.Bucket(bucketOutbox)
	ob.FillPercent = 1 // entries only ever go at the end: fill pages
	for i := range entries {
		plain, err := json.Marshal(&entries[i])
		if err != nil {
			return err
		}
		k := u64(entries[i].Seq)
		v, err := ring.seal(bucketOutbox, k, plain)
		if err != nil {
			return err
		}
		if err := ob.Put(k, v); err != nil {
			return err
		}
	}
	return nil
}

func addOutboxN(tx *bolt.Tx, delta int64) error {
	meta := tx.Bucket(bucketMeta)
	var n int64
	if b := meta.Get(metaOutboxN); b != nil {
		n = int64(binary.BigEndian.Uint64(b))
	}
	n += delta
	if n < 0 {
		n = 0
	}
	return meta.Put(metaOutboxN, u64(uint64(n)))
}

// Pending returns up to max hits from the outbox with a sequence above
// after, in order.
func (r *Replica) Pending(after uint64, max int) ([]Hit, error) {
	var hits []Hit
	err := r.jview(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(hits) < max; k, v = c.Next() {
			h, err := r.decodeHit(k, v)
			if err != nil {
				return err
			}
			hits = append(hits, h)
		}
		return nil
	})
	return hits, err
}

func (r *Replica) decodeHit(k, v []byte) (Hit, error) {
	var h Hit
	plain, err := r.keys().open(bucketOutbox, k, v)
	if err != nil {
		return h, err
	}
	if err := json.Unmarshal(plain, &h); err != nil {
		return h, fmt.Errorf("%w: outbox entry: %w", ErrCorrupt, err)
	}
	return h, nil
}

// Acknowledge removes every outbox entry with a sequence up to and
// including upto, because central has stored them. It returns how many it
// removed. It rides the next group commit of checks (groupcommit.go).
func (r *Replica) Acknowledge(upto uint64) (int, error) {
	return r.acknowledge(upto)
}

// OutboxState describes the hits waiting for central.
type OutboxState struct {
	Depth  int       `json:"depth"`
	First  uint64    `json:"first"`           // lowest waiting sequence, 0 if empty
	Last   uint64    `json:"last"`            // highest sequence ever assigned
	Oldest time.Time `json:"oldest,omitzero"` // when the oldest waiting hit was recorded
}

// Outbox returns the outbox's current state.
func (r *Replica) Outbox() (OutboxState, error) {
	var s OutboxState
	err := r.jview(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		s.Last = b.Sequence()
		if v := tx.Bucket(bucketMeta).Get(metaOutboxN); v != nil {
			s.Depth = int(binary.BigEndian.Uint64(v))
		}
		k, v := b.Cursor().First()
		if k == nil {
			return nil
		}
		s.First = binary.BigEndian.Uint64(k)
		h, err := r.decodeHit(k, v)
		if err != nil {
			return err
		}
		s.Oldest = h.Time
		return nil
	})
	return s, err
}

// activeRing returns the keyring that seals new values in tx.
func (r *Replica) activeRing(tx *bolt.Tx) (*keyring, error) {
	kg := binary.BigEndian.Uint32(tx.Bucket(bucketMeta).Get(metaKeyGen))
	ring := r.keys()[kg]
	if ring == nil {
		return nil, fmt.Errorf("%w: key generation %d is not loaded (reopen the replica)", ErrWrongKey, kg)
	}
	return ring, nil
}

// resealOutbox re-encrypts every outbox entry not under ring's generation,
// in a journal transaction.
func resealOutbox(tx *bolt.Tx, ks keyset, ring *keyring) (int, error) {
	return resealBucket(tx.Bucket(bucketOutbox), bucketOutbox, ks, ring)
}

// resealBucket re-encrypts every value of b (named name) not under ring's
// generation.
func resealBucket(b *bolt.Bucket, name []byte, ks keyset, ring *keyring) (int, error) {
	type entry struct{ k, v []byte }
	var todo []entry
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if g, _ := sealedGen(v); g == ring.gen {
			continue
		}
		plain, err := ks.open(name, k, v)
		if err != nil {
			return 0, err
		}
		nv, err := ring.seal(name, k, plain)
		if err != nil {
			return 0, err
		}
		todo = append(todo, entry{bytes.Clone(k), nv})
	}
	// Written after the walk: bbolt cursors must not see their bucket change.
	for _, e := range todo {
		if err := b.Put(e.k, e.v); err != nil {
			return 0, err
		}
	}
	n := len(todo)
	return n, nil
}
