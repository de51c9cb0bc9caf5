package store

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// RetentionResult says what PurgeRetention removed.
type RetentionResult struct {
	// Audit is the number of audit records removed.
	Audit int `json:"audit"`
	// Hits is the number of delivered hits removed. It is always 0 today:
	// Acknowledge deletes a hit as soon as central confirms it, so no
	// delivered hit stays on disk; the field keeps the contract stable.
	Hits int `json:"hits"`
}

// PurgeRetention removes audit records written before the cutoff, oldest
// first, in chunks. The hash of the last record removed becomes the
// chain's anchor in meta, and VerifyAudit starts from it, so the remaining
// log still verifies and a removal beyond the retention period is still
// detected. The purge itself is recorded (event audit.purged).
func (r *Replica) PurgeRetention(ctx context.Context, before time.Time) (RetentionResult, error) {
	var res RetentionResult
	var last uint64
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		n := 0
		err := r.jupdate(func(tx *bolt.Tx) error {
			n = 0
			b := tx.Bucket(bucketAudit)
			c := b.Cursor()
			var anchor auditAnchor
			for k, v := c.First(); k != nil && n < purgeChunk*5; k, v = c.First() {
				sa, err := parseAudit(v)
				if err != nil {
					return fmt.Errorf("%w: record %d is not sealed under the audit key (run `borderpost audit verify`)", ErrAuditChain, binary.BigEndian.Uint64(k))
				}
				if !sa.time.Before(before) {
					break
				}
				ak := r.auditKeysFor(sa.gen)
				if ak == nil {
					return fmt.Errorf("%w: record %d names key generation %d, whose audit key the replica does not hold", ErrAuditChain, binary.BigEndian.Uint64(k), sa.gen)
				}
				anchor = auditAnchor{Seq: binary.BigEndian.Uint64(k), Hash: hex.EncodeToString(sa.mac), Gen: sa.gen}
				anchor.Tag = ak.positionTag("anchor", anchor.Seq, anchor.Hash)
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
			if n == 0 {
				return nil
			}
			last = anchor.Seq
			return writeAnchor(tx, anchor)
		})
		if err != nil {
			return res, fmt.Errorf("purge audit records: %w", err)
		}
		res.Audit += n
		if n < purgeChunk*5 {
			break
		}
	}
	if res.Audit == 0 {
		return res, nil
	}
	err := r.Audit(ctx, AuditRecord{Event: EventAuditPurged, Ref: fmt.Sprint(last),
		Detail: fmt.Sprintf("%d records before %s", res.Audit, before.UTC().Format(time.RFC3339))})
	return res, err
}
