package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FormatVersion is the replica file format this code writes. A file of a
// newer format is refused rather than misread.
const FormatVersion = 1

// Bucket names. They say what a bucket holds, never whose data.
var (
	bucketMeta   = []byte("meta")
	bucketAlerts = []byte("alerts")
	bucketOutbox = []byte("outbox")
	bucketAudit  = []byte("audit")
)

// Keys in the meta bucket.
var (
	metaFormat   = []byte("format")
	metaSalt     = []byte("salt")
	metaKeyCheck = []byte("keycheck")
	metaKeyGen   = []byte("keygen")
	metaCursor   = []byte("cursor")
	metaOutboxN  = []byte("outbox_n")
	metaAudit    = []byte("audit_head")
)

// Options tune Open. The zero value is usable.
type Options struct {
	// LockTimeout bounds the wait for another process holding the file.
	LockTimeout time.Duration
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Replica is the post's encrypted bbolt database. It is safe for concurrent
// use; Close it once when done.
type Replica struct {
	db   *bolt.DB
	keys *keyring
	log  *slog.Logger
	now  func() time.Time
}

// Open opens or creates the replica at path, asking kp for the data key. It
// fails, and opens nothing, when there is no key, when the key is not the
// one the file was created with, or when the file has a newer format.
func Open(ctx context.Context, path string, kp KeyProvider, opt Options) (*Replica, error) {
	if kp == nil {
		return nil, fmt.Errorf("%w: no key provider configured (set store.key in the configuration)", ErrNoKey)
	}
	key, err := kp.DataKey(ctx)
	if err != nil {
		if !errors.Is(err, ErrNoKey) {
			err = fmt.Errorf("%w: %w", ErrNoKey, err)
		}
		return nil, err
	}
	if opt.LockTimeout == 0 {
		opt.LockTimeout = 5 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         opt.LockTimeout,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: 64 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("open replica %s: %w (is another borderpost running?)", path, err)
	}
	r := &Replica{db: db, log: opt.Logger, now: opt.Now}
	if err := r.init(key); err != nil {
		db.Close()
		return nil, err
	}
	// Batch groups concurrent checks into one fsync; a short delay keeps a
	// lone check fast.
	db.MaxBatchDelay = 2 * time.Millisecond
	return r, nil
}

// init creates the buckets of a new file or checks an existing one, and
// derives the keys.
func (r *Replica) init(key []byte) error {
	return r.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketAlerts, bucketOutbox, bucketAudit} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if f := meta.Get(metaFormat); f != nil {
			if v := binary.BigEndian.Uint32(f); v > FormatVersion {
				return fmt.Errorf("%w: file format %d, this borderpost reads up to %d: upgrade borderpost", ErrFormat, v, FormatVersion)
			}
		} else {
			salt := make([]byte, 32)
			if _, err := rand.Read(salt); err != nil {
				return err
			}
			if err := meta.Put(metaFormat, u32(FormatVersion)); err != nil {
				return err
			}
			if err := meta.Put(metaSalt, salt); err != nil {
				return err
			}
			if err := meta.Put(metaKeyGen, u32(1)); err != nil {
				return err
			}
		}
		gen := binary.BigEndian.Uint32(meta.Get(metaKeyGen))
		k, err := newKeyring(key, meta.Get(metaSalt), gen)
		if err != nil {
			return err
		}
		check := k.recordKey("keycheck", "borderpost")
		if stored := meta.Get(metaKeyCheck); stored == nil {
			if err := meta.Put(metaKeyCheck, check); err != nil {
				return err
			}
		} else if !hmac.Equal(stored, check) {
			return fmt.Errorf("%w: this replica was created with another key; restore the right key, or move the replica aside and let the agent fetch a fresh snapshot", ErrWrongKey)
		}
		r.keys = k
		return nil
	})
}

// Close closes the database file.
func (r *Replica) Close() error { return r.db.Close() }

// Path returns the file the replica lives in.
func (r *Replica) Path() string { return r.db.Path() }

// Cursor is the position of the replica in central's stream of changes.
type Cursor struct {
	Epoch  uint64    `json:"epoch"`
	Seq    uint64    `json:"seq"`
	Hash   [32]byte  `json:"hash"`   // hash of the last applied change
	Digest Digest    `json:"digest"` // digest of the alert set
	At     time.Time `json:"at"`     // when the last change was applied
}

// Cursor returns the replica's current position.
func (r *Replica) Cursor() (Cursor, error) {
	var c Cursor
	err := r.db.View(func(tx *bolt.Tx) error {
		var err error
		c, err = readCursor(tx)
		return err
	})
	return c, err
}

func readCursor(tx *bolt.Tx) (Cursor, error) {
	var c Cursor
	b := tx.Bucket(bucketMeta).Get(metaCursor)
	if b == nil {
		return c, nil
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%w: cursor: %w", ErrCorrupt, err)
	}
	return c, nil
}

// Change is one delta from central, already verified by its signature: it
// moves the replica from (Epoch, Seq-1, PrevHash) to (Epoch, Seq, Hash) and
// must leave it with Digest.
type Change struct {
	Epoch    uint64
	Seq      uint64
	PrevHash [32]byte
	Hash     [32]byte
	Digest   Digest
	Upserts  []Alert
	Deletes  []string
}

// Apply applies a change and moves the cursor, in one transaction. It
// returns ErrReplay, ErrGap, ErrEpoch or ErrChain when the change does not
// follow the replica's cursor, and ErrDigest when the resulting alert set
// differs from central's; in every error case nothing is written except
// the audit record of the refusal.
func (r *Replica) Apply(ctx context.Context, ch Change) error {
	err := r.db.Update(func(tx *bolt.Tx) error {
		cur, err := readCursor(tx)
		if err != nil {
			return err
		}
		if err := follows(cur, ch); err != nil {
			return err
		}
		alerts := tx.Bucket(bucketAlerts)
		d := cur.Digest
		for i := range ch.Upserts {
			a := &ch.Upserts[i]
			if err := a.Validate(); err != nil {
				return err
			}
			if err := r.putAlert(alerts, a, &d); err != nil {
				return err
			}
		}
		for _, id := range ch.Deletes {
			if err := r.deleteAlert(alerts, id, &d); err != nil {
				return err
			}
		}
		if d != ch.Digest {
			return fmt.Errorf("%w: change %d/%d announces %s, replica would hold %s; the agent will ask central for a snapshot", ErrDigest, ch.Epoch, ch.Seq, ch.Digest, d)
		}
		next := Cursor{Epoch: ch.Epoch, Seq: ch.Seq, Hash: ch.Hash, Digest: d, At: r.now().UTC()}
		b, err := json.Marshal(next)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketMeta).Put(metaCursor, b); err != nil {
			return err
		}
		return r.appendAudit(tx, AuditRecord{Event: EventDeltaApplied, Ref: fmt.Sprintf("%d/%d", ch.Epoch, ch.Seq),
			Detail: fmt.Sprintf("%d upserts, %d deletes", len(ch.Upserts), len(ch.Deletes))})
	})
	if err != nil {
		r.auditRefusal(ch, err)
	}
	return err
}

// auditRefusal records a refused change in its own transaction, since the
// one that refused it was rolled back.
func (r *Replica) auditRefusal(ch Change, cause error) {
	if errors.Is(cause, bolt.ErrDatabaseNotOpen) {
		return
	}
	err := r.Audit(context.Background(), AuditRecord{Event: EventDeltaRefused, Ref: fmt.Sprintf("%d/%d", ch.Epoch, ch.Seq), Detail: cause.Error()})
	if err != nil {
		r.log.Error("audit refused change", "err", err)
	}
}

// follows checks that ch is the next change after cur.
func follows(cur Cursor, ch Change) error {
	fresh := cur.Epoch == 0 && cur.Seq == 0
	switch {
	case fresh && ch.Seq == 1 && ch.PrevHash == [32]byte{}:
		return nil
	case fresh:
		return fmt.Errorf("%w: empty replica cannot start at %d/%d", ErrGap, ch.Epoch, ch.Seq)
	case ch.Epoch != cur.Epoch:
		return fmt.Errorf("%w: replica at epoch %d, change at %d", ErrEpoch, cur.Epoch, ch.Epoch)
	case ch.Seq <= cur.Seq:
		return fmt.Errorf("%w: replica at %d, change %d", ErrReplay, cur.Seq, ch.Seq)
	case ch.Seq > cur.Seq+1:
		return fmt.Errorf("%w: replica at %d, change %d", ErrGap, cur.Seq, ch.Seq)
	case ch.PrevHash != cur.Hash:
		return fmt.Errorf("%w: change %d names a previous change the replica did not apply", ErrChain, ch.Seq)
	}
	return nil
}

func (r *Replica) putAlert(b *bolt.Bucket, a *Alert, d *Digest) error {
	k := r.keys.recordKey("alert", a.ID)
	if old := b.Get(k); old != nil {
		prev, err := r.decodeAlert(k, old)
		if err != nil {
			return err
		}
		d.Remove(prev.ID, prev.Version)
	}
	plain, err := json.Marshal(a)
	if err != nil {
		return err
	}
	v, err := r.keys.seal(bucketAlerts, k, plain)
	if err != nil {
		return err
	}
	d.Add(a.ID, a.Version)
	return b.Put(k, v)
}

func (r *Replica) deleteAlert(b *bolt.Bucket, id string, d *Digest) error {
	k := r.keys.recordKey("alert", id)
	old := b.Get(k)
	if old == nil {
		return nil // deleting what is not held is a no-op, as central intends
	}
	prev, err := r.decodeAlert(k, old)
	if err != nil {
		return err
	}
	d.Remove(prev.ID, prev.Version)
	return b.Delete(k)
}

func (r *Replica) decodeAlert(k, v []byte) (Alert, error) {
	var a Alert
	plain, err := r.keys.open(bucketAlerts, k, v)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(plain, &a); err != nil {
		return a, fmt.Errorf("%w: alert: %w", ErrCorrupt, err)
	}
	return a, nil
}

// Alert returns the alert with the given ID, and false if none is held.
func (r *Replica) Alert(id string) (Alert, bool, error) {
	var a Alert
	var found bool
	err := r.db.View(func(tx *bolt.Tx) error {
		k := r.keys.recordKey("alert", id)
		v := tx.Bucket(bucketAlerts).Get(k)
		if v == nil {
			return nil
		}
		var err error
		a, err = r.decodeAlert(k, v)
		found = err == nil
		return err
	})
	return a, found, err
}

// Alerts calls fn for every alert held, in no particular order, inside one
// read transaction. It stops at the first error fn returns.
func (r *Replica) Alerts(ctx context.Context, fn func(Alert) error) error {
	return r.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAlerts).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			a, err := r.decodeAlert(k, v)
			if err != nil {
				return err
			}
			if err := fn(a); err != nil {
				return err
			}
		}
		return nil
	})
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
