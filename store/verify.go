package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// bbolt maps its file and trusts what it finds there: a file cut short or
// with flipped bits makes it read past the mapping and the process dies
// (SIGSEGV, SIGBUS), which no recover catches. So a replica file is read
// first with ordinary, bounds-checked reads: both meta pages, and every
// page reachable from the meta bbolt will use. Only a file that passes is
// handed to bbolt. The layout is bbolt's (go.etcd.io/bbolt, format
// version 2, internal/common), in the machine's byte order, which is
// little-endian on every platform the agent ships for.

// bbolt's on-disk constants.
const (
	boltMagic         = 0xED0CDAED
	boltVersion       = 2
	boltPageHeader    = 16 // id u64, flags u16, count u16, overflow u32
	boltElement       = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	boltBucketHeader  = 16 // root pgid u64, sequence u64
	boltBranchPage    = 0x01
	boltLeafPage      = 0x02
	boltMetaPage      = 0x04
	boltFreelistPage  = 0x10
	boltBucketLeaf    = 0x01
	boltNoFreelist    = ^uint64(0)
	boltMetaSumLength = 56 // bytes of the meta covered by its checksum
	boltMaxDepth      = 64 // deeper trees are not bbolt's
)

var le = binary.LittleEndian

// boltMeta is one of the two meta pages of a bbolt file.
type boltMeta struct {
	pageSize uint32
	root     uint64 // root bucket's page
	freelist uint64
	hwm      uint64 // high water mark: every page in use is below it
	txid     uint64
}

// parseMeta reads the meta at the start of page p (header included) and
// checks its magic, version and checksum.
func parseMeta(p []byte) (boltMeta, error) {
	var m boltMeta
	if len(p) < boltPageHeader+boltMetaSumLength+8 {
		return m, errors.New("too short")
	}
	b := p[boltPageHeader:]
	switch {
	case le.Uint32(b[0:]) != boltMagic:
		return m, errors.New("not a bbolt meta page (magic)")
	case le.Uint32(b[4:]) != boltVersion:
		return m, fmt.Errorf("bbolt format version %d, want %d", le.Uint32(b[4:]), boltVersion)
	}
	h := fnv.New64a()
	h.Write(b[:boltMetaSumLength])
	if h.Sum64() != le.Uint64(b[boltMetaSumLength:]) {
		return m, errors.New("checksum mismatch")
	}
	m = boltMeta{pageSize: le.Uint32(b[8:]), root: le.Uint64(b[16:]), freelist: le.Uint64(b[32:]), hwm: le.Uint64(b[40:]), txid: le.Uint64(b[48:])}
	if m.pageSize < 1024 || m.pageSize > 1<<16 || m.pageSize&(m.pageSize-1) != 0 {
		return m, fmt.Errorf("page size %d", m.pageSize)
	}
	return m, nil
}

// boltFile reads a bbolt file page by page, every read bounds-checked.
type boltFile struct {
	r        io.ReaderAt
	size     int64
	pageSize int
	meta     boltMeta // the meta bbolt would use
	// advise, when not nil, asks the kernel to read n bytes at off ahead
	// of their use (a file on disk; fileAdvice).
	advise func(off, n int64)
	// reuse lets preload read into a window's buffer again: set while
	// pages are checked in page order, where no page is kept (the
	// 18 GB of a 100-million-alert replica in new buffers cost a
	// start seconds of clearing and collecting).
	reuse bool
	// wins are the last windows of the file read: a walk reads pages
	// mostly in file order, and one read of a window instead of one per
	// page takes most of the system calls out of a start (a 2.5 GB file
	// is 600,000 pages). A window moved on is dropped, never reused, so
	// the pages handed out of it stay valid.
	wins [boltWindows]boltWindow
	next int // the window to replace next
}

// boltWindow is one window of a file read by boltFile.
type boltWindow struct {
	off int64
	buf []byte
}

// The windows boltFile keeps, and their size; a run of pages checked in
// page order is read in one window of up to boltRunSize (reads of 256 KiB
// one after the other took 25 s of a 100-million-alert replica's start
// from a cold page cache).
const (
	boltWindows    = 4
	boltWindowSize = 256 << 10
	boltRunSize    = 4 << 20
	// boltReadAhead is how far ahead of the pages being checked the
	// kernel is asked to read (boltFile.advise).
	boltReadAhead = 256 << 20
)

// readPages returns n pages from page id on, out of a window, reading
// one when none holds them.
func (f *boltFile) readPages(id uint64, n uint64) ([]byte, error) {
	off, l := int64(id)*int64(f.pageSize), int64(n)*int64(f.pageSize)
	for _, w := range f.wins {
		if w.buf != nil && off >= w.off && off+l <= w.off+int64(len(w.buf)) {
			return w.buf[off-w.off : off-w.off+l : off-w.off+l], nil
		}
	}
	if l > boltWindowSize/2 {
		p := make([]byte, l)
		if _, err := f.r.ReadAt(p, off); err != nil {
			return nil, err
		}
		return p, nil
	}
	woff := off &^ (boltWindowSize - 1)
	wl := min(int64(boltWindowSize), f.size-woff)
	if off+l > woff+wl { // straddles two windows: start one at the page
		woff, wl = off, min(int64(boltWindowSize), f.size-off)
	}
	buf := make([]byte, wl)
	if n, err := f.r.ReadAt(buf, woff); int64(n) < off-woff+l {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	f.wins[f.next] = boltWindow{off: woff, buf: buf}
	f.next = (f.next + 1) % boltWindows
	return buf[off-woff : off-woff+l : off-woff+l], nil
}

// preload reads pages from up to to (exclusive, at most boltRunSize)
// into a window, so that the pages of a run checked next are read with
// one read.
func (f *boltFile) preload(from, to uint64) {
	off, end := int64(from)*int64(f.pageSize), min(int64(to)*int64(f.pageSize), f.size)
	if end <= off || end-off > boltRunSize {
		return
	}
	for _, w := range f.wins {
		if w.buf != nil && off >= w.off && end <= w.off+int64(len(w.buf)) {
			return
		}
	}
	var buf []byte
	if old := f.wins[f.next].buf; f.reuse && cap(old) >= int(end-off) {
		buf = old[:end-off] // nothing checked in page order keeps a page
	} else {
		buf = make([]byte, end-off, max(end-off, boltRunSize))
	}
	if n, err := f.r.ReadAt(buf, off); int64(n) < end-off {
		_ = err // page() reads again and reports it
		f.wins[f.next] = boltWindow{}
		return
	}
	f.wins[f.next] = boltWindow{off: off, buf: buf}
	f.next = (f.next + 1) % boltWindows
}

// openBoltFile checks the meta pages of the file r of size bytes the way
// bbolt picks one (the valid meta with the highest transaction), and that
// the pages it names lie within the file.
func openBoltFile(r io.ReaderAt, size int64) (*boltFile, error) {
	var metas []boltMeta
	var why []string
	// The first meta is at 0; the second one page further, the page size
	// being known only from a valid meta: try them all, as bbolt does.
	buf := make([]byte, 4096)
	for i, off := range []int64{0, 1024, 2048, 4096, 8192, 16384, 32768, 65536} {
		if off >= size {
			break
		}
		n, _ := r.ReadAt(buf, off)
		m, err := parseMeta(buf[:n])
		if err != nil {
			if i == 0 {
				why = append(why, "first meta page: "+err.Error())
			}
			continue
		}
		if (off == 0) != (m.txid%2 == 0) || (off != 0 && int64(m.pageSize) != off) {
			continue // a meta copied elsewhere, not where bbolt looks for it
		}
		metas = append(metas, m)
	}
	if len(metas) == 0 {
		why = append(why, "no valid meta page")
		return nil, fmt.Errorf("%s", joinWhy(why))
	}
	best := metas[0]
	for _, m := range metas[1:] {
		if m.txid > best.txid {
			best = m
		}
	}
	ps := int64(best.pageSize)
	switch {
	case size < 4*ps:
		return nil, fmt.Errorf("%d bytes, less than the 4 pages of an empty database (file cut short)", size)
	case best.hwm < 4 || best.hwm > uint64(size/ps):
		return nil, fmt.Errorf("the database extends to page %d but the file holds %d pages of %d bytes (file cut short)", best.hwm, size/ps, ps)
	case best.root < 2 || best.root >= best.hwm:
		return nil, fmt.Errorf("root page %d outside pages 2..%d", best.root, best.hwm-1)
	case best.freelist != boltNoFreelist && (best.freelist < 2 || best.freelist >= best.hwm):
		return nil, fmt.Errorf("freelist page %d outside pages 2..%d", best.freelist, best.hwm-1)
	}
	return &boltFile{r: r, size: size, pageSize: int(ps), meta: best}, nil
}

func joinWhy(why []string) string {
	var b bytes.Buffer
	for i, w := range why {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(w)
	}
	return b.String()
}

// page reads page id with its overflow pages, all below the high water
// mark and within the file.
func (f *boltFile) page(id uint64) ([]byte, error) {
	if id < 2 || id >= f.meta.hwm {
		return nil, fmt.Errorf("page %d outside pages 2..%d", id, f.meta.hwm-1)
	}
	first, err := f.readPages(id, 1)
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	if got := le.Uint64(first); got != id {
		return nil, fmt.Errorf("page %d says it is page %d", id, got)
	}
	over := uint64(le.Uint32(first[12:]))
	if over == 0 {
		return first, nil
	}
	if id+over >= f.meta.hwm {
		return nil, fmt.Errorf("page %d runs %d pages past the end of the database", id, id+over-f.meta.hwm+1)
	}
	p, err := f.readPages(id, over+1)
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	return p, nil
}

// boltVisit receives each key and value of a bucket while a file is
// walked; path names the bucket (outermost first). Bucket entries
// themselves are not visited.
type boltVisit func(path [][]byte, k, v []byte)

// walker checks the tree of a file from the root bucket down, marking
// every page it reaches.
type walker struct {
	f     *boltFile
	seen  pageSet
	visit boltVisit
	// paths are the buckets met, outermost first; a page refers to its
	// bucket's by index.
	paths [][][]byte
	// next, when not nil, takes the child pages of the pages checked,
	// to be checked in page order (checkInPageOrder) rather than at once.
	next *[]pendingPage
}

// pendingPage is a page to check: its id, depth and bucket (an index into
// walker.paths). 16 bytes: a file of 100 million alerts has 4.6 million
// pages.
type pendingPage struct {
	id    uint64
	depth int32
	path  int32
}

// check walks the whole tree and the freelist: every page reachable once,
// of the right type, within the database; every element within its page;
// keys in order; no free page also in use. visit, when not nil, is given
// every key and value in key order; with none the pages are checked in
// page order (checkInPageOrder), which reads the file once whatever the
// order deltas left its pages in.
func (f *boltFile) check(visit boltVisit) error {
	w := &walker{f: f, seen: newPageSet(f.meta.hwm), visit: visit, paths: [][][]byte{nil}}
	w.seen.add(0)
	w.seen.add(1)
	if visit == nil {
		if err := w.checkInPageOrder(); err != nil {
			return err
		}
	} else if err := w.tree(f.meta.root, 0, 0); err != nil {
		return err
	}
	if f.meta.freelist == boltNoFreelist {
		return nil
	}
	p, err := f.page(f.meta.freelist)
	if err != nil {
		return fmt.Errorf("freelist: %w", err)
	}
	if flags := le.Uint16(p[8:]); flags != boltFreelistPage {
		return fmt.Errorf("freelist page %d has type %#x", f.meta.freelist, flags)
	}
	n, ids := uint64(le.Uint16(p[10:])), p[boltPageHeader:]
	if n == 0xFFFF {
		n, ids = le.Uint64(ids), ids[8:]
	}
	if n > uint64(len(ids)/8) {
		return fmt.Errorf("freelist page %d lists %d pages, room for %d", f.meta.freelist, n, len(ids)/8)
	}
	for i := range n {
		id := le.Uint64(ids[i*8:])
		if id < 2 || id >= f.meta.hwm {
			return fmt.Errorf("freelist names page %d, outside pages 2..%d", id, f.meta.hwm-1)
		}
		if w.seen.has(id) {
			return fmt.Errorf("page %d is both free and in use", id)
		}
	}
	return nil
}

// pageSet is a set of page numbers below the high water mark: a bit
// each (a map took a third of a 10M-alert start's verification).
type pageSet []uint64

func newPageSet(hwm uint64) pageSet { return make(pageSet, hwm/64+1) }

// add takes a page below the high water mark (checked when it was read).
func (s pageSet) add(id uint64) { s[id/64] |= 1 << (id % 64) }

func (s pageSet) has(id uint64) bool { return id/64 < uint64(len(s)) && s[id/64]&(1<<(id%64)) != 0 }

// checkInPageOrder checks the tree level by level, each level's pages in
// ascending order and read in runs of nearby pages: the same checks as
// tree's walk in key order, but a file whose pages deltas have scattered
// is read once, not a window for nearly every page (a 100-million-alert
// replica after a 200,000-operation delta took 46 s to verify in key
// order, from the page cache).
func (w *walker) checkInPageOrder() error {
	w.f.reuse = true
	defer func() { w.f.reuse = false }()
	level := []pendingPage{{id: w.f.meta.root}}
	var next []pendingPage
	w.next = &next
	gap, span := uint64(boltWindowSize/w.f.pageSize), uint64(boltRunSize/w.f.pageSize)
	type run struct{ first, last int } // indexes into level
	var runs []run
	for len(level) > 0 {
		slices.SortFunc(level, func(a, b pendingPage) int { return cmp.Compare(a.id, b.id) })
		// The pages of this level that follow each other with gaps under
		// a window's size are read together, up to a run.
		runs = runs[:0]
		for i := 0; i < len(level); {
			j := i
			for j+1 < len(level) && level[j+1].id < level[j].id+gap && level[j+1].id < level[i].id+span {
				j++
			}
			runs = append(runs, run{i, j})
			i = j + 1
		}
		// Ask the kernel for the runs ahead, so that the disk reads many
		// at once: read one by one, the branch levels' pages scattered
		// over the file cost a disk's latency each.
		bytesOf := func(rn run) (int64, int64, bool) {
			a, b := level[rn.first].id, level[rn.last].id+1
			return int64(a) * int64(w.f.pageSize), int64(b-a) * int64(w.f.pageSize), a >= 2 && b <= w.f.meta.hwm
		}
		advised, ahead := 0, int64(0)
		for k, rn := range runs {
			for w.f.advise != nil && advised < len(runs) && (advised <= k || ahead < boltReadAhead) {
				if off, n, ok := bytesOf(runs[advised]); ok {
					w.f.advise(off, n)
					ahead += n
				}
				advised++
			}
			if _, n, ok := bytesOf(rn); ok {
				ahead -= n
				w.f.preload(level[rn.first].id, level[rn.last].id+1)
			}
			for i := rn.first; i <= rn.last; i++ {
				pp := level[i]
				if err := w.tree(pp.id, int(pp.path), int(pp.depth)); err != nil {
					return err
				}
			}
		}
		level, next = next, level[:0]
	}
	return nil
}

// tree checks the b-tree rooted at page id, whose bucket is
// w.paths[path].
func (w *walker) tree(id uint64, path, depth int) error {
	if depth > boltMaxDepth {
		return fmt.Errorf("page %d: tree deeper than %d", id, boltMaxDepth)
	}
	if w.seen.has(id) {
		return fmt.Errorf("page %d reached twice", id)
	}
	p, err := w.f.page(id)
	if err != nil {
		return err
	}
	for i := range uint64(len(p) / w.f.pageSize) {
		w.seen.add(id + i)
	}
	return w.node(p, id, path, depth)
}

// child checks the page id below the page being checked, at once in key
// order or, checking in page order, with the next level.
func (w *walker) child(id uint64, path, depth int) error {
	if w.next == nil {
		return w.tree(id, path, depth)
	}
	if depth > boltMaxDepth {
		return fmt.Errorf("page %d: tree deeper than %d", id, boltMaxDepth)
	}
	*w.next = append(*w.next, pendingPage{id: id, depth: int32(depth), path: int32(path)})
	return nil
}

// node checks one branch or leaf page p (a whole page, or an inline
// bucket's page inside a value) of the bucket w.paths[path].
func (w *walker) node(p []byte, id uint64, path, depth int) error {
	if len(p) < boltPageHeader {
		return fmt.Errorf("page %d: %d bytes", id, len(p))
	}
	flags, count := le.Uint16(p[8:]), int(le.Uint16(p[10:]))
	if boltPageHeader+count*boltElement > len(p) {
		return fmt.Errorf("page %d: %d elements do not fit", id, count)
	}
	var prev []byte
	for i := range count {
		e := boltPageHeader + i*boltElement
		var k, v []byte
		var child uint64
		switch flags {
		case boltBranchPage:
			pos, ks := int(le.Uint32(p[e:])), int(le.Uint32(p[e+4:]))
			child = le.Uint64(p[e+8:])
			if pos < 0 || ks < 0 || e+pos+ks > len(p) || e+pos < 0 {
				return fmt.Errorf("page %d: element %d outside the page", id, i)
			}
			k = p[e+pos : e+pos+ks]
		case boltLeafPage:
			pos, ks, vs := int(le.Uint32(p[e+4:])), int(le.Uint32(p[e+8:])), int(le.Uint32(p[e+12:]))
			if pos < 0 || ks < 0 || vs < 0 || e+pos+ks+vs > len(p) || e+pos < 0 {
				return fmt.Errorf("page %d: element %d outside the page", id, i)
			}
			k, v = p[e+pos:e+pos+ks], p[e+pos+ks:e+pos+ks+vs]
		default:
			return fmt.Errorf("page %d: type %#x where a branch or leaf page belongs", id, flags)
		}
		if i > 0 && bytes.Compare(prev, k) >= 0 {
			return fmt.Errorf("page %d: keys out of order at element %d", id, i)
		}
		prev = k
		if flags == boltBranchPage {
			if err := w.child(child, path, depth+1); err != nil {
				return err
			}
			continue
		}
		if le.Uint32(p[e:])&boltBucketLeaf == 0 {
			if w.visit != nil {
				w.visit(w.paths[path], k, v)
			}
			continue
		}
		if len(v) < boltBucketHeader {
			return fmt.Errorf("page %d: bucket %q has a %d-byte header", id, k, len(v))
		}
		outer := w.paths[path]
		w.paths = append(w.paths, append(outer[:len(outer):len(outer)], bytes.Clone(k))) // the page's buffer may be read into again
		sub := len(w.paths) - 1
		if root := le.Uint64(v); root != 0 {
			if err := w.child(root, sub, depth+1); err != nil {
				return err
			}
		} else if err := w.node(v[boltBucketHeader:], id, sub, depth+1); err != nil {
			return fmt.Errorf("inline bucket %q: %w", k, err)
		}
	}
	if flags == boltBranchPage && count == 0 {
		return fmt.Errorf("page %d: empty branch page", id)
	}
	return nil
}

// verifyFile checks the replica file at path before bbolt maps it. A
// missing file is fine (bbolt creates it); an empty one is refused. It holds a shared lock
// on the file while it reads, so that a running agent's writes are not
// mistaken for damage; if the lock is not free within timeout it fails as
// bbolt would.
func verifyFile(path string, timeout time.Duration) error {
	_, err := verifyFileUnlessClosed(path, timeout, nil)
	return err
}

// checkFileLogged is verifyFileUnlessClosed for Open and ReadStatus, which
// say in the log which check the file had: a technician reading a slow
// start's log sees whether the whole file was read, and why.
func checkFileLogged(path string, timeout time.Duration, markKey []byte, log *slog.Logger) error {
	t0 := time.Now()
	vouched, err := verifyFileUnlessClosed(path, timeout, markKey)
	if err != nil {
		return err
	}
	if vouched {
		log.Info("replica closed cleanly and unchanged since: its tree is not read again", "path", path)
	} else {
		log.Info("replica file checked page by page", "path", path, "took", time.Since(t0).Round(time.Millisecond))
	}
	return nil
}

// verifyFileUnlessClosed is verifyFile, but checks only the meta pages
// when the close mark beside path, under markKey, vouches for the file
// (closemark.go); vouched says so.
func verifyFileUnlessClosed(path string, timeout time.Duration, markKey []byte) (vouched bool, err error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("open replica %s: %w", path, err)
	}
	defer f.Close()
	if !sharedLock(f, timeout) {
		return false, fmt.Errorf("open replica %s: %w (is another borderpost running?)", path, bolterrors.ErrTimeout)
	}
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("open replica %s: %w", path, err)
	}
	if fi.Size() == 0 {
		// bbolt would make it a new, empty database: a backup copied
		// back empty must not silently become one.
		return false, damaged(path, errors.New("empty file (0 bytes)"))
	}
	bf, err := openBoltFile(f, fi.Size())
	if err != nil {
		return false, damaged(path, err)
	}
	if closeMarkMatches(markKey, path, f, fi, bf.pageSize) {
		return true, nil
	}
	if err := bf.checkTree(); err != nil {
		return false, damaged(path, err)
	}
	return false, nil
}

// checkBoltFile checks the meta pages and the whole tree of a bbolt file.
func checkBoltFile(r io.ReaderAt, size int64) error {
	bf, err := openBoltFile(r, size)
	if err != nil {
		return err
	}
	return bf.checkTree()
}

// checkTree checks every page of the tree openBoltFile opened; a file on
// disk is read with the kernel reading ahead (fileAdvice).
func (f *boltFile) checkTree() error {
	if file, ok := f.r.(*os.File); ok {
		f.advise = fileAdvice(file)
	}
	return f.check(nil)
}

// damaged wraps what is wrong with the file at path in ErrDamaged, with
// the remedy.
func damaged(path string, why error) error {
	return fmt.Errorf("%w: %s: %v; stop the agent and run `borderpost replica rebuild`: it moves the file aside, keeps the hits not yet sent to central and fetches the watch list again", ErrDamaged, path, why)
}

// createIfEmpty lays out a new file, but only if the meta bucket is empty:
// a file that holds records but no format record is damaged (a flipped
// bit in a key), and making it a new replica would silently drop what it
// holds.
func (r *Replica) createIfEmpty(tx *bolt.Tx, key []byte) error {
	if k, _ := tx.Bucket(bucketMeta).Cursor().First(); k != nil {
		return damaged(r.db.Path(), errors.New("the replica holds records but no format record"))
	}
	return r.create(tx, key)
}

// VerifyFile checks the replica file at path without opening it as a
// database and without a key: meta pages, sizes, and every page of the
// tree. It returns an ErrDamaged error naming what is wrong and the
// remedy, or nil.
func VerifyFile(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("verify replica: %w", err)
	}
	return verifyFile(path, 5*time.Second)
}
