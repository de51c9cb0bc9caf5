// Package atomicfile replaces files so that a crash or a power loss leaves
// either the old file or the new one, never a part of either: the new
// content is written beside the file, synced, renamed over it, and the
// directory is synced so that the rename itself is on disk. Every
// write-then-rename of the tree goes through it.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write replaces path with what write writes, with permissions perm. If
// write or any step fails, path is left as it was and the temporary file
// is removed.
func Write(path string, perm os.FileMode, write func(w io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	err = f.Chmod(perm)
	if err == nil {
		err = write(f)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return Install(tmp, path)
}

// WriteFile replaces path with data, with permissions perm; see Write.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Install renames tmp, a complete file already synced, over path and
// syncs path's directory, so that the rename survives a power loss.
func Install(tmp, path string) error {
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("install %s: %w", path, err)
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("install %s: %w", path, err)
	}
	return nil
}

// SyncDir flushes dir's entries (names created, renamed or removed) to
// disk. On Windows, where a directory cannot be synced and NTFS journals
// its entries itself, it does nothing.
func SyncDir(dir string) error {
	if !dirSyncable {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	if err := errors.Join(d.Sync(), d.Close()); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
