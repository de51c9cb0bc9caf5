package store

import (
	"encoding/hex"

	bolt "go.etcd.io/bbolt"
)

// Ref returns a keyed reference of value, for records that must name a
// value without revealing it (the officers' memory of false matches): an
// HMAC under the replica's index key, hex-encoded. Equal values give equal
// references until the data key is rotated; the file and the audit log
// never hold the value itself.
func (r *Replica) Ref(value string) (string, error) {
	var out string
	err := r.db.View(func(tx *bolt.Tx) error {
		ring, err := r.activeRing(tx)
		if err != nil {
			return err
		}
		out = hex.EncodeToString(ring.recordKey("ref", value))
		return nil
	})
	return out, err
}
