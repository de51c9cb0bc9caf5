package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/borderpost/borderpost/store/atomicfile"
)

// BackupPath is where Open copies a replica of an older format before
// upgrading it: beside it, named for the format it had.
func BackupPath(path string, format uint32) string {
	return fmt.Sprintf("%s.format%d.bak", path, format)
}

// backupBeforeUpgrade copies the file at path aside when it holds an
// older format than this code writes, so that an upgrade that goes wrong,
// or a downgrade of borderpost, can go back to it. A file of the current
// format, a new file and one already backed up are left alone.
func backupBeforeUpgrade(ctx context.Context, path string, opt Options) error {
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("open replica %s: %w (is another borderpost running?)", path, err)
	}
	var format uint32
	db.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			if f := meta.Get(metaFormat); len(f) == 4 {
				format = binary.BigEndian.Uint32(f)
			}
		}
		return nil
	})
	defer db.Close()
	if format == 0 || format >= FormatVersion {
		return nil
	}
	dst := BackupPath(path, format)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	// Copy from the open read-only transaction: a consistent file even if
	// the last writer was killed.
	err = atomicfile.Write(dst, 0o600, func(w io.Writer) error {
		return db.View(func(tx *bolt.Tx) error { _, err := tx.WriteTo(w); return err })
	})
	if err != nil {
		return fmt.Errorf("back up replica before upgrading format %d (need free space beside %s): %w", format, path, err)
	}
	opt.Logger.Warn("replica of an older format backed up before its upgrade", "format", format, "to", FormatVersion, "backup", dst)
	return nil
}

// Remove deletes the replica file at path, which must be closed, with every
// file the store keeps beside it: its journal, snapshot spill directories, the runs of
// a term index rebuild, the saved term table and name index, its close
// mark and the backup taken before an upgrade. A post drops a scope's replica this way;
// what was in it stays only as the ciphertext the file system may not
// have overwritten yet, readable by no one without the data key.
func Remove(path string) error {
	var side []string
	for _, pattern := range []string{JournalPath(path), WALPath(path), path + ".snapshot-*", path + ".terms-*", TermTablePath(path), NameIndexPath(path), closeMarkPath(path), rotationRunDir(path), path + ".format*.bak"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			return err
		}
		side = append(side, m...)
	}
	for _, p := range side {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("remove %s: %w", p, err)
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove replica %s: %w", path, err)
	}
	return nil
}
