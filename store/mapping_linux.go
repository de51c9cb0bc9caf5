package store

import (
	"os"
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
