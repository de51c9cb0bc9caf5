package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/borderpost/borderpost/store/atomicfile"
)

// Compact rewrites the closed replica file at path without the free pages
// dropped generations left behind (bbolt files never shrink), then
// replaces it atomically: a copy is written beside it, synced, and renamed
// over it. A kill leaves either the old file or the new one; a leftover
// copy is overwritten next time. Keys are not needed: sealed values are
// copied as they are. It returns the sizes before and after.
func Compact(ctx context.Context, path string, opt Options) (before, after int64, err error) {
	if opt.LockTimeout == 0 {
		opt.LockTimeout = 5 * time.Second
	}
	if err := verifyFile(path, opt.LockTimeout); err != nil {
		return 0, 0, err
	}
	return compactChecked(ctx, path, opt)
}

// compactChecked is Compact for a file already checked (or vouched for by
// its close mark) and not written since: Open's compaction, which would
// otherwise read every page of a file twice the replica's size once more
// (at 100M after a key rotation, 35.7 GB).
func compactChecked(ctx context.Context, path string, opt Options) (before, after int64, err error) {
	src, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout, ReadOnly: true})
	if err != nil {
		return 0, 0, fmt.Errorf("compact: open %s: %w", path, err)
	}
	defer src.Close()
	if fi, err := os.Stat(path); err == nil {
		before = fi.Size()
	}
	tmp := path + ".compact"
	if err := os.Remove(tmp); err != nil && !os.IsNotExist(err) {
		return before, 0, fmt.Errorf("compact: %w", err)
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: opt.LockTimeout, NoSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return before, 0, fmt.Errorf("compact: create %s: %w", tmp, err)
	}
	defer os.Remove(tmp) // a no-op once renamed
	if err := copyLive(dst, src, 64<<20); err != nil {
		dst.Close()
		return before, 0, fmt.Errorf("compact: copy: %w", err)
	}
	if err := dst.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(metaCompact) }); err != nil {
		dst.Close()
		return before, 0, fmt.Errorf("compact: %w", err)
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return before, 0, fmt.Errorf("compact: sync: %w", err)
	}
	if err := dst.Close(); err != nil {
		return before, 0, fmt.Errorf("compact: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return before, 0, err
	}
	src.Close()
	if err := atomicfile.Install(tmp, path); err != nil {
		return before, 0, fmt.Errorf("compact: %w", err)
	}
	if fi, err := os.Stat(path); err == nil {
		after = fi.Size()
	}
	return before, after, nil
}

// compactIfWanted compacts the file at path, which Open has just checked,
// if a generation was dropped since the last compaction.
func compactIfWanted(ctx context.Context, path string, opt Options) error {
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("open replica %s: %w (is another borderpost running?)", path, err)
	}
	wanted := false
	err = db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(bucketMeta); m != nil {
			wanted = m.Get(metaCompact) != nil
		}
		return nil
	})
	db.Close()
	if err != nil || !wanted {
		return err
	}
	start := time.Now()
	before, after, err := compactChecked(ctx, path, opt)
	if err != nil {
		return err
	}
	opt.Logger.Info("replica compacted", "before_bytes", before, "after_bytes", after, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// CompactDue reports whether a generation was dropped since the last
// compaction, so that an Open with Options.Compact would rewrite the
// file. A command that has just filled the replica asks it before
// reopening the file to compact: a reopen checks every page.
func (r *Replica) CompactDue() (bool, error) {
	due := false
	err := r.db.View(func(tx *bolt.Tx) error {
		due = tx.Bucket(bucketMeta).Get(metaCompact) != nil
		return nil
	})
	return due, err
}

// copyLive copies src into dst (compaction's copy) without the stray
// generations no record names (stray.go): the set a snapshot replaced,
// one a kill interrupted. The copy is their drop, and costs nothing. It
// commits dst every txMax bytes, so that a copy of gigabytes holds
// bounded memory, and keeps each bucket's sequence.
func copyLive(dst, src *bolt.DB, txMax int64) error {
	tx, err := dst.Begin(true)
	if err != nil {
		return err
	}
	defer func() { tx.Rollback() }() // the last one, if the copy failed
	size := int64(0)
	// into returns the bucket of dst at path, in the transaction open now.
	into := func(path [][]byte) *bolt.Bucket {
		b := tx.Bucket(path[0])
		for _, name := range path[1:] {
			b = b.Bucket(name)
		}
		b.FillPercent = 1 // written in key order: full pages
		return b
	}
	var copyBucket func(path [][]byte, from *bolt.Bucket) error
	copyBucket = func(path [][]byte, from *bolt.Bucket) error {
		return from.ForEach(func(k, v []byte) error {
			if size += int64(len(k) + len(v)); size > txMax {
				if err := tx.Commit(); err != nil {
					return err
				}
				if tx, err = dst.Begin(true); err != nil {
					return err
				}
				size = 0
			}
			to := into(path)
			if v != nil {
				return to.Put(k, v)
			}
			child := from.Bucket(k)
			nb, err := to.CreateBucket(k)
			if err != nil {
				return err
			}
			if err := nb.SetSequence(child.Sequence()); err != nil {
				return err
			}
			return copyBucket(append(path[:len(path):len(path)], bytes.Clone(k)), child)
		})
	}
	err = src.View(func(stx *bolt.Tx) error {
		keep, err := keptGenerations(stx)
		if err != nil {
			return err
		}
		return stx.ForEach(func(name []byte, from *bolt.Bucket) error {
			if n, ok := parseGenName(name); ok && keep != nil && !keep[n] {
				return nil
			}
			nb, err := tx.CreateBucket(name)
			if err != nil {
				return err
			}
			if err := nb.SetSequence(from.Sequence()); err != nil {
				return err
			}
			return copyBucket([][]byte{bytes.Clone(name)}, from)
		})
	})
	if err != nil {
		return err
	}
	return tx.Commit()
}
