package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Stray generations. A snapshot or key rotation that a kill interrupted
// leaves a partial alert generation, and Open takes it back; a snapshot
// refused leaves its own, and one switched in leaves the set it replaced. Dropping a
// generation in one transaction makes bbolt read every page of it to free
// them: at 100 million alerts a rotation stopped at 17 million copied took
// 6 min 20 s of the start. Open instead only forgets the snapshot or
// rotation (the generation is then named by no record: a stray), and the
// strays are deleted after Open returns, a chunk of entries per
// transaction, while the agent serves (and a snapshot's switch or refusal
// only forgets its generation likewise, then starts the drop again). A
// kill leaves the rest stray, and the next Open goes on with it. Generation numbers only grow, so a
// snapshot or rotation started meanwhile never meets a stray's number.

// strayChunk is how many entries one transaction of the drop deletes: a
// delta's chunk waits for at most one such commit.
const strayChunk = 20000

// strayGenerations returns the generations in tx that keep (from
// keptGenerations) does not name; none if keep is nil.
func strayGenerations(tx *bolt.Tx, keep map[uint64]bool) ([]uint64, error) {
	var stray []uint64
	if keep == nil {
		return nil, nil
	}
	err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if n, ok := parseGenName(name); ok && !keep[n] {
			stray = append(stray, n)
		}
		return nil
	})
	return stray, err
}

// keptGenerations are the generations a record names: the active set, a
// key rotation's new one, and a snapshot's being loaded.
// Nil (a file without generations yet) keeps them all.
func keptGenerations(tx *bolt.Tx) (map[uint64]bool, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil || len(meta.Get(metaAlertGen)) != 8 {
		return nil, nil
	}
	keep := map[uint64]bool{binary.BigEndian.Uint64(meta.Get(metaAlertGen)): true}
	rot, err := readRotation(tx)
	if err != nil {
		return nil, err
	}
	if rot != nil {
		keep[rot.Dst] = true
	}
	if b := meta.Get(metaSnapshot); b != nil {
		var rec snapshotRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("%w: snapshot record: %w", ErrCorrupt, err)
		}
		keep[rec.Gen] = true
	}
	return keep, nil
}

// dropStraysLater starts the drop of the generations no record names
// again, with any a transaction just left stray (a snapshot switched in
// or refused): it stops the drop running at its chunk, lists the strays
// anew and drops them all in the background.
func (r *Replica) dropStraysLater() {
	r.dropMu.Lock()
	defer r.dropMu.Unlock()
	r.dropping.end()
	var strays []uint64
	err := r.db.View(func(tx *bolt.Tx) error {
		keep, err := keptGenerations(tx)
		if err == nil {
			strays, err = strayGenerations(tx, keep)
		}
		return err
	})
	if err != nil {
		r.log.Warn("stray alert generations not listed; the next start drops them", "err", err)
		strays = nil
	}
	r.dropping = startTask(len(strays) > 0, func(ctx context.Context) { r.dropStrays(ctx, strays) })
}

// droppingDone is closed once the drop of stray generations running now
// has ended.
func (r *Replica) droppingDone() <-chan struct{} {
	r.dropMu.Lock()
	defer r.dropMu.Unlock()
	return r.dropping.done
}

// endDropping stops the drop of stray generations at its chunk.
func (r *Replica) endDropping() {
	r.dropMu.Lock()
	defer r.dropMu.Unlock()
	r.dropping.end()
}

// dropStrays deletes the stray generations, a chunk at a time, until
// they are gone or ctx ends, and asks the next start to compact the file
// if the pages they leave free are worth it.
func (r *Replica) dropStrays(ctx context.Context, strays []uint64) {
	t0 := time.Now()
	deleted := 0
	for _, num := range strays {
		for ctx.Err() == nil {
			gone := false
			n := 0
			err := r.update(func(tx *bolt.Tx) error {
				g := tx.Bucket(genName(num))
				if g == nil {
					gone = true
					return nil
				}
				budget := strayChunk
				empty, err := deleteSome(g, &budget)
				n = strayChunk - budget
				if err != nil || !empty {
					return err
				}
				if err := tx.DeleteBucket(genName(num)); err != nil {
					return err
				}
				gone = true
				if !r.compactWorthIt(tx, r.freePages()) {
					return nil // an empty set replaced, a snapshot barely begun
				}
				return tx.Bucket(bucketMeta).Put(metaCompact, []byte{1})
			})
			if err != nil {
				// The rest stays stray: the next Open goes on with it.
				r.log.Warn("stray alert generation not dropped; the next start goes on with it", "generation", num, "err", err)
				return
			}
			deleted += n
			if gone {
				break
			}
		}
	}
	if ctx.Err() == nil {
		r.log.Info("stray alert generations dropped", "generations", len(strays), "entries", deleted, "took", time.Since(t0).Round(time.Millisecond))
	}
}

// deleteSome deletes up to *budget entries of b, nested buckets first
// emptied and then deleted, and reports whether b is empty.
func deleteSome(b *bolt.Bucket, budget *int) (empty bool, err error) {
	c := b.Cursor()
	// First again after each Delete: a bolt cursor's Next after a Delete
	// can step over the key that moved under it.
	for k, v := c.First(); k != nil; k, v = c.First() {
		if *budget <= 0 {
			return false, nil
		}
		if v == nil {
			name := bytes.Clone(k) // k points into pages the child's deletes may move
			child := b.Bucket(name)
			if child == nil {
				return false, nil
			}
			done, err := deleteSome(child, budget)
			if err != nil || !done {
				return false, err
			}
			if err := b.DeleteBucket(name); err != nil {
				return false, err
			}
			continue
		}
		if err := c.Delete(); err != nil {
			return false, err
		}
		*budget--
	}
	return true, nil
}
