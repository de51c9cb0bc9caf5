package store

import (
	"bytes"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// AlertsByID returns the alerts held under ids, at the same positions, in
// one read transaction: the match index reads the few alerts behind a
// check's matches this way. A zero Alert (empty ID) stands for an ID not
// held or expired at the replica's clock.
func (r *Replica) AlertsByID(ids []string) ([]Alert, error) {
	out := make([]Alert, len(ids))
	now := r.now()
	err := r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		for i, id := range ids {
			a, found, err := st.gen.get(st.ks, st.ring.recordKey("alert", id))
			if err != nil {
				return err
			}
			if found && !a.Expired(now) {
				out[i] = a
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AlertCount returns how many alerts (not tombstones) the active
// generation holds, expired ones not yet purged included. With a ready
// term index it reads the count kept with it; otherwise it walks the
// bucket's pages.
func (r *Replica) AlertCount() (int, error) {
	n := 0
	err := r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		if t := st.gen.terms; r.terms != nil && t != nil && bytes.Equal(t.Get(termsVersionKey), r.termsVersion) && len(t.Get(termsCountKey)) == 8 {
			n = int(binary.BigEndian.Uint64(t.Get(termsCountKey)))
			return nil
		}
		n = st.gen.alerts.Stats().KeyN
		return nil
	})
	return n, err
}
