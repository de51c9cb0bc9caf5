package store

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// A snapshot's keys are HMACs, so inserting them as they come touches a
// random leaf of the B+tree each time, and every transaction rewrites most
// of the tree: a million alerts would take many minutes. The bulk loader
// instead collects sealed entries, sorts them in runs (spilled beside the
// database when memory is full: ciphertext and HMAC keys only, never
// plaintext), and at Commit merges the runs and inserts every bucket in
// key order, which bbolt handles as appends.

// Sort keys put alerts and tombstones by HMAC, then the expiry index:
//
//	0x00 HMAC(32) 0x00  alert value
//	0x00 HMAC(32) 0x01  tombstone value
//	0x01 expires(8) HMAC(32)
//	0x02 term HMAC[:8] HMAC[:8]   (terms.go)
//
// so entries for the same alert ID are adjacent, and a repeated ID in a
// snapshot is found while merging.
const (
	sortAlert  = 0x00
	sortExpiry = 0x01
	subAlert   = 0x00
	subTomb    = 0x01
)

// runMemory is how much sealed data the loader keeps before it spills a
// sorted run to disk.
const runMemory = 32 << 20

type sortEntry struct{ key, val []byte }

type bulkLoader struct {
	dir    string // run files, created on the first spill
	memory int    // bytes kept before a spill; 0 means runMemory
	buf    []sortEntry
	bytes  int
	runs   []string
}

// add buffers an entry; key and val must stay valid until the loader is
// done with them (a spill writes them out).
func (l *bulkLoader) add(key, val []byte) error {
	l.buf = append(l.buf, sortEntry{key, val})
	l.bytes += len(key) + len(val) + 48
	if l.bytes >= cmp.Or(l.memory, runMemory) {
		return l.spill()
	}
	return nil
}

func sortEntries(es []sortEntry) {
	slices.SortFunc(es, func(a, b sortEntry) int { return bytes.Compare(a.key, b.key) })
}

// spill writes the buffer as a sorted run file.
func (l *bulkLoader) spill() error {
	sortEntries(l.buf)
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return fmt.Errorf("snapshot run directory: %w", err)
	}
	path := filepath.Join(l.dir, fmt.Sprintf("run-%04d", len(l.runs)))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("snapshot run: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var hdr []byte
	for _, e := range l.buf {
		hdr = binary.AppendUvarint(hdr[:0], uint64(len(e.key)))
		hdr = binary.AppendUvarint(hdr, uint64(len(e.val)))
		w.Write(hdr)
		w.Write(e.key)
		w.Write(e.val)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("snapshot run: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("snapshot run: %w", err)
	}
	l.runs = append(l.runs, path)
	l.buf, l.bytes = nil, 0
	return nil
}

// remove deletes the run files.
func (l *bulkLoader) remove() {
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
}

// source is one sorted stream of entries.
type source interface {
	next() (sortEntry, bool, error)
	close()
}

type memSource struct {
	es []sortEntry
	i  int
}

func (m *memSource) next() (sortEntry, bool, error) {
	if m.i >= len(m.es) {
		return sortEntry{}, false, nil
	}
	m.i++
	return m.es[m.i-1], true, nil
}
func (m *memSource) close() {}

type fileSource struct {
	f *os.File
	r *bufio.Reader
}

func (s *fileSource) next() (sortEntry, bool, error) {
	kl, err := binary.ReadUvarint(s.r)
	if err == io.EOF {
		return sortEntry{}, false, nil
	}
	if err != nil {
		return sortEntry{}, false, fmt.Errorf("snapshot run: %w", err)
	}
	vl, err := binary.ReadUvarint(s.r)
	if err != nil || kl > maxImportLine || vl > maxImportLine {
		return sortEntry{}, false, fmt.Errorf("%w: snapshot run damaged", ErrCorrupt)
	}
	// Fresh slices: bbolt keeps what Put is given until the commit.
	b := make([]byte, kl+vl)
	if _, err := io.ReadFull(s.r, b); err != nil {
		return sortEntry{}, false, fmt.Errorf("snapshot run: %w", err)
	}
	return sortEntry{b[:kl:kl], b[kl:]}, true, nil
}
func (s *fileSource) close() { s.f.Close() }

// merger yields the entries of all sources in key order.
type merger struct {
	h mergeHeap
}

type mergeItem struct {
	e   sortEntry
	src source
}

type mergeHeap []mergeItem

func (h mergeHeap) Len() int           { return len(h) }
func (h mergeHeap) Less(i, j int) bool { return bytes.Compare(h[i].e.key, h[j].e.key) < 0 }
func (h mergeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)        { *h = append(*h, x.(mergeItem)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// merge sorts what is buffered and opens every run.
func (l *bulkLoader) merge() (*merger, error) {
	sortEntries(l.buf)
	srcs := []source{&memSource{es: l.buf}}
	for _, p := range l.runs {
		f, err := os.Open(p)
		if err != nil {
			for _, s := range srcs {
				s.close()
			}
			return nil, fmt.Errorf("snapshot run: %w", err)
		}
		srcs = append(srcs, &fileSource{f: f, r: bufio.NewReaderSize(f, 256<<10)})
	}
	m := &merger{}
	for _, s := range srcs {
		e, ok, err := s.next()
		if err != nil {
			m.close()
			return nil, err
		}
		if ok {
			m.h = append(m.h, mergeItem{e, s})
		} else {
			s.close()
		}
	}
	heap.Init(&m.h)
	return m, nil
}

func (m *merger) next() (sortEntry, bool, error) {
	if len(m.h) == 0 {
		return sortEntry{}, false, nil
	}
	top := m.h[0]
	e, ok, err := top.src.next()
	if err != nil {
		return sortEntry{}, false, err
	}
	if ok {
		m.h[0].e = e
		heap.Fix(&m.h, 0)
	} else {
		top.src.close()
		heap.Pop(&m.h)
	}
	return top.e, true, nil
}

func (m *merger) close() {
	for _, it := range m.h {
		it.src.close()
	}
	m.h = nil
}
