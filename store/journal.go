package store

import (
	"bytes"
	"cmp"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// The journal is a second bbolt file beside the replica (JournalPath) that
// holds what checks write: the audit log, the outbox of hits and outcomes
// for central, and the hits kept for the officers' page. A check's group
// commit is a transaction of this small file only, so it never waits for
// the alert set's writer (a delta's chunk, a snapshot's switch, a key
// rotation's copy), and it writes a few pages of a file of megabytes, not
// random pages of one of gigabytes.
//
// The journal is bound to its replica: its meta holds the replica's salt,
// which no other replica shares, and its values are sealed with the
// replica's keyrings, so a journal is refused beside another replica and
// is unreadable without the replica's key. A replica of format 4 records
// that its journal exists (metaJournal); if the file is then missing,
// Open fails rather than start an empty outbox that would lose hits.
//
// Audit records of events the replica writes in its own transactions (a
// change applied, a snapshot switched in, a rotation, an expiry purge)
// are written after commit with a resume rule: the transaction puts the
// sealed record in the replica's audit queue (bucketAuditQueue), and once
// it has committed the record is appended to the journal's log, which
// records the last queue sequence it took (metaQueueDone). After a kill
// in between, Open moves what the queue holds. Records the journal holds
// are deleted from the queue by the next transaction that queues one.

// JournalFormat is the journal file format this code writes.
const JournalFormat = 1

var (
	// bucketAuditQueue (replica) holds audit records written in replica
	// transactions until the journal's log holds them.
	bucketAuditQueue = []byte("audit_queue")
	// metaJournal (replica meta) marks that the journal was created and
	// bound: from then on a missing journal is an error.
	metaJournal = []byte("journal")
	// metaQueueDone (journal meta) is the last audit queue sequence the
	// log holds.
	metaQueueDone = []byte("audit_queue_done")
	// metaJournalRetired (replica meta, prefix) holds the value keys of
	// key generations a rotation left, sealed under the new key, until
	// the journal is re-sealed: a kill in between must not leave outbox
	// entries no key opens.
	metaJournalRetired = []byte("journal_retired.")
)

// journalMoved are the replica meta keys that move to the journal's meta
// with the buckets, when a single-file replica is upgraded.
var journalMoved = [][]byte{metaOutboxN, metaAudit, metaAuditAnchor, metaAuditKeyed, metaAuditHeadTag}

// journalBuckets are the buckets the journal holds.
var journalBuckets = [][]byte{bucketOutbox, bucketAudit, bucketOfficer}

// JournalPath is the journal file of the replica at path.
func JournalPath(path string) string { return path + ".journal" }

// openJournal opens (or creates, or fills from a single-file replica) the
// journal beside the replica, checks that it is this replica's, finishes
// the re-seal a rotation left and moves the audit queue into it.
func (r *Replica) openJournal(opt Options) error {
	path := JournalPath(r.db.Path())
	var bound, legacy bool
	err := r.db.View(func(tx *bolt.Tx) error {
		bound = tx.Bucket(bucketMeta).Get(metaJournal) != nil
		legacy = tx.Bucket(bucketAudit) != nil
		return nil
	})
	if err != nil {
		return err
	}
	_, statErr := os.Stat(path)
	exists := statErr == nil
	if bound && !exists {
		return fmt.Errorf("%w: %s is missing, and with it the audit log and the hits not yet sent to central: restore it from the backup taken with the replica, or run `borderpost replica rebuild --force` to start both afresh", ErrJournal, path)
	}
	if exists {
		if err := verifyFile(path, opt.LockTimeout); err != nil {
			return err
		}
	}
	j, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("open journal %s: %w (is another borderpost running?)", path, err)
	}
	r.j = j
	if legacy {
		err = r.moveIntoJournal()
	} else {
		err = r.bindJournal(bound)
	}
	if err == nil {
		err = r.openWAL(cmp.Or(opt.WALSize, DefaultWALSize))
	}
	// What follows finishes work a kill interrupted; the keys it needs are
	// loaded and the records stay queued, so on a full disk it waits for
	// the next start rather than keep the agent from starting.
	for _, step := range []func() error{r.resealJournal, r.moveAuditQueue, r.trimAuditQueue} {
		if err != nil {
			break
		}
		if err = step(); errors.Is(err, syscall.ENOSPC) {
			r.log.Warn("disk full: the journal's pending work waits for the next start", "journal", path, "err", err)
			err = nil
		}
	}
	if err != nil {
		r.closeWAL()
		r.j = nil
		j.Close()
		return err
	}
	return nil
}

// bindJournal checks that the journal is this replica's, or lays out a new
// one and marks the replica. An existing journal is only read: an agent
// must start on a full disk.
func (r *Replica) bindJournal(bound bool) error {
	laid := false
	err := r.j.View(func(jtx *bolt.Tx) error {
		meta := jtx.Bucket(bucketMeta)
		if meta == nil || meta.Get(metaSalt) == nil {
			return nil
		}
		laid = true
		if !bytes.Equal(meta.Get(metaSalt), r.salt) {
			return fmt.Errorf("%w: %s belongs to another replica: move it aside with its replica (it may hold hits not yet sent), or put this replica's journal back", ErrJournal, r.j.Path())
		}
		if f := meta.Get(metaFormat); len(f) != 4 || binary.BigEndian.Uint32(f) > JournalFormat {
			return fmt.Errorf("%w: journal %s has format %x, this borderpost reads up to %d: upgrade borderpost", ErrFormat, r.j.Path(), f, JournalFormat)
		}
		if meta.Get(metaAuditKeyed) == nil {
			return damaged(r.j.Path(), fmt.Errorf("%w: the audit log's seal record is missing", ErrAuditChain))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !laid {
		if bound {
			return fmt.Errorf("%w: %s is empty but the replica's audit log and outbox were in it: restore it from the backup taken with the replica", ErrJournal, r.j.Path())
		}
		err = r.j.Update(func(jtx *bolt.Tx) error {
			if err := layoutJournal(jtx); err != nil {
				return err
			}
			return r.stampJournal(jtx)
		})
		if err != nil {
			return fmt.Errorf("create the journal %s: %w", r.j.Path(), err)
		}
	}
	if bound {
		return nil
	}
	return r.markJournal(nil)
}

// layoutJournal creates the journal's buckets.
func layoutJournal(jtx *bolt.Tx) error {
	for _, b := range append([][]byte{bucketMeta}, journalBuckets...) {
		if _, err := jtx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	return nil
}

// stampJournal writes the journal's format, its binding to the replica
// (the salt) and a copy of the active key's check value, so that the
// journal alone tells which key opens it (SalvageOutbox).
func (r *Replica) stampJournal(jtx *bolt.Tx) error {
	ring := r.journalRing()
	meta := jtx.Bucket(bucketMeta)
	c := meta.Cursor()
	var old [][]byte
	for k, _ := c.Seek([]byte("keycheck.")); k != nil && bytes.HasPrefix(k, []byte("keycheck.")); k, _ = c.Next() {
		old = append(old, bytes.Clone(k))
	}
	for _, k := range old {
		if err := meta.Delete(k); err != nil {
			return err
		}
	}
	for _, kv := range [][2][]byte{{metaFormat, u32(JournalFormat)}, {metaSalt, r.salt}, {keyCheckName(ring.gen), ring.check()}, {metaAuditKeyed, {1}}} {
		if err := meta.Put(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// markJournal records in the replica that its journal exists, moves it to
// format 4 and runs more, if given, in the same transaction.
func (r *Replica) markJournal(more func(*bolt.Tx) error) error {
	return r.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(metaJournal, []byte{1}); err != nil {
			return err
		}
		if err := meta.Put(metaFormat, u32(FormatVersion)); err != nil {
			return err
		}
		if more != nil {
			return more(tx)
		}
		return nil
	})
}

// moveIntoJournal upgrades a single-file replica: it copies its outbox,
// audit log and officers' keep with their meta keys into the journal in
// one journal transaction, then deletes them from the replica and marks it
// in one replica transaction. A kill between the two leaves the replica
// as it was, and the next Open copies again over the journal, which then
// holds that same copy: until the replica is marked, nothing else writes
// the journal. A journal that holds anything else (another replica's, or
// records written after an upgrade this file was since restored from
// before) is refused, never overwritten.
func (r *Replica) moveIntoJournal() error {
	err := r.db.View(func(tx *bolt.Tx) error {
		return r.j.View(func(jtx *bolt.Tx) error {
			meta := jtx.Bucket(bucketMeta)
			if meta == nil || meta.Get(metaSalt) == nil {
				return nil // new, or a kill before its first commit
			}
			if !bytes.Equal(meta.Get(metaSalt), r.salt) {
				return fmt.Errorf("%w: %s belongs to another replica: move it aside (it may hold hits not yet sent) before this replica is upgraded", ErrJournal, r.j.Path())
			}
			for _, name := range journalBuckets {
				var mine, theirs uint64
				if b := tx.Bucket(name); b != nil {
					mine = b.Sequence()
				}
				if b := jtx.Bucket(name); b != nil {
					theirs = b.Sequence()
				}
				if mine != theirs {
					return fmt.Errorf("%w: %s holds %s records the replica file does not (the file was restored from a copy older than its journal): put back the replica file that goes with it, or move the journal aside", ErrJournal, r.j.Path(), name)
				}
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	err = r.db.View(func(tx *bolt.Tx) error {
		return r.j.Update(func(jtx *bolt.Tx) error {
			for _, b := range append([][]byte{bucketMeta}, journalBuckets...) {
				if jtx.Bucket(b) != nil {
					if err := jtx.DeleteBucket(b); err != nil {
						return err
					}
				}
			}
			if err := layoutJournal(jtx); err != nil {
				return err
			}
			for _, name := range journalBuckets {
				if src := tx.Bucket(name); src != nil {
					if err := copyBucket(src, jtx.Bucket(name)); err != nil {
						return fmt.Errorf("copy %s into the journal: %w", name, err)
					}
				}
			}
			meta, jmeta := tx.Bucket(bucketMeta), jtx.Bucket(bucketMeta)
			for _, k := range journalMoved {
				if v := meta.Get(k); v != nil {
					if err := jmeta.Put(k, bytes.Clone(v)); err != nil {
						return err
					}
				}
			}
			return r.stampJournal(jtx)
		})
	})
	if err != nil {
		return fmt.Errorf("move the audit log and outbox into the journal: %w", err)
	}
	err = r.markJournal(func(tx *bolt.Tx) error {
		for _, b := range journalBuckets {
			if tx.Bucket(b) != nil {
				if err := tx.DeleteBucket(b); err != nil {
					return err
				}
			}
		}
		meta := tx.Bucket(bucketMeta)
		for _, k := range journalMoved {
			if err := meta.Delete(k); err != nil {
				return err
			}
		}
		// The moved pages are free space until the file is rewritten.
		return meta.Put(metaCompact, []byte{1})
	})
	if err != nil {
		return fmt.Errorf("move the audit log and outbox into the journal: %w", err)
	}
	r.log.Info("audit log and outbox moved into the journal", "journal", r.j.Path())
	return nil
}

// copyBucket copies src, nested buckets and sequence included, into dst.
func copyBucket(src, dst *bolt.Bucket) error {
	dst.FillPercent = 1
	if err := dst.SetSequence(src.Sequence()); err != nil {
		return err
	}
	return src.ForEach(func(k, v []byte) error {
		if v != nil {
			return dst.Put(bytes.Clone(k), bytes.Clone(v))
		}
		nd, err := dst.CreateBucket(bytes.Clone(k))
		if err != nil {
			return err
		}
		return copyBucket(src.Bucket(k), nd)
	})
}

// journalRing is the keyring that seals new journal values: the active
// key generation's.
func (r *Replica) journalRing() *keyring { return r.active.Load() }

// jupdate runs a synced write transaction of the journal.
//
// With the journal's log (wal.go) it holds the log and waits for the
// mover to move everything first: the journal then only ever holds a
// prefix of the log, and the outbox takes sequences in order. It fails
// while the mover does, since what it writes would come before what the
// mover has yet to write.
func (r *Replica) jupdate(fn func(*bolt.Tx) error) error {
	w := r.wal
	if w == nil {
		return r.j.Update(fn)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.settleAll()
	if err := w.failing(); err != nil {
		return fmt.Errorf("the journal cannot take its log's entries yet: %w", err)
	}
	return r.j.Update(func(tx *bolt.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		w.outboxNext = max(w.outboxNext, tx.Bucket(bucketOutbox).Sequence()+1)
		return nil
	})
}

// jview runs a read transaction of the journal once it holds every check
// answered so far, or the log's mover is failing: a reader then reads the
// prefix the journal holds (wal.go).
func (r *Replica) jview(fn func(*bolt.Tx) error) error {
	if w := r.wal; w != nil {
		w.settleAll()
	}
	return r.j.View(fn)
}

// appendAudit queues rec, inside the replica transaction tx, for the
// journal's audit log, which takes it once tx has committed (see above).
// Records the log already holds are dropped from the queue here.
func (r *Replica) appendAudit(tx *bolt.Tx, rec AuditRecord) error {
	ring, err := r.activeRing(tx)
	if err != nil {
		return err
	}
	rec.Time = r.now().UTC()
	b, err := tx.CreateBucketIfNotExists(bucketAuditQueue)
	if err != nil {
		return err
	}
	if done := r.queueDone.Load(); done > 0 {
		c := b.Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= done; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	plain, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	k := u64(seq)
	v, err := ring.seal(bucketAuditQueue, k, plain)
	if err != nil {
		return err
	}
	if err := b.Put(k, v); err != nil {
		return err
	}
	tx.OnCommit(func() {
		if err := r.moveAuditQueue(); err != nil {
			r.log.Error("audit record kept in the replica's queue; it moves to the journal at the next record or start", "err", err)
		}
	})
	return nil
}

// moveAuditQueue appends the queued audit records the journal's log does
// not hold yet, in order, and records the last one taken.
func (r *Replica) moveAuditQueue() error {
	if r.j == nil {
		return nil // Open moves them once the journal is open
	}
	r.queueMu.Lock()
	defer r.queueMu.Unlock()
	type queued struct {
		seq uint64
		rec AuditRecord
	}
	var todo []queued
	done := r.queueDone.Load()
	err := r.jview(func(jtx *bolt.Tx) error {
		if v := jtx.Bucket(bucketMeta).Get(metaQueueDone); len(v) == 8 {
			done = max(done, binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = r.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAuditQueue)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(u64(done + 1)); k != nil; k, v = c.Next() {
			plain, err := r.keys().open(bucketAuditQueue, k, v)
			if err != nil {
				return fmt.Errorf("queued audit record %d: %w", binary.BigEndian.Uint64(k), err)
			}
			var rec AuditRecord
			if err := json.Unmarshal(plain, &rec); err != nil {
				return fmt.Errorf("%w: queued audit record %d: %w", ErrCorrupt, binary.BigEndian.Uint64(k), err)
			}
			todo = append(todo, queued{binary.BigEndian.Uint64(k), rec})
		}
		return nil
	})
	if err != nil || len(todo) == 0 {
		r.queueDone.Store(done)
		return err
	}
	err = r.jupdate(func(jtx *bolt.Tx) error {
		ring := r.journalRing()
		prev := string(jtx.Bucket(bucketMeta).Get(metaAudit))
		var seq uint64
		for _, q := range todo {
			var err error
			if seq, prev, err = putAudit(jtx, ring, q.rec, prev); err != nil {
				return err
			}
		}
		if err := setAuditHead(jtx, ring, seq, prev); err != nil {
			return err
		}
		return jtx.Bucket(bucketMeta).Put(metaQueueDone, u64(todo[len(todo)-1].seq))
	})
	if err != nil {
		return err
	}
	r.queueDone.Store(todo[len(todo)-1].seq)
	return nil
}

// trimAuditQueue deletes from the replica's queue the records the journal
// holds, at Open.
func (r *Replica) trimAuditQueue() error {
	done := r.queueDone.Load()
	held := false
	r.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketAuditQueue); b != nil {
			k, _ := b.Cursor().First()
			held = k != nil && binary.BigEndian.Uint64(k) <= done
		}
		return nil
	})
	if !held {
		return nil
	}
	return r.update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAuditQueue).Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= done; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// retireForJournal keeps, inside the transaction that finishes a rotation
// to next, the value keys of every other loaded generation sealed under
// next, so that the journal's entries still open until resealJournal has
// moved them to next.
func (r *Replica) retireForJournal(tx *bolt.Tx, next *keyring) error {
	meta := tx.Bucket(bucketMeta)
	for g, k := range r.keys() {
		if g == next.gen || k.enc == nil {
			continue
		}
		name := fmt.Appendf(bytes.Clone(metaJournalRetired), "%d", g)
		v, err := next.seal(bucketMeta, name, k.enc)
		if err != nil {
			return err
		}
		if err := meta.Put(name, v); err != nil {
			return err
		}
	}
	return nil
}

// loadRetired makes the keys retireForJournal kept usable again, at Open.
func (r *Replica) loadRetired(tx *bolt.Tx, ring *keyring) error {
	c := tx.Bucket(bucketMeta).Cursor()
	for k, v := c.Seek(metaJournalRetired); k != nil && bytes.HasPrefix(k, metaJournalRetired); k, v = c.Next() {
		gen, err := strconv.ParseUint(string(k[len(metaJournalRetired):]), 10, 32)
		if err != nil || uint32(gen) == ring.gen {
			continue
		}
		enc, err := ring.open(bucketMeta, k, v)
		if err != nil {
			return fmt.Errorf("%w: the key of generation %d kept for the journal does not open: %w", ErrCorrupt, gen, err)
		}
		old, err := retiredKeyring(enc, uint32(gen))
		if err != nil {
			return err
		}
		r.addRing(old)
	}
	return nil
}

// retiredKeyring is a keyring that only opens values sealed under enc,
// a value key a rotation retired: the journal's, until they are re-sealed.
func retiredKeyring(enc []byte, gen uint32) (*keyring, error) {
	if len(enc) != 32 {
		return nil, fmt.Errorf("%w: retired value key of generation %d is %d bytes", ErrCorrupt, gen, len(enc))
	}
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &keyring{aead: aead, gen: gen, enc: enc}, nil
}

// resealJournal re-seals the outbox and officers' keep under the active
// key generation when a rotation left entries under another, then drops
// the keys kept for them. Run after a rotation's switch and at Open.
func (r *Replica) resealJournal() error {
	var retired [][]byte
	r.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketMeta).Cursor()
		for k, _ := c.Seek(metaJournalRetired); k != nil && bytes.HasPrefix(k, metaJournalRetired); k, _ = c.Next() {
			retired = append(retired, bytes.Clone(k))
		}
		return nil
	})
	if len(retired) == 0 {
		return nil
	}
	ring := r.journalRing()
	n := 0
	err := r.jupdate(func(jtx *bolt.Tx) error {
		var err error
		if n, err = resealOutbox(jtx, r.keys(), ring); err != nil {
			return fmt.Errorf("re-seal outbox: %w", err)
		}
		if err := resealOfficer(jtx, r.keys(), ring); err != nil {
			return fmt.Errorf("re-seal the hits kept for officers: %w", err)
		}
		return r.stampJournal(jtx)
	})
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	err = r.update(func(tx *bolt.Tx) error {
		for _, k := range retired {
			if err := tx.Bucket(bucketMeta).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.log.Info("journal re-sealed under the new key", "outbox_entries", n, "generation", ring.gen)
	return nil
}
