package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// purgeChunk bounds the alerts one purge transaction removes, so a mass
// expiry does not hold the write lock for long.
const purgeChunk = 2000

// PurgeExpired removes from disk every alert whose Expires is at or before
// now, walking the expiry index (time, then HMAC) so it never scans the
// whole set. Each removal is in the audit log (event alert.expired, Ref
// the alert ID). What remains of a purged alert is a sealed tombstone of
// its ID and version, so the replica's digest keeps agreeing with
// central's until central deletes or re-issues the alert (README.md,
// "Expiry and the digest"). Call it at least once a minute. It returns how
// many alerts it removed.
func (r *Replica) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, full := 0, false
		err := r.update(func(tx *bolt.Tx) error {
			n, full = 0, false
			st, err := r.state(tx)
			if err != nil {
				return err
			}
			rot, err := r.rotationState(tx, st)
			if err != nil {
				return err
			}
			limit := u64(uint64(max(now.Unix(), 0)))
			var due [][]byte
			c := st.gen.expiry.Cursor()
			for k, _ := c.First(); k != nil && len(due) < purgeChunk && bytes.Compare(k[:8], limit) <= 0; k, _ = c.Next() {
				due = append(due, bytes.Clone(k))
			}
			full = len(due) == purgeChunk
			for _, ek := range due {
				k := ek[8:]
				a, ok, err := st.gen.get(st.ks, k)
				if err != nil {
					return err
				}
				if !ok { // index entry without its alert: drop it
					if err := st.gen.expiry.Delete(ek); err != nil {
						return err
					}
					continue
				}
				if !a.Expired(now) || binary.BigEndian.Uint64(ek) != binary.BigEndian.Uint64(expiryKey(a.Expires, k)) {
					continue // expires later within the same second, or a stale entry
				}
				if err := st.gen.expiry.Delete(ek); err != nil {
					return err
				}
				if err := st.gen.alerts.Delete(k); err != nil {
					return err
				}
				if err := st.gen.dropTerms(k, &a); err != nil {
					return err
				}
				if err := st.gen.putTomb(st.ring, k, tombstone{ID: a.ID, Version: a.Version, Expires: a.Expires}); err != nil {
					return err
				}
				if err := rot.mirror(a.ID); err != nil {
					return err
				}
				if err := r.appendAudit(tx, AuditRecord{Event: EventAlertExpired, Ref: a.ID,
					Detail: fmt.Sprintf("version %d expired %s", a.Version, a.Expires.UTC().Format(time.RFC3339))}); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("purge expired alerts: %w", err)
		}
		total += n
		if !full || n == 0 {
			return total, nil
		}
	}
}
