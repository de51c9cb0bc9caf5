package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"os"

	"github.com/borderpost/borderpost/store/atomicfile"
)

// The close mark says that the replica file is exactly as this agent left
// it at a clean Close: every commit on disk, nothing written since. Open
// then checks only the meta pages instead of reading every page of the
// tree (verify.go), as a file system skips its check after a clean
// unmount: that check reads the whole file, 15-45 s of a start at 100
// million alerts on a cold page cache (issue 16: ≤ 30 s).
//
// What the check guards against is a file damaged while no agent wrote
// it cleanly: a kill or power loss mid-commit, a disk that filled, a copy
// cut short or restored over it. None of those leaves a matching mark:
// Open removes the mark before bbolt writes (a session that dies leaves
// none), and the mark binds the file's size, its inode, its change and
// modification times (which only the kernel sets, on any write, copy or
// rename into place) and both meta pages (which every commit rewrites).
// It is a MAC under a key derived from the data key, so it cannot be
// written for a file by anyone without the key. What it cannot see is a
// bit flipped on the disk itself since the close; a page read from disk
// while the agent runs is as exposed to that, and the full check runs
// again after any start the mark did not vouch for.

// closeMarkMagic opens a close mark file.
var closeMarkMagic = []byte("BPCM1\n")

// closeMarkPath is the close mark beside the replica at path.
func closeMarkPath(path string) string { return path + ".closed" }

// closeMarkKey derives the close marks' MAC key from the data key.
func closeMarkKey(dataKey []byte) []byte {
	m := hmac.New(sha256.New, dataKey)
	m.Write([]byte("borderpost replica close mark v1"))
	return m.Sum(nil)
}

// closeMarkMAC returns the mark of the open file f, whose meta pages are
// pageSize bytes each, as it is now.
func closeMarkMAC(key []byte, f *os.File, fi os.FileInfo, pageSize int) ([]byte, error) {
	metas := make([]byte, 2*pageSize)
	if _, err := f.ReadAt(metas, 0); err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(fi.Size()))
	m.Write(b[:])
	id, ok := fileIdentity(fi)
	if !ok {
		return nil, errors.New("this system gives no file change time")
	}
	m.Write(id)
	m.Write(metas)
	return m.Sum(nil), nil
}

// closeMarkMatches reports whether the mark beside path vouches for the
// open file f as it is now.
func closeMarkMatches(key []byte, path string, f *os.File, fi os.FileInfo, pageSize int) bool {
	if key == nil {
		return false
	}
	mf, err := os.Open(closeMarkPath(path))
	if err != nil {
		return false
	}
	defer mf.Close()
	got, err := io.ReadAll(io.LimitReader(mf, 256))
	if err != nil || !bytes.HasPrefix(got, closeMarkMagic) {
		return false
	}
	want, err := closeMarkMAC(key, f, fi, pageSize)
	return err == nil && hmac.Equal(got[len(closeMarkMagic):], want)
}

// writeCloseMark writes the mark for the replica file at path, closed.
func writeCloseMark(key []byte, path string) error {
	if key == nil {
		return errors.New("no close mark key")
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// A snapshot's chunks are committed without fsync (bulkUpdate): the
	// mark must not reach the disk before them.
	if err := f.Sync(); err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	// The kernel stamps a write with a coarse clock: a write within the
	// tick of the last commit would leave the times as they are. Let the
	// tick pass, so that any later write moves them.
	waitFileTick(fi)
	bf, err := openBoltFile(f, fi.Size())
	if err != nil {
		return err
	}
	mac, err := closeMarkMAC(key, f, fi, bf.pageSize)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(closeMarkPath(path), append(bytes.Clone(closeMarkMagic), mac...), 0o600)
}

// removeCloseMark removes the mark beside path: the file is about to be
// written. A mark that cannot be removed is harmless (the first commit
// rewrites a meta page, and the mark no longer matches) but is reported.
func removeCloseMark(path string) error {
	err := os.Remove(closeMarkPath(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
