package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditEvent names what an audit record is about.
type AuditEvent string

// The events the audit log records.
const (
	EventCheck        AuditEvent = "check"         // an arrival was checked
	EventDeltaApplied AuditEvent = "delta.applied" // a change from central was applied
	EventDeltaRefused AuditEvent = "delta.refused" // a change was refused (signature, replay, gap...)
	EventOutcome      AuditEvent = "hit.outcome"   // an officer recorded what a hit turned out to be
	EventAgentStart   AuditEvent = "agent.start"
	EventAgentStop    AuditEvent = "agent.stop"
	// EventRecordRestored: writes succeed again after checks could not be
	// recorded (disk full); Detail says how many were refused since when.
	EventRecordRestored AuditEvent = "record.restored"
	// EventReplicaRebuilt: the replica was rebuilt from a damaged file
	// (Ref); Detail says how many unsent hits were recovered.
	EventReplicaRebuilt AuditEvent = "replica.rebuilt"
	// EventAlertExpired: an alert passed its expiry and was purged from
	// disk; Ref is the alert ID.
	EventAlertExpired AuditEvent = "alert.expired"
	// EventSnapshotApplied: a snapshot became the active alert set.
	EventSnapshotApplied AuditEvent = "snapshot.applied"
	// EventSnapshotRefused: a snapshot's digest did not verify, or it was
	// aborted or abandoned by a kill; nothing of it was kept.
	EventSnapshotRefused AuditEvent = "snapshot.refused"
	// EventKeyRotationStarted, EventKeyRotated and EventKeyRotationRolledBack
	// follow a data key rotation; Ref is "from->to" key generations.
	EventKeyRotationStarted    AuditEvent = "key.rotation.started"
	EventKeyRotated            AuditEvent = "key.rotated"
	EventKeyRotationRolledBack AuditEvent = "key.rotation.rolled_back"
	// EventAuditPurged: records older than the retention period were
	// removed; Ref is the sequence of the last one removed.
	EventAuditPurged AuditEvent = "audit.purged"
	// EventScopeAdded: the post started following a scope (Ref);
	// EventScopeDropped: a scope was dropped and its replica removed from
	// disk, Detail giving how many alerts went with it; EventScopesRefused:
	// a scope assignment failed its signature or checks.
	EventScopeAdded    AuditEvent = "scope.added"
	EventScopeDropped  AuditEvent = "scope.dropped"
	EventScopesRefused AuditEvent = "scope.assignment_refused"
)

// AuditRecord is one entry of the audit log. It records checks and changes
// by reference (check ID, hit IDs, alert IDs), never the names, plates or
// numbers that were checked. Seq, Time, Prev and Hash are set by the store.
type AuditRecord struct {
	Seq    uint64     `json:"seq"`
	Time   time.Time  `json:"time"`
	Event  AuditEvent `json:"event"`
	Ref    string     `json:"ref,omitempty"`    // check ID, delta epoch/seq, ...
	Device string     `json:"device,omitempty"` // the device or user behind the event
	Detail string     `json:"detail,omitempty"`
	Hits   []string   `json:"hits,omitempty"`   // hit IDs
	Alerts []string   `json:"alerts,omitempty"` // alert IDs hit
	Prev   string     `json:"prev"`             // hash of the record before
	Hash   string     `json:"hash,omitempty"`   // hash of this record (with Hash empty)
}

// Audit appends a record to the audit log in its own transaction.
func (r *Replica) Audit(ctx context.Context, rec AuditRecord) error {
	return r.update(func(tx *bolt.Tx) error { return r.appendAudit(tx, rec) })
}

// appendAudit chains rec to the log's head inside tx.
func (r *Replica) appendAudit(tx *bolt.Tx, rec AuditRecord) error {
	b := tx.Bucket(bucketAudit)
	meta := tx.Bucket(bucketMeta)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	rec.Seq = seq
	rec.Time = r.now().UTC()
	rec.Prev = string(meta.Get(metaAudit))
	rec.Hash = ""
	h, err := auditHash(rec)
	if err != nil {
		return err
	}
	rec.Hash = h
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := b.Put(u64(seq), v); err != nil {
		return err
	}
	return meta.Put(metaAudit, []byte(h))
}

func auditHash(rec AuditRecord) (string, error) {
	rec.Hash = ""
	b, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// AuditRecords calls fn for every audit record in order.
func (r *Replica) AuditRecords(ctx context.Context, fn func(AuditRecord) error) error {
	return r.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var rec AuditRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("%w: audit record at key %d: %w", ErrAuditChain, binary.BigEndian.Uint64(k), err)
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// VerifyAudit walks the audit log and checks its hash chain: every record's
// hash, its link to the one before, its position, and that the last record
// is the head the store recorded. It returns the number of records and an
// ErrAuditChain error naming the first record that was edited, removed or
// moved.
func (r *Replica) VerifyAudit(ctx context.Context) (int, error) {
	n := 0
	var prev string
	var prevSeq uint64
	err := r.db.View(func(tx *bolt.Tx) error {
		anchor, err := readAnchor(tx)
		if err != nil {
			return err
		}
		prev, prevSeq = anchor.Hash, anchor.Seq
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			key := binary.BigEndian.Uint64(k)
			var rec AuditRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("%w: record %d does not decode: %w", ErrAuditChain, key, err)
			}
			if rec.Seq != key {
				return fmt.Errorf("%w: record stored at %d says it is %d (moved)", ErrAuditChain, key, rec.Seq)
			}
			if want, _ := auditHash(rec); want != rec.Hash {
				return fmt.Errorf("%w: record %d was edited (hash mismatch)", ErrAuditChain, key)
			}
			if key != prevSeq+1 {
				return fmt.Errorf("%w: records %d to %d are missing", ErrAuditChain, prevSeq+1, key-1)
			}
			if rec.Prev != prev {
				return fmt.Errorf("%w: record %d does not follow record %d", ErrAuditChain, key, prevSeq)
			}
			prev, prevSeq = rec.Hash, key
			n++
		}
		if head := string(tx.Bucket(bucketMeta).Get(metaAudit)); head != prev {
			return fmt.Errorf("%w: the log ends at record %d but the head names another record (records removed from the end)", ErrAuditChain, prevSeq)
		}
		return nil
	})
	return n, err
}

// auditAnchor is the last record removed by retention: the chain's start.
type auditAnchor struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

func readAnchor(tx *bolt.Tx) (auditAnchor, error) {
	var a auditAnchor
	b := tx.Bucket(bucketMeta).Get(metaAuditAnchor)
	if b == nil {
		return a, nil
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("%w: audit anchor: %w", ErrAuditChain, err)
	}
	return a, nil
}
