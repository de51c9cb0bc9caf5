package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The replica keeps each recorded hit for the officers' page, sealed like
// the outbox, until an officer records its outcome or it is OfficerKeep
// old, whatever central has acknowledged: an agent restart must not lose
// a hit an officer still has to act on.
var (
	bucketOfficer = []byte("officer") // outbox sequence -> sealed Hit
	bucketOffIDs  = []byte("ids")     // nested: hit ID -> outbox sequence
)

// OfficerKeep is how long a hit without an outcome stays for the officers.
const OfficerKeep = 24 * time.Hour

// OfficerKeepMax bounds the hits without an outcome kept for the officers:
// the newest this many, by outbox sequence. A post that makes more hits
// than its officers can settle in a day (a soak at 250 hits a second, a
// list that hits on every car) would otherwise grow the journal by a day
// of hits; every hit is still in the audit log and sent to central.
const OfficerKeepMax = 10000

// keepForOfficers stores the recorded hits in tx and drops those older
// than OfficerKeep, and the oldest beyond the newest officerKeepMax.
func (r *Replica) keepForOfficers(tx *bolt.Tx, hits []Hit) error {
	if len(hits) == 0 {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketOfficer)
	if err != nil {
		return err
	}
	ids, err := b.CreateBucketIfNotExists(bucketOffIDs)
	if err != nil {
		return err
	}
	ring := r.journalRing()
	for i := range hits {
		plain, err := json.Marshal(&hits[i])
		if err != nil {
			return err
		}
		k := u64(hits[i].Seq)
		v, err := ring.seal(bucketOfficer, k, plain)
		if err != nil {
			return err
		}
		if err := b.Put(k, v); err != nil {
			return err
		}
		if err := ids.Put([]byte(hits[i].ID), k); err != nil {
			return err
		}
	}
	// Oldest first: stop at the first hit young enough to keep and among
	// the newest officerKeepMax (sequences are dense, so those after
	// newest-max; settled ones are gone already).
	cutoff := r.now().Add(-OfficerKeep)
	var newest uint64
	for _, h := range hits {
		newest = max(newest, h.Seq)
	}
	var old []Hit
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil || len(k) != 8 {
			continue
		}
		if seq := bytesSeq(k); newest > uint64(r.officerKeepMax) && seq <= newest-uint64(r.officerKeepMax) {
			// Beyond the bound: dropped whatever its age, its ID entry with it.
			old = append(old, r.officerEntry(k, v))
			continue
		}
		var h Hit
		plain, err := r.keys().open(bucketOfficer, k, v)
		if err == nil {
			err = json.Unmarshal(plain, &h)
		}
		if err == nil && h.Time.After(cutoff) {
			break
		}
		h.Seq = bytesSeq(k)
		old = append(old, h)
	}
	for _, h := range old {
		if err := b.Delete(u64(h.Seq)); err != nil {
			return err
		}
		if h.ID != "" {
			if err := ids.Delete([]byte(h.ID)); err != nil {
				return err
			}
		}
	}
	return nil
}

// officerEntry is the kept hit at k, as far as it can be read: its
// sequence always, its ID when it opens.
func (r *Replica) officerEntry(k, v []byte) Hit {
	var h Hit
	if plain, err := r.keys().open(bucketOfficer, k, v); err == nil {
		json.Unmarshal(plain, &h)
	}
	h.Seq = bytesSeq(k)
	return h
}

func bytesSeq(k []byte) uint64 {
	var n uint64
	for _, c := range k {
		n = n<<8 | uint64(c)
	}
	return n
}

// settleForOfficers drops hit id from the officers' keep: it has an outcome.
func settleForOfficers(tx *bolt.Tx, id string) error {
	b := tx.Bucket(bucketOfficer)
	if b == nil {
		return nil
	}
	ids := b.Bucket(bucketOffIDs)
	if ids == nil {
		return nil
	}
	k := ids.Get([]byte(id))
	if k == nil {
		return nil
	}
	k = bytes.Clone(k)
	if err := b.Delete(k); err != nil {
		return err
	}
	return ids.Delete([]byte(id))
}

// OfficerHits returns the hits kept for the officers' page that have no
// outcome yet and are less than OfficerKeep old, oldest first. An entry
// that no longer opens (sealed under a key since rotated away) is skipped.
func (r *Replica) OfficerHits() ([]Hit, error) {
	var out []Hit
	cutoff := r.now().Add(-OfficerKeep)
	err := r.jview(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOfficer)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if v == nil || len(k) != 8 {
				return nil
			}
			plain, err := r.keys().open(bucketOfficer, k, v)
			if err != nil {
				return nil
			}
			var h Hit
			if json.Unmarshal(plain, &h) == nil && h.Time.After(cutoff) {
				out = append(out, h)
			}
			return nil
		})
	})
	return out, err
}

// resealOfficer re-encrypts the officers' keep under ring, at the end of a
// key rotation.
func resealOfficer(tx *bolt.Tx, ks keyset, ring *keyring) error {
	b := tx.Bucket(bucketOfficer)
	if b == nil {
		return nil
	}
	type entry struct{ k, v []byte }
	var todo []entry
	err := b.ForEach(func(k, v []byte) error {
		if v == nil || len(k) != 8 {
			return nil
		}
		if g, _ := sealedGen(v); g == ring.gen {
			return nil
		}
		plain, err := ks.open(bucketOfficer, k, v)
		if err != nil {
			return nil // lost to an earlier rotation: OfficerHits skips it
		}
		nv, err := ring.seal(bucketOfficer, k, plain)
		if err != nil {
			return err
		}
		todo = append(todo, entry{bytes.Clone(k), nv})
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range todo {
		if err := b.Put(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

// bucketFalse is nested in bucketOfficer: the post's memory of false
// matches, keyed by the keyed reference of the value read, the alert and
// its version (none of them personal data), so that the agent loads it
// at start without reading the audit log.
var bucketFalse = []byte("false_matches")

// FalseMatch is the post's memory that a value read (Ref, a keyed
// reference from Ref) is not the subject of an alert version: an officer
// recorded a false match at Time.
type FalseMatch struct {
	Ref     string    `json:"ref"`
	AlertID string    `json:"alert_id"`
	Version uint64    `json:"version"`
	Officer string    `json:"officer"`
	Time    time.Time `json:"time"`
}

func (f FalseMatch) key() []byte {
	return fmt.Appendf(nil, "%s\x00%s\x00%d", f.Ref, f.AlertID, f.Version)
}

// RememberFalseMatch keeps f (forget false) or removes it (forget true),
// with its audit record, in one transaction. f.Time is set to the audit
// record's time.
func (r *Replica) RememberFalseMatch(ctx context.Context, f FalseMatch, forget bool, rec AuditRecord) error {
	if f.Ref == "" || f.AlertID == "" {
		return fmt.Errorf("remember false match: %w: reference and alert are required", ErrInvalidAlert)
	}
	return r.jupdate(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketOfficer)
		if err != nil {
			return err
		}
		fb, err := b.CreateBucketIfNotExists(bucketFalse)
		if err != nil {
			return err
		}
		if forget {
			if err := fb.Delete(f.key()); err != nil {
				return err
			}
		} else {
			f.Time = r.now().UTC()
			v, err := json.Marshal(f)
			if err != nil {
				return err
			}
			if err := fb.Put(f.key(), v); err != nil {
				return err
			}
		}
		return r.appendJournalAudit(tx, rec)
	})
}

// FalseMatches calls fn for every remembered false match.
func (r *Replica) FalseMatches(fn func(FalseMatch)) error {
	return r.jview(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOfficer)
		if b == nil {
			return nil
		}
		fb := b.Bucket(bucketFalse)
		if fb == nil {
			return nil
		}
		return fb.ForEach(func(_, v []byte) error {
			var f FalseMatch
			if json.Unmarshal(v, &f) == nil {
				fn(f)
			}
			return nil
		})
	})
}
