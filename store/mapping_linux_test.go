package store

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
	"unsafe"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// fillScratch writes n values of size bytes into a bucket of their own.
func fillScratch(t *testing.T, r *Replica, n, size int) {
	t.Helper()
	v := bytes.Repeat([]byte{0x5a}, size)
	for i := 0; i < n; i += 64 {
		err := r.db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("scratch"))
			if err != nil {
				return err
			}
			for j := i; j < min(i+64, n); j++ {
				if err := b.Put([]byte{byte(j >> 16), byte(j >> 8), byte(j)}, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// threadFaults returns the page faults the calling thread took so far.
func threadFaults(t *testing.T) int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt + ru.Majflt
}

// A replica whose file the page cache holds is mapped whole at Open: a
// lookup then takes no page fault on the pages it reads (4-5 µs of CPU
// each on a loaded 2-core machine, about one per held identifier at 10
// million alerts, most of a check's p99). Before, every first touch of a
// page faulted.
func TestOpenMapsPagesThePageCacheHolds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replica.db")
	r := openTest(t, path, testKey(1))
	fillScratch(t, r, 8000, 3000) // about 8,000 pages
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = openTest(t, path, testKey(1)) // its pages are in the page cache: just written
	defer r.Close()
	if faults := scratchFaults(t, r); faults > 50 {
		t.Errorf("reading 8,000 pages of a replica the page cache holds took %d page faults, want at most 50 (the runtime's own)", faults)
	}
}

// scratchFaults reads every value fillScratch wrote and returns the page
// faults the reading thread took.
func scratchFaults(t *testing.T, r *Replica) int64 {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var sum byte
	before := threadFaults(t)
	err := r.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte("scratch")).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			sum += v[0] + v[len(v)-1]
		}
		return nil
	})
	faults := threadFaults(t) - before
	if err != nil {
		t.Fatal(err)
	}
	_ = sum
	return faults
}

// The replica is mapped with room to grow: writes that grow the file do
// not make bbolt map it again (which empties the map, so every check
// after it faults again on every page, and holds every read meanwhile).
func TestReplicaNotRemappedAsItGrows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replica.db")
	r := openTest(t, path, testKey(1))
	defer r.Close()
	at := r.db.Info().Data
	fillScratch(t, r, 400, 256<<10) // 100 MiB
	if got := r.db.Info().Data; got != at {
		t.Errorf("the replica was mapped again as it grew by 100 MiB (map at %#x, now %#x)", at, got)
	}
}

// residentPages returns how many of the file's pages the page cache holds.
func residentPages(t *testing.T, path string) (resident, pages int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	for _, v := range vec {
		resident += int(v & 1)
	}
	return resident, len(vec)
}

// The side files (term table, name index) are read once at a start; the
// page cache keeps no copy of them once written or read, so that it
// holds the replica's pages instead (at 100 million alerts the two are
// 1.3 GB on a machine the replica nearly fills). Before, both stayed
// cached whole after every write and every start.
func TestSideFilesLeaveNoCopyInThePageCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type == unix.TMPFS_MAGIC {
		t.Skipf("%s is tmpfs, whose files are their page cache; run with TMPDIR on a disk", dir)
	}
	r := openTerms(t, filepath.Join(dir, "r.db"), testKey(1), "v1")
	defer r.Close()
	seed(t, r, map[string]Alert{}, 200)
	tbl, err := r.ReadTermTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SaveTermTable(tbl); err != nil {
		t.Fatal(err)
	}
	st, err := r.CurrentStamp()
	if err != nil {
		t.Fatal(err)
	}
	blob := bytes.Repeat([]byte("name index "), 400_000) // 4.4 MB
	if err := r.WriteSealedFile("nameindex", "L1", st, func(w io.Writer) error { _, err := w.Write(blob); return err }); err != nil {
		t.Fatal(err)
	}
	tablePath, indexPath := TermTablePath(r.Path()), r.sealedPath("nameindex")
	check := func(when string) {
		t.Helper()
		for _, p := range []string{tablePath, indexPath} {
			if res, n := residentPages(t, p); res > 1 {
				t.Errorf("%s: the page cache holds %d of the %d pages of %s, want none", when, res, n, filepath.Base(p))
			}
		}
	}
	check("written")
	if _, err := r.LoadTermTable(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := readSealed(r, "nameindex", "L1"); err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("name index read back: %d bytes, %v", len(got), err)
	}
	check("read")
}

// A replica opened to warm (as the agent opens it) maps every page of its
// file in the background, those the page cache had dropped included:
// once Warmed, reading the whole file takes no page fault. Before, a
// start read the file page by page before serving (verify.go), which
// warmed it as a side effect; a start a close mark vouches for reads
// only the meta pages, and the first checks would read the disk.
func TestWarmMapsTheWholeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replica.db")
	r := openTest(t, path, testKey(1))
	fillScratch(t, r, 8000, 3000) // about 8,000 pages
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if f, err := os.Open(path); err == nil {
		dropCached(f) // as after a reboot, where the file is on a disk
		f.Close()
	}
	r, err := Open(context.Background(), path, testKey(1), Options{LockTimeout: time.Second, Warm: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	select {
	case <-r.Warmed():
	case <-time.After(30 * time.Second):
		t.Fatal("the replica did not warm within 30 s")
	}
	if faults := scratchFaults(t, r); faults > 50 {
		t.Errorf("reading 8,000 pages of a warmed replica took %d page faults, want at most 50 (the runtime's own)", faults)
	}
}

// Replicas that share a WarmBudget warm within it together: a second file
// that does not fit what the first left is not read (its checks fault its
// pages in, as a file larger than the memory), and the first one's Close
// gives its share back for the next start.
func TestWarmBudgetIsShared(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	var size int64
	for i, name := range []string{"main.db", "scope.db"} {
		path := filepath.Join(dir, name)
		r := openTest(t, path, testKey(byte(i+1)))
		fillScratch(t, r, 4000, 3000)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		size = max(size, fi.Size())
		paths = append(paths, path)
	}
	budget := NewWarmBudget(size + size/2) // one file, not two
	open := func(i int) *Replica {
		t.Helper()
		if f, err := os.Open(paths[i]); err == nil {
			dropCached(f)
			f.Close()
		}
		r, err := Open(context.Background(), paths[i], testKey(byte(i+1)), Options{LockTimeout: time.Second, Warm: true, WarmBudget: budget})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-r.Warmed():
		case <-time.After(30 * time.Second):
			t.Fatal("the replica did not warm within 30 s")
		}
		return r
	}
	main := open(0)
	if faults := scratchFaults(t, main); faults > 50 {
		t.Errorf("the first replica within the budget: %d page faults reading it, want at most 50", faults)
	}
	scope := open(1)
	if faults := scratchFaults(t, scope); faults < 1000 {
		t.Errorf("the second replica past the budget: %d page faults reading it, want its pages read as touched (1,000 or more)", faults)
	}
	scope.Close()
	main.Close()
	scope = open(1)
	defer scope.Close()
	if faults := scratchFaults(t, scope); faults > 50 {
		t.Errorf("after the first replica closed: %d page faults reading the second, want at most 50", faults)
	}
}
