package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Hit is a match recorded at the post, waiting in the outbox until central
// acknowledges it. Seq orders hits per agent; the store assigns it.
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
	Correction   string    `json:"correction,omitempty"`
	AlertID      string    `json:"alert_id"`
	AlertVersion uint64    `json:"alert_version"`
	Match        string    `json:"match"`
	Score        float64   `json:"score"`
	Category     string    `json:"category,omitempty"`
	Action       string    `json:"action,omitempty"`
	Explanation  string    `json:"explanation,omitempty"`
}

// CheckRecord is what the audit log keeps of one check: references only.
type CheckRecord struct {
	ID     string
	Device string
	Items  int
}

// Record writes the audit record of a check and puts its hits in the
// outbox, in one transaction: a check is either recorded with all its hits
// or not at all. It returns the hits with their outbox sequence set.
// Concurrent calls share one disk sync.
func (r *Replica) Record(ctx context.Context, c CheckRecord, hits []Hit) ([]Hit, error) {
	var out []Hit
	err := r.db.Batch(func(tx *bolt.Tx) error {
		out = append(out[:0], hits...) // Batch may run this more than once
		ob := tx.Bucket(bucketOutbox)
		rec := AuditRecord{Event: EventCheck, Ref: c.ID, Device: c.Device, Detail: fmt.Sprintf("%d items", c.Items)}
		for i := range out {
			seq, err := ob.NextSequence()
			if err != nil {
				return err
			}
			out[i].Seq = seq
			plain, err := json.Marshal(&out[i])
			if err != nil {
				return err
			}
			k := u64(seq)
			v, err := r.keys.seal(bucketOutbox, k, plain)
			if err != nil {
				return err
			}
			if err := ob.Put(k, v); err != nil {
				return err
			}
			rec.Hits = append(rec.Hits, out[i].ID)
			rec.Alerts = append(rec.Alerts, out[i].AlertID)
		}
		if err := addOutboxN(tx, int64(len(out))); err != nil {
			return err
		}
		return r.appendAudit(tx, rec)
	})
	if err != nil {
		return nil, fmt.Errorf("record check: %w", err)
	}
	return out, nil
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
	err := r.db.View(func(tx *bolt.Tx) error {
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
	plain, err := r.keys.open(bucketOutbox, k, v)
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
// removed.
func (r *Replica) Acknowledge(upto uint64) (int, error) {
	n := 0
	err := r.db.Update(func(tx *bolt.Tx) error {
		n = 0
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= upto; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		return addOutboxN(tx, -int64(n))
	})
	return n, err
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
	err := r.db.View(func(tx *bolt.Tx) error {
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
