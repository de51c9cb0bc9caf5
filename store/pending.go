package store

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A large change is applied in chunks, so that checks, whose audit records
// need bbolt's one write transaction, wait for one chunk and not for the
// whole change (docs/architecture.md, "Deltas without stalls"). The change
// is first checked in a read transaction: it must follow the cursor, its
// alerts must be valid, and the digest it leaves, computed from the
// versions held, must be the one central announced; nothing is written
// otherwise. Then a pending record in meta says which change is being
// applied and how far it got; each chunk's transaction applies the next
// operations (upserts in order, then deletes) and moves the record; the
// last one moves the cursor, writes the `delta applied` audit record and
// deletes the pending record. Until then the cursor is the old one, so
// after a kill central sends the same change again and it resumes where
// the record says. Any other change is refused with ErrDigest, so that
// the agent asks for a snapshot, whose Commit deletes the record.

// metaDelta is the meta key of the change being applied in chunks.
var metaDelta = []byte("delta_pending")

// A change of more than deltaOneTx operations is applied in chunks. A
// chunk ends after deltaChunkMax operations or deltaChunkWork of work,
// whichever comes first, or earlier, once it has worked deltaYieldAfter,
// as soon as a check waits to commit its record. What a check waits for
// is the chunk's commit: measured at 1M alerts on the loaded 2-core
// machine, about 40 ms (two fsyncs) and 0.07 ms per operation (each
// dirties random pages of the alert, term and expiry trees), against
// 0.02 ms of work. Fixed chunks of 5,000 held checks for a second; ending
// a chunk within 2 ms of work once a check waits keeps checks' latency
// close to what it is with no delta, and a change with no check waiting
// still takes few transactions. Since checks commit in the journal
// (journal.go), no check waits for a chunk's commit, and the agent's rule
// no longer yields (chunkRule); tests still can.
const (
	deltaOneTx      = 1000
	deltaChunkMax   = 5000
	deltaChunkWork  = 300 * time.Millisecond
	deltaYieldAfter = 2 * time.Millisecond
)

// chunkRule says when a chunk ends.
type chunkRule struct {
	max        int           // operations
	work       time.Duration // 0: no bound
	yieldAfter time.Duration // 0: never yield to waiting checks
}

// chunkRule returns the replica's rule: a fixed size when deltaChunk is
// set (tests), yielding only when deltaYieldAfter is set too.
func (r *Replica) chunkRule() chunkRule {
	if r.deltaChunk > 0 {
		return chunkRule{max: r.deltaChunk, yieldAfter: r.deltaYieldAfter}
	}
	// Checks commit in the journal, not in this file: a chunk's commit
	// no longer holds them, and yielding would only slow the change.
	return chunkRule{max: deltaChunkMax, work: deltaChunkWork}
}

// yieldProcessor lets other runnable goroutines run before this one goes
// on (runtime.Gosched, or the test's yield). A delta's chunk and the
// group commit's leader call it: each can otherwise hold a processor for
// tens of milliseconds (CPU work, or syscalls returning to the same
// processor) while checks that are ready to run wait in its run queue,
// which issue 16 measured as checks stalled 50-180 ms during a large
// delta on 2 cores.
func (r *Replica) yieldProcessor() {
	if r.yield != nil {
		r.yield()
		return
	}
	runtime.Gosched()
}

// checksWaiting reports whether checks wait for the next group commit.
func (r *Replica) checksWaiting() bool {
	q := &r.commits
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)+len(q.acks) > 0
}

// pendingDelta is the meta record of a change partly applied.
type pendingDelta struct {
	Epoch   uint64   `json:"epoch"`
	Seq     uint64   `json:"seq"`
	Hash    [32]byte `json:"hash"`
	Upserts int      `json:"upserts"`
	Deletes int      `json:"deletes"`
	// Digest is the digest the change leaves, computed before the first
	// chunk and equal to the one central announced.
	Digest Digest `json:"digest"`
	// Done counts the operations applied, upserts first; Partial is the
	// digest of the alert set after them.
	Done    int    `json:"done"`
	Partial Digest `json:"partial"`
}

func (p *pendingDelta) total() int { return p.Upserts + p.Deletes }

// is reports whether ch is the change p records.
func (p *pendingDelta) is(ch Change) bool {
	return p.Epoch == ch.Epoch && p.Seq == ch.Seq && p.Hash == ch.Hash && p.Digest == ch.Digest &&
		p.Upserts == len(ch.Upserts) && p.Deletes == len(ch.Deletes)
}

func readPendingDelta(tx *bolt.Tx) (*pendingDelta, error) {
	b := tx.Bucket(bucketMeta).Get(metaDelta)
	if b == nil {
		return nil, nil
	}
	var p pendingDelta
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: pending change record: %w", ErrCorrupt, err)
	}
	return &p, nil
}

func writePendingDelta(tx *bolt.Tx, p *pendingDelta) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(metaDelta, b)
}

// DeltaProgress describes a change partly applied: by a process killed
// between its chunks, or one whose Apply was cancelled.
type DeltaProgress struct {
	Epoch uint64 `json:"epoch"`
	Seq   uint64 `json:"seq"`
	Done  int    `json:"done"`  // operations applied
	Total int    `json:"total"` // operations in the change
}

func (p *pendingDelta) progress() *DeltaProgress {
	if p == nil {
		return nil
	}
	return &DeltaProgress{Epoch: p.Epoch, Seq: p.Seq, Done: p.Done, Total: p.total()}
}

// refusePending is the error for a change other than the one partly
// applied (or, inside a transaction that found a pending record, for any
// change a single transaction would apply).
func refusePending(p *pendingDelta, ch Change) error {
	return fmt.Errorf("%w: change %d/%d is partly applied (%d of %d operations) and %d/%d is not it; the agent will ask central for a snapshot, which replaces it",
		ErrDigest, p.Epoch, p.Seq, p.Done, p.total(), ch.Epoch, ch.Seq)
}

// applyChunked applies ch in chunks when it is large, or resumes it when
// it is the change partly applied. It returns false, having done nothing,
// when ch is to be applied in one transaction: a small change with none
// pending, or a large one while a key rotation or a snapshot holds the
// replica (a rotation's copy is kept in step by each write, and a
// snapshot replaces the set anyway).
func (r *Replica) applyChunked(ctx context.Context, ch Change) (bool, error) {
	var p *pendingDelta
	rotating := false
	err := r.db.View(func(tx *bolt.Tx) error {
		var err error
		p, err = readPendingDelta(tx)
		rotating = tx.Bucket(bucketMeta).Get(metaRotation) != nil
		return err
	})
	if err != nil {
		return true, err
	}
	rule := r.chunkRule()
	n := len(ch.Upserts) + len(ch.Deletes)
	switch {
	case p == nil && n <= min(rule.max, deltaOneTx):
		return false, nil
	case p != nil && !p.is(ch):
		return true, refusePending(p, ch)
	}
	if !r.op.TryLock() {
		if p != nil {
			return true, fmt.Errorf("%w: change %d/%d is partly applied and a snapshot or key rotation is running; send the change again after it", ErrBusy, ch.Epoch, ch.Seq)
		}
		return false, nil
	}
	defer r.op.Unlock()
	if p == nil {
		if rotating {
			return false, nil
		}
		if p, err = r.prepareDelta(ctx, ch); err != nil {
			return true, err
		}
	} else {
		r.log.Warn("resuming a change applied in part", "epoch", p.Epoch, "seq", p.Seq, "done", p.Done, "total", p.total())
	}
	for p.Done < n {
		if err := ctx.Err(); err != nil {
			return true, fmt.Errorf("change %d/%d interrupted after %d of %d operations (sent again, it resumes): %w", ch.Epoch, ch.Seq, p.Done, n, err)
		}
		next := *p
		err := r.update(func(tx *bolt.Tx) error { return r.applyChunk(tx, ch, &next, rule) })
		if err != nil {
			return true, err
		}
		p = &next
		if r.chunkCommitted != nil {
			r.chunkCommitted(p.Done, n)
		}
	}
	return true, nil
}

// prepareDelta checks ch in a read transaction, as Apply's one transaction
// does before it writes: it follows the cursor, its alerts are valid, and
// the digest it leaves is the announced one. It returns the pending record
// of the first chunk.
func (r *Replica) prepareDelta(ctx context.Context, ch Change) (*pendingDelta, error) {
	p := &pendingDelta{Epoch: ch.Epoch, Seq: ch.Seq, Hash: ch.Hash, Upserts: len(ch.Upserts), Deletes: len(ch.Deletes)}
	err := r.db.View(func(tx *bolt.Tx) error {
		cur, err := readCursor(tx)
		if err != nil {
			return err
		}
		if err := follows(cur, ch); err != nil {
			return err
		}
		for i := range ch.Upserts {
			if err := ch.Upserts[i].Validate(); err != nil {
				return err
			}
		}
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		// held gives the versions stored for an ID, alert and tombstone,
		// as the change's earlier operations left them.
		touched := make(map[string][]uint64, len(ch.Upserts)+len(ch.Deletes))
		held := func(id string) ([]uint64, error) {
			if vs, ok := touched[id]; ok {
				return vs, nil
			}
			k := st.ring.recordKey("alert", id)
			var vs []uint64
			if a, ok, err := st.gen.get(st.ks, k); err != nil {
				return nil, err
			} else if ok {
				vs = append(vs, a.Version)
			}
			if t, ok, err := st.gen.getTomb(st.ks, k); err != nil {
				return nil, err
			} else if ok {
				vs = append(vs, t.Version)
			}
			return vs, nil
		}
		d := cur.Digest
		for i := range len(ch.Upserts) + len(ch.Deletes) {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			id, add := "", false
			var version uint64
			if i < len(ch.Upserts) {
				id, version, add = ch.Upserts[i].ID, ch.Upserts[i].Version, true
			} else {
				id = ch.Deletes[i-len(ch.Upserts)]
			}
			vs, err := held(id)
			if err != nil {
				return err
			}
			for _, v := range vs {
				d.Remove(id, v)
			}
			touched[id] = nil
			if add {
				d.Add(id, version)
				touched[id] = []uint64{version}
			}
		}
		if d != ch.Digest {
			return fmt.Errorf("%w: change %d/%d announces %s, replica would hold %s; the agent will ask central for a snapshot", ErrDigest, ch.Epoch, ch.Seq, ch.Digest, d)
		}
		p.Digest, p.Partial = d, cur.Digest
		return nil
	})
	return p, err
}

// applyChunk applies ch's next operations after p.Done inside tx, as many
// as rule allows, and moves p; the last chunk moves the cursor instead. A pending record
// other than p, or a cursor that moved, fails it: something else wrote
// the replica since the change was checked.
func (r *Replica) applyChunk(tx *bolt.Tx, ch Change, p *pendingDelta, rule chunkRule) error {
	start := time.Now()
	cur, err := readCursor(tx)
	if err != nil {
		return err
	}
	if err := follows(cur, ch); err != nil {
		return err
	}
	stored, err := readPendingDelta(tx)
	if err != nil {
		return err
	}
	if stored != nil && (!stored.is(ch) || stored.Done != p.Done) || stored == nil && p.Done > 0 {
		return fmt.Errorf("%w: the record of change %d/%d applied in part changed under it; the agent will ask central for a snapshot", ErrDigest, ch.Epoch, ch.Seq)
	}
	st, err := r.state(tx)
	if err != nil {
		return err
	}
	rot, err := r.rotationState(tx, st)
	if err != nil {
		return err
	}
	d := p.Partial
	now := r.now()
	end := min(p.Done+rule.max, p.total())
	for i := p.Done; i < end; i++ {
		if n := i - p.Done; n > 0 && n%8 == 0 {
			// A chunk's work is 80-150 ms of CPU at 10 million alerts;
			// on a 2-core post a check would wait for a processor up to
			// the runtime's 10 ms time slice (yieldProcessor).
			r.yieldProcessor()
			worked := time.Since(start)
			if rule.work > 0 && worked >= rule.work || rule.yieldAfter > 0 && worked >= rule.yieldAfter && r.checksWaiting() {
				end = i
				break
			}
		}
		id := ""
		if i < len(ch.Upserts) {
			a := &ch.Upserts[i]
			if err := st.gen.put(st.ks, st.ring, a, &d, now); err != nil {
				return err
			}
			id = a.ID
		} else {
			id = ch.Deletes[i-len(ch.Upserts)]
			if err := st.gen.remove(st.ks, st.ring.recordKey("alert", id), &d); err != nil {
				return err
			}
		}
		if err := rot.mirror(id); err != nil {
			return err
		}
	}
	p.Done, p.Partial = end, d
	if end < p.total() {
		return writePendingDelta(tx, p)
	}
	if d != p.Digest {
		// The check before the first chunk said otherwise: the set changed
		// under the change. This chunk is rolled back and the record kept,
		// so the change is refused until a snapshot replaces the set.
		return fmt.Errorf("%w: change %d/%d applied in chunks leaves %s, not %s; the agent will ask central for a snapshot", ErrDigest, ch.Epoch, ch.Seq, d, p.Digest)
	}
	if err := tx.Bucket(bucketMeta).Delete(metaDelta); err != nil {
		return err
	}
	return r.finishChange(tx, ch, d)
}

// DeltaPending returns the change partly applied, or nil if there is none.
func (r *Replica) DeltaPending() (*DeltaProgress, error) {
	var p *pendingDelta
	err := r.db.View(func(tx *bolt.Tx) error {
		var err error
		p, err = readPendingDelta(tx)
		return err
	})
	return p.progress(), err
}
