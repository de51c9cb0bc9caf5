package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// snapshotRecord is the meta record of a snapshot being loaded. Its
// presence at Open means the load was interrupted: the generation is
// dropped.
type snapshotRecord struct {
	Gen   uint64   `json:"gen"`
	Epoch uint64   `json:"epoch"`
	Seq   uint64   `json:"seq"`
	Hash  [32]byte `json:"hash"`
}

// Snapshot loads a complete alert set from central into a fresh
// generation beside the active one. Nothing it writes is visible until
// Commit verifies the digest and switches to it. A Snapshot is used by one
// goroutine; it holds the replica's rotation/snapshot slot until Commit or
// Abort.
type Snapshot struct {
	r      *Replica
	ring   *keyring
	load   bulkLoader
	rec    snapshotRecord
	digest Digest
	count  int
	done   bool
}

// BeginSnapshot starts loading the alert set central describes as (epoch,
// seq, hash): the replica's cursor once the snapshot commits. It returns
// ErrBusy while a key rotation, another snapshot or a delta applied in
// chunks is in progress. Checks keep reading the active generation until
// Commit, which also ends a change applied in part (pending.go).
func (r *Replica) BeginSnapshot(epoch, seq uint64, hash [32]byte) (*Snapshot, error) {
	if !r.op.TryLock() {
		return nil, fmt.Errorf("%w: a key rotation, snapshot or delta applied in chunks is running", ErrBusy)
	}
	s := &Snapshot{r: r, rec: snapshotRecord{Epoch: epoch, Seq: seq, Hash: hash}}
	err := r.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta.Get(metaRotation) != nil {
			return fmt.Errorf("%w: a key rotation is pending; finish it first", ErrBusy)
		}
		if prev := meta.Get(metaSnapshot); prev != nil {
			// Left by an Abort that failed to write: drop it now.
			if err := r.dropSnapshot(tx); err != nil {
				return err
			}
		}
		g, err := createGeneration(tx)
		if err != nil {
			return err
		}
		s.rec.Gen = g.num
		if s.ring, err = r.activeRing(tx); err != nil {
			return err
		}
		s.load.dir = runDir(r.Path(), g.num)
		b, err := json.Marshal(s.rec)
		if err != nil {
			return err
		}
		return meta.Put(metaSnapshot, b)
	})
	if err != nil {
		r.op.Unlock()
		return nil, fmt.Errorf("begin snapshot: %w", err)
	}
	return s, nil
}

// Count returns the number of alerts added so far.
func (s *Snapshot) Count() int { return s.count }

// Digest returns the digest of the alerts added so far.
func (s *Snapshot) Digest() Digest { return s.digest }

// Add seals a chunk of alerts for the snapshot. Nothing reaches the
// database before Commit: the sealed entries are sorted (in runs beside
// the database file when they outgrow memory) so Commit can insert them in
// key order. An alert already expired is kept as a tombstone only. An
// invalid alert fails the chunk, and the snapshot should then be aborted;
// an ID given twice fails the Commit.
func (s *Snapshot) Add(ctx context.Context, alerts []Alert) error {
	if s.done {
		return ErrSnapshotDone
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for i := range alerts {
		if err := alerts[i].Validate(); err != nil {
			return err
		}
	}
	now := s.r.now()
	var buf []byte
	for i := range alerts {
		a := &alerts[i]
		k := s.ring.recordKey("alert", a.ID)
		sk := make([]byte, 0, 34)
		sk = append(append(append(sk, sortAlert), k...), subAlert)
		var v []byte
		var err error
		if a.Expired(now) {
			sk[33] = subTomb
			v, err = sealTomb(s.ring, k, tombstone{ID: a.ID, Version: a.Version, Expires: a.Expires})
		} else {
			buf = encodeAlert(buf[:0], a)
			v, err = s.ring.seal(bucketAlerts, k, buf)
		}
		if err != nil {
			return err
		}
		if err := s.load.add(sk, v); err != nil {
			return err
		}
		if !a.Expired(now) && !a.Expires.IsZero() {
			if err := s.load.add(append([]byte{sortExpiry}, expiryKey(a.Expires, k)...), nil); err != nil {
				return err
			}
		}
		if !a.Expired(now) && s.r.terms != nil {
			// One index entry per (term, alert), in key order after the sort.
			g := generation{termsOf: s.r.terms, termRing: s.ring}
			for _, tk := range g.termKeys(a) {
				e := make([]byte, 0, 1+termEntryLen)
				if err := s.load.add(append(append(e, sortTerm), termEntry(tk, k)...), nil); err != nil {
					return err
				}
			}
		}
		s.digest.Add(a.ID, a.Version)
		s.count++
	}
	return nil
}

// bulkChunk is the number of entries per insert transaction at Commit.
const bulkChunk = 50000

// bulkFill is how full a sorted load leaves B+tree pages. Not full: the
// keys are HMACs, so a delta's records land on random pages, and a full
// page splits into two half-empty ones at its first insert; at 10 million
// alerts the first 210,000 operations grew a file loaded full from 1.85 to
// 2.88 GB. A tenth left free takes two or three alerts, or eight term
// entries, per page before it splits.
const bulkFill = 0.9

// write inserts the sorted entries into the snapshot's generation, in
// transactions without fsync (Commit syncs before it switches).
func (s *Snapshot) write(ctx context.Context) error {
	m, err := s.load.merge()
	if err != nil {
		return err
	}
	defer m.close()
	var prev []byte
	alerts := 0
	for more := true; more; {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.r.bulkUpdate(func(tx *bolt.Tx) error {
			if err := s.stillOurs(tx); err != nil {
				return err
			}
			g, err := openGeneration(tx, s.rec.Gen)
			if err != nil {
				return err
			}
			// Keys arrive in order: fill pages to bulkFill.
			g.alerts.FillPercent, g.tombs.FillPercent, g.expiry.FillPercent = bulkFill, bulkFill, bulkFill
			if g.terms != nil {
				g.terms.FillPercent = bulkFill
			}
			for range bulkChunk {
				e, ok, err := m.next()
				if err != nil {
					return err
				}
				if !ok {
					more = false
					if s.r.terms == nil || g.terms == nil {
						return nil
					}
					if err := g.terms.Put(termsCountKey, u64(uint64(alerts))); err != nil {
						return err
					}
					return s.r.markTerms(g)
				}
				switch {
				case e.key[0] == sortTerm:
					switch {
					case len(e.key) != 1+termEntryLen:
						err = fmt.Errorf("%w: bad snapshot term entry", ErrCorrupt)
					case g.terms == nil:
						err = fmt.Errorf("%w: snapshot generation lacks its term index", ErrCorrupt)
					default:
						err = g.terms.Put(e.key[1:], []byte{})
					}
				case e.key[0] == sortExpiry:
					err = g.expiry.Put(e.key[1:], []byte{})
				case len(e.key) != 34:
					err = fmt.Errorf("%w: bad snapshot entry", ErrCorrupt)
				case prev != nil && bytes.Equal(prev, e.key[1:33]):
					err = fmt.Errorf("%w: an alert ID appears twice in the snapshot", ErrInvalidAlert)
				case e.key[33] == subTomb:
					prev = e.key[1:33]
					err = g.tombs.Put(e.key[1:33], e.val)
				default:
					prev = e.key[1:33]
					alerts++
					err = g.alerts.Put(e.key[1:33], e.val)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("snapshot load: %w", err)
		}
	}
	return nil
}

func (s *Snapshot) stillOurs(tx *bolt.Tx) error {
	b := tx.Bucket(bucketMeta).Get(metaSnapshot)
	var rec snapshotRecord
	if b == nil || json.Unmarshal(b, &rec) != nil || rec.Gen != s.rec.Gen {
		return ErrSnapshotDone
	}
	return nil
}

// Commit checks that the alerts added have the digest central announced
// and, if so, makes them the active alert set and moves the cursor to the
// snapshot's (epoch, seq, hash), in one synced transaction; the old
// generation is dropped (Compact reclaims its space). On a digest
// mismatch it aborts the snapshot and returns ErrDigest: the active set
// is untouched. Either way the Snapshot is finished.
func (s *Snapshot) Commit(ctx context.Context, digest Digest) error {
	if s.done {
		return ErrSnapshotDone
	}
	ref := fmt.Sprintf("%d/%d", s.rec.Epoch, s.rec.Seq)
	if digest != s.digest {
		err := fmt.Errorf("%w: snapshot %s announces %s, its alerts make %s; the agent will ask central again", ErrDigest, ref, digest, s.digest)
		s.abort(err.Error())
		return err
	}
	if err := s.write(ctx); err != nil {
		s.abort(err.Error())
		return err
	}
	// The entries were written without fsync; make them durable before
	// the switch points at them.
	if err := s.r.db.Sync(); err != nil {
		return fmt.Errorf("sync snapshot: %w", err)
	}
	err := s.r.update(func(tx *bolt.Tx) error {
		if err := s.stillOurs(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		old := binary.BigEndian.Uint64(meta.Get(metaAlertGen))
		cur := Cursor{Epoch: s.rec.Epoch, Seq: s.rec.Seq, Hash: s.rec.Hash, Digest: s.digest, At: s.r.now().UTC()}
		b, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		for _, kv := range [][2][]byte{{metaCursor, b}, {metaAlertGen, u64(s.rec.Gen)}, {metaCompact, []byte{1}}} {
			if err := meta.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
		if err := meta.Delete(metaSnapshot); err != nil {
			return err
		}
		// The new set replaces a change applied in part (pending.go).
		if err := meta.Delete(metaDelta); err != nil {
			return err
		}
		// Dropped here, inside the switch: bbolt reads every page of the
		// set, which a post that served from it holds in its page cache
		// (10M alerts: the switch took no longer). Left stray and dropped
		// in chunks after, it took 62 s of the disk's time more (stray.go).
		if err := dropGeneration(tx, old); err != nil {
			return err
		}
		return s.r.appendAudit(tx, AuditRecord{Event: EventSnapshotApplied, Ref: ref, Detail: fmt.Sprintf("%d alerts", s.count)})
	})
	if err != nil {
		s.abort(err.Error())
		return fmt.Errorf("commit snapshot: %w", err)
	}
	s.finish()
	if err := s.r.keepCompactIfWorth(); err != nil {
		s.r.log.Warn("could not tell whether the replica needs compacting; it will be compacted at the next start", "err", err)
	}
	return nil
}

// compactWorth is the share of the file's pages that must be free for a
// compaction to be worth its copy of the whole file.
const compactWorth = 8 // one in eight

// keepCompactIfWorth clears the mark asking the next start to compact
// the file when the pages free after a snapshot are too few to matter:
// the first snapshot into a new replica drops an empty generation, and
// its sorted load leaves almost nothing behind, so copying the file
// (minutes at a hundred million alerts) would reclaim nothing. bbolt
// reuses free pages for later writes either way.
func (r *Replica) keepCompactIfWorth() error {
	free := r.freePages()
	return r.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta.Get(metaCompact) == nil || r.compactWorthIt(tx, free) {
			return nil
		}
		return meta.Delete(metaCompact)
	})
}

// freePages is how many pages of the file bbolt holds free or about to
// be.
func (r *Replica) freePages() int {
	st := r.db.Stats()
	return st.FreePageN + st.PendingPageN
}

// compactWorthIt says whether free pages are share enough of the file
// in tx for a compaction to be worth its copy.
func (r *Replica) compactWorthIt(tx *bolt.Tx, free int) bool {
	return free*compactWorth >= int(tx.Size()/int64(r.db.Info().PageSize))
}

// Abort drops the snapshot's generation and leaves the active set as it
// was. Aborting a finished snapshot does nothing.
func (s *Snapshot) Abort() error {
	if s.done {
		return nil
	}
	return s.abort("aborted")
}

func (s *Snapshot) abort(why string) error {
	defer s.finish()
	err := s.r.update(func(tx *bolt.Tx) error {
		if s.stillOurs(tx) != nil {
			return nil
		}
		if err := s.r.dropSnapshot(tx); err != nil {
			return err
		}
		return s.r.appendAudit(tx, AuditRecord{Event: EventSnapshotRefused, Ref: fmt.Sprintf("%d/%d", s.rec.Epoch, s.rec.Seq), Detail: why})
	})
	if err != nil {
		s.r.log.Error("abort snapshot", "err", err)
	}
	return err
}

func (s *Snapshot) finish() {
	s.load.remove()
	s.load.buf = nil
	if !s.done {
		s.done = true
		s.r.op.Unlock()
	}
}

// runDir is where a snapshot's sorted runs are spilled.
func runDir(dbPath string, gen uint64) string {
	return fmt.Sprintf("%s.snapshot-%d", dbPath, gen)
}

// dropSnapshot removes the generation of the snapshot being loaded.
func (r *Replica) dropSnapshot(tx *bolt.Tx) error { return r.endSnapshot(tx, true) }

// endSnapshot forgets the snapshot in progress, dropping its generation
// if drop; Open does not (its generation is then stray: stray.go).
func (r *Replica) endSnapshot(tx *bolt.Tx, drop bool) error {
	meta := tx.Bucket(bucketMeta)
	var rec snapshotRecord
	if b := meta.Get(metaSnapshot); b != nil {
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("%w: snapshot record: %w", ErrCorrupt, err)
		}
		if drop && rec.Gen != binary.BigEndian.Uint64(meta.Get(metaAlertGen)) {
			if err := dropGeneration(tx, rec.Gen); err != nil {
				return err
			}
		}
		os.RemoveAll(runDir(r.Path(), rec.Gen))
	}
	if err := meta.Put(metaCompact, []byte{1}); err != nil {
		return err
	}
	return meta.Delete(metaSnapshot)
}

// recoverSnapshot runs at Open: it forgets a snapshot a kill interrupted,
// and lists in r.strays every generation no record names (its partial
// generation among them), for dropStrays once Open returns.
func (r *Replica) recoverSnapshot(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta.Get(metaSnapshot) != nil {
		var rec snapshotRecord
		_ = json.Unmarshal(meta.Get(metaSnapshot), &rec)
		if err := r.endSnapshot(tx, false); err != nil {
			return err
		}
		r.log.Warn("snapshot load was interrupted; its partial alert set is removed in the background", "epoch", rec.Epoch, "seq", rec.Seq)
		if err := r.appendAudit(tx, AuditRecord{Event: EventSnapshotRefused, Ref: fmt.Sprintf("%d/%d", rec.Epoch, rec.Seq),
			Detail: "interrupted; partial generation removed at open"}); err != nil {
			return err
		}
	}
	keep, err := keptGenerations(tx)
	if err != nil {
		return err
	}
	r.strays, err = strayGenerations(tx, keep)
	return err
}
