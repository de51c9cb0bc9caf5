package store

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Stray generations. A snapshot or key rotation that a kill interrupted
// leaves a partial alert generation, and Open takes it back. Dropping a
// generation in one transaction makes bbolt read every page of it to free
// them: at 100 million alerts a rotation stopped at 17 million copied took
// 6 min 20 s of the start. Open instead only forgets the snapshot or
// rotation (the generation is then named by no record: a stray), and the
// strays are deleted after Open returns, a chunk of entries per
// transaction, while the agent serves. A kill leaves the rest stray, and
// the next Open goes on with it. Generation numbers only grow, so a
// snapshot or rotation started meanwhile never meets a stray's number.

// strayChunk is how many entries one transaction of the drop deletes: a
// delta's chunk waits for at most one such commit.
const strayChunk = 20000

// strayGenerations returns the generations in tx that neither the active
// set nor a rotation in progress names.
func strayGenerations(tx *bolt.Tx, keep map[uint64]bool) ([]uint64, error) {
	var stray []uint64
	err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if n, ok := parseGenName(name); ok && !keep[n] {
			stray = append(stray, n)
		}
		return nil
	})
	return stray, err
}

// dropStrays deletes the generations Open found stray (r.strays), a chunk
// at a time, until they are gone or ctx ends, and asks the next start to
// compact the file.
func (r *Replica) dropStrays(ctx context.Context) {
	t0 := time.Now()
	deleted := 0
	for _, num := range r.strays {
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
		r.log.Info("stray alert generations dropped", "generations", len(r.strays), "entries", deleted, "took", time.Since(t0).Round(time.Millisecond))
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
