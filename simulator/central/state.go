package central

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/borderpost/borderpost/store"
)

// State keeps central's lists on disk: for the whole list and each scope,
// the alerts, the epoch, sequence, chain hash and digest, and the signed
// deltas kept for replays. A central restarted on the same State goes on
// from the sequence it stopped at, and replays to agents that are behind.
// A delta is on disk before it is published.
type State struct {
	db *bolt.DB
}

var (
	stateMeta    = []byte("meta")
	stateAlerts  = []byte("alerts")
	stateHistory = []byte("history")
	stateCursor  = []byte("cursor")
	// stateAssign holds each agent's last assignment sequence: agent ID ->
	// 8 bytes big-endian.
	stateAssign = []byte("assignments")
)

// loadAssignments returns each agent's last assignment sequence.
func (s *State) loadAssignments() (map[string]uint64, error) {
	seqs := make(map[string]uint64)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(stateAssign)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("central state: assignment sequence of %s is damaged", k)
			}
			seqs[string(k)] = binary.BigEndian.Uint64(v)
			return nil
		})
	})
	return seqs, err
}

// saveAssignment records an agent's assignment sequence before the
// assignment is published, so that the next one, even after a restart,
// is newer.
func (s *State) saveAssignment(agent string, seq uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(stateAssign)
		if err != nil {
			return err
		}
		return b.Put([]byte(agent), binary.BigEndian.AppendUint64(nil, seq))
	})
}

// OpenState opens (creating if need be) central's state file.
func OpenState(path string) (*State, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("central state %s is in use by another central; stop it first", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open central state %s: %w", path, err)
	}
	return &State{db: db}, nil
}

// Close closes the state file.
func (s *State) Close() error { return s.db.Close() }

// streamCursor is a stream's position as stored.
type streamCursor struct {
	Epoch  uint64 `json:"epoch"`
	Seq    uint64 `json:"seq"`
	Last   string `json:"last"`
	Digest string `json:"digest"`
}

func bucketName(st *stream) []byte {
	if st.scope == "" {
		return []byte("whole")
	}
	return []byte("scope." + st.scope)
}

// load fills st from disk, if the state holds it.
func (s *State) load(st *stream) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketName(st))
		if b == nil {
			return nil
		}
		var cur streamCursor
		if v := b.Bucket(stateMeta).Get(stateCursor); v != nil {
			if err := json.Unmarshal(v, &cur); err != nil {
				return fmt.Errorf("central state: stream %q cursor: %w", st.scope, err)
			}
		}
		last, err := hex.DecodeString(cur.Last)
		if err != nil || len(last) != 32 {
			return fmt.Errorf("central state: stream %q: bad chain hash", st.scope)
		}
		digest, err := store.ParseDigest(cur.Digest)
		if err != nil {
			return fmt.Errorf("central state: stream %q: %w", st.scope, err)
		}
		st.epoch, st.seq, st.digest = cur.Epoch, cur.Seq, digest
		copy(st.last[:], last)
		if err := b.Bucket(stateAlerts).ForEach(func(k, v []byte) error {
			var a store.Alert
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("central state: stream %q alert %s: %w", st.scope, k, err)
			}
			st.alerts[a.ID] = a
			return nil
		}); err != nil {
			return err
		}
		return b.Bucket(stateHistory).ForEach(func(k, v []byte) error {
			st.history[binary.BigEndian.Uint64(k)] = append([]byte(nil), v...)
			return nil
		})
	})
}

// save records one delta of st, before it is published: the changed
// alerts, the new cursor and the signed message, and drops history older
// than keep deltas (keep 0 keeps all). One synced transaction.
func (s *State) save(st *stream, seq uint64, last [32]byte, digest store.Digest, upserts []store.Alert, deletes []string, msg []byte, keep int) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketName(st))
		if err != nil {
			return err
		}
		var sub [3]*bolt.Bucket
		for i, name := range [][]byte{stateMeta, stateAlerts, stateHistory} {
			if sub[i], err = b.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta, alerts, history := sub[0], sub[1], sub[2]
		for _, a := range upserts {
			v, err := json.Marshal(a)
			if err != nil {
				return err
			}
			if err := alerts.Put([]byte(a.ID), v); err != nil {
				return err
			}
		}
		for _, id := range deletes {
			if err := alerts.Delete([]byte(id)); err != nil {
				return err
			}
		}
		if msg != nil {
			if err := history.Put(binary.BigEndian.AppendUint64(nil, seq), msg); err != nil {
				return err
			}
			if keep > 0 && seq > uint64(keep) {
				if err := history.Delete(binary.BigEndian.AppendUint64(nil, seq-uint64(keep))); err != nil {
					return err
				}
			}
		}
		cur, err := json.Marshal(streamCursor{Epoch: st.epoch, Seq: seq, Last: hex.EncodeToString(last[:]), Digest: digest.String()})
		if err != nil {
			return err
		}
		return meta.Put(stateCursor, cur)
	})
}

// newEpoch records that st starts a new epoch: its history goes.
func (s *State) newEpoch(st *stream) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketName(st))
		if b == nil {
			return nil
		}
		if err := b.DeleteBucket(stateHistory); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
			return err
		}
		if _, err := b.CreateBucket(stateHistory); err != nil {
			return err
		}
		cur, err := json.Marshal(streamCursor{Epoch: st.epoch, Seq: 0, Last: hex.EncodeToString(make([]byte, 32)), Digest: st.digest.String()})
		if err != nil {
			return err
		}
		return b.Bucket(stateMeta).Put(stateCursor, cur)
	})
}
