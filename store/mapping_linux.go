package store

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// mapHeadroom is the address space mapped beyond the file at Open: bbolt
// maps the file again whenever it outgrows its map, and a new map starts
// empty, so every check after it takes page faults again on the pages
// it touches (and waits for the remap, which holds every read
// transaction out). Address space costs nothing on a 64-bit system;
// only pages touched take memory.
func mapHeadroom(fileSize int64) int64 {
	if unsafe.Sizeof(uintptr(0)) < 8 {
		return 0
	}
	return max(fileSize/2, 1<<30)
}

// boltOptionsFor returns the options the replica at path is mapped
// with: the defaults, and a map large enough for the file and
// mapHeadroom more.
func boltOptionsFor(path string, timeout time.Duration) *bolt.Options {
	o := boltOptions(timeout)
	if st, err := os.Stat(path); err == nil {
		o.InitialMmapSize = max(o.InitialMmapSize, int(st.Size()+mapHeadroom(st.Size())))
	} else {
		o.InitialMmapSize = max(o.InitialMmapSize, int(mapHeadroom(0)))
	}
	return o
}

// madvPopulateRead is MADV_POPULATE_READ (Linux 5.14).
const madvPopulateRead = 22

// mapResident maps into the process the pages of the replica's file that
// the page cache holds already, and reads none from disk: a lookup then
// takes no page fault on the term index's and the alerts' pages (4-5 µs
// of CPU each on the 2-core machine of issue 16, about one per held
// identifier at 10 million alerts). It returns the bytes mapped. The
// pages stay the page cache's: the kernel may still reclaim them.
func (r *Replica) mapResident() (int64, error) {
	var mapped int64
	err := r.db.View(func(tx *bolt.Tx) error {
		// The read transaction holds bbolt's map in place.
		size := tx.Size()
		base := r.db.Info().Data
		page := int64(os.Getpagesize())
		pages := (size + page - 1) / page
		if pages == 0 {
			return nil
		}
		vec := make([]byte, pages)
		if _, _, e := unix.Syscall(unix.SYS_MINCORE, base, uintptr(pages*page), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
			return e
		}
		for i := int64(0); i < pages; {
			if vec[i]&1 == 0 {
				i++
				continue
			}
			j := i
			for j < pages && vec[j]&1 != 0 {
				j++
			}
			if _, _, e := unix.Syscall(unix.SYS_MADVISE, base+uintptr(i*page), uintptr((j-i)*page), madvPopulateRead); e != 0 {
				if e == unix.EINVAL && mapped == 0 {
					return nil // a kernel before 5.14: pages are mapped as lookups touch them
				}
				return e
			}
			mapped += (j - i) * page
			i = j
		}
		return nil
	})
	return mapped, err
}

// dropCached asks the kernel to drop the page cache's copy of f, whose
// content the process has read whole (or written and synced): the
// replica's side files (term table, name index) are read once at a
// start, and their pages held in the page cache push out pages of the
// replica, which every check reads (at 100 million alerts the two are
// 1.2 GB, and the replica does not fit in memory with them). Advice
// only: an error changes nothing the caller relies on.
func dropCached(f *os.File) { _ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED) }

// fileAdvice returns a function asking the kernel to read a range of f
// ahead (posix_fadvise WILLNEED): the reads then queue together on the
// disk instead of waiting one for another.
func fileAdvice(f *os.File) func(off, n int64) {
	fd := int(f.Fd())
	return func(off, n int64) { _ = unix.Fadvise(fd, off, n, unix.FADV_WILLNEED) }
}

// fileIdentity returns what the kernel alone sets about the file fi
// describes: its device and inode, and its change and modification
// times, which any write, copy over it or rename into its place moves
// (closemark.go).
func fileIdentity(fi os.FileInfo) ([]byte, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, false
	}
	b := make([]byte, 0, 40)
	for _, v := range []uint64{uint64(st.Dev), st.Ino, uint64(st.Ctim.Sec), uint64(st.Ctim.Nsec), uint64(st.Mtim.Sec), uint64(st.Mtim.Nsec)} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b, true
}

// waitFileTick returns once the clock the kernel stamps file times with
// (the coarse real-time clock, one tick of 1-10 ms) is past the times of
// the file fi describes, so that any later write stamps other times. It
// waits at most 50 ms.
func waitFileTick(fi os.FileInfo) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	last := max(st.Ctim.Nano(), st.Mtim.Nano())
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		var ts unix.Timespec
		if unix.ClockGettime(unix.CLOCK_REALTIME_COARSE, &ts) != nil || ts.Nano() > last {
			return
		}
	}
}

// warmFits reports whether a file of size bytes may be read into memory,
// given the memory available (0 if unknown): within nine tenths of it, or
// within what is left of the budget shared with other replicas, which it
// then holds until Close.
func (r *Replica) warmFits(size, avail int64) bool {
	if r.warmBudget == nil {
		return avail <= 0 || size <= avail/10*9
	}
	if !r.warmBudget.take(size, avail) {
		return false
	}
	r.warmHeld = size
	return true
}

// warmRange is how much of the replica warm maps in one read transaction:
// a delta that grows the file waits for bbolt's map at most this long
// (64 MiB from disk: about 0.1 s).
const warmRange = 64 << 20

// warm maps every page of the replica into the process, reading from
// disk those the page cache does not hold, one range at a time in its
// own read transaction, until ctx ends. A start then serves at once and
// its checks are as fast as a warm post's once warm returns (issue 16:
// the page-by-page check that used to read the file at every start
// warmed it, in 15-45 s before serving at 100 million alerts). A file
// larger than nine tenths of the memory available would only push its
// own pages out: then only the pages already cached are mapped. It
// returns the bytes mapped, and whether that was the whole file.
func (r *Replica) warm(ctx context.Context) (n int64, whole bool, err error) {
	var fileSize int64
	if err := r.db.View(func(tx *bolt.Tx) error { fileSize = tx.Size(); return nil }); err != nil {
		return 0, false, err
	}
	if avail := memAvailable(); !r.warmFits(fileSize, avail) {
		r.log.Info("replica larger than the memory left to warm it: only its pages already cached are mapped; the rest is read as checks need it",
			"path", r.Path(), "bytes", fileSize, "available", avail, "shared_budget", r.warmBudget != nil)
		n, err := r.mapResident()
		return n, false, err
	}
	page := int64(os.Getpagesize())
	// A page fault reads ahead 128 KiB at a time, one read after another
	// (76 MB/s from disk here: 4 minutes for 18 GB); the kernel's
	// read-ahead advice did no better. Reading the file in large pieces
	// fills the page cache at disk speed (about 850 MB/s), and mapping
	// cached pages is quick (18 GB in 2 s). Ranges the page cache holds
	// whole are not read.
	f, err := os.Open(r.Path())
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	buf := make([]byte, boltRunSize)
	var mapped int64
	// mapRange maps the range at off, unless cachedOnly and the page cache
	// lacks some of it (cold).
	mapRange := func(off int64, cachedOnly bool) (cold bool, err error) {
		err = r.db.View(func(tx *bolt.Tx) error {
			// The read transaction holds bbolt's map in place.
			end := min(off+warmRange, tx.Size())
			if end <= off {
				return nil
			}
			base := r.db.Info().Data
			n := (end - off + page - 1) / page * page
			if cachedOnly {
				vec := make([]byte, n/page)
				if _, _, e := unix.Syscall(unix.SYS_MINCORE, base+uintptr(off), uintptr(n), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
					return e
				}
				if slices.ContainsFunc(vec, func(v byte) bool { return v&1 == 0 }) {
					cold = true
					return nil
				}
			}
			if _, _, e := unix.Syscall(unix.SYS_MADVISE, base+uintptr(off), uintptr(n), madvPopulateRead); e != 0 {
				return e
			}
			mapped += n
			return nil
		})
		return cold, err
	}
	for off := int64(0); off < fileSize; off += warmRange {
		if ctx.Err() != nil {
			return mapped, false, ctx.Err()
		}
		cold, err := mapRange(off, true)
		if err == nil && cold {
			// Read outside a transaction: a delta's remap does not wait
			// for the disk.
			for p := off; p < min(off+warmRange, fileSize) && ctx.Err() == nil; p += int64(len(buf)) {
				if _, err := f.ReadAt(buf, p); err != nil && !errors.Is(err, io.EOF) {
					return mapped, false, err
				}
			}
			_, err = mapRange(off, false)
		}
		if errors.Is(err, unix.EINVAL) && mapped == 0 {
			return 0, false, nil // a kernel before 5.14: pages are mapped as lookups touch them
		}
		if err != nil {
			return mapped, false, err
		}
	}
	return mapped, true, nil
}

// memAvailable returns the memory the kernel estimates is available to
// start new work without swapping (MemAvailable), or 0 if unknown.
func memAvailable() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
