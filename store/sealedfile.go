package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/borderpost/borderpost/store/atomicfile"
)

// A sealed file is what a caller (the agent's name index) keeps beside
// the replica so that a start loads it instead of rebuilding it from the
// alerts, like the term table: a cache, trusted only while its stamp is
// the replica's current one and its layout the caller's, never a source
// of truth.
//
// File: "BPSF1" ∥ u32 length ∥ stamp ∥ chunks; the stamp is the Stamp's
// fields, then the file's kind and the caller's layout version. Each
// chunk is u32 length ∥ seal(flag ∥ up to sealedChunk bytes) under the
// active key, its associated data binding the stamp and the chunk's
// number; the flag is 1 on the last chunk, so a file cut after any chunk
// is refused.
var sealedFileMagic = []byte("BPSF1")

// sealedChunk is how much of a sealed file one chunk holds (8 MiB).
const sealedChunk = 8 << 20

// NameIndexPath returns where the agent keeps its name index beside the
// replica at path.
func NameIndexPath(path string) string { return path + ".nameindex" }

// sealedPath returns the path of the sealed file of a kind.
func (r *Replica) sealedPath(kind string) string { return r.Path() + "." + kind }

// sealedStamp is a sealed file's stamp: st, its kind and its layout.
func sealedStamp(st Stamp, kind, layout string) []byte {
	b := bytes.Clone(st.prefix)
	for _, v := range []string{kind, layout} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return b
}

// WriteSealedFile replaces the sealed file of kind ("nameindex": see
// NameIndexPath) beside the replica with what write writes, sealed under
// the active key and stamped with st and layout, atomically: a crash
// leaves the old file or the new one. The caller answers for what write
// writes being its state at st.
func (r *Replica) WriteSealedFile(kind, layout string, st Stamp, write func(w io.Writer) error) error {
	ring := r.active.Load()
	if ring == nil {
		return fmt.Errorf("%w: no active key", ErrWrongKey)
	}
	if st.IsZero() {
		return fmt.Errorf("%w: no stamp", ErrSealedFile)
	}
	stamp := sealedStamp(st, kind, layout)
	domain := []byte("sealed." + kind)
	path := r.sealedPath(kind)
	err := atomicfile.Write(path, 0o600, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		bw.Write(sealedFileMagic)
		bw.Write(u32(uint32(len(stamp))))
		bw.Write(stamp)
		cw := &chunkWriter{seal: func(c uint64, plain []byte) error {
			sealed, err := ring.seal(domain, chunkAAD(stamp, c), plain)
			if err != nil {
				return err
			}
			bw.Write(u32(uint32(len(sealed))))
			_, err = bw.Write(sealed)
			return err
		}, buf: make([]byte, 1, sealedChunk+1)}
		if err := write(cw); err != nil {
			return err
		}
		if err := cw.close(); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("write %s: %w (the next start rebuilds it)", path, err)
	}
	dropCachedFile(path)
	return nil
}

// dropCachedFile drops the page cache's copy of the file at path, just
// written and synced (dropCached says why); a file it cannot open is
// left as it is.
func dropCachedFile(path string) {
	if f, err := os.Open(path); err == nil {
		dropCached(f)
		f.Close()
	}
}

// chunkWriter cuts what is written into chunks of sealedChunk bytes,
// each after its flag byte (buf[0]).
type chunkWriter struct {
	seal func(chunk uint64, plain []byte) error
	buf  []byte
	n    uint64
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	done := 0
	for len(p) > 0 {
		k := min(len(p), sealedChunk+1-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p, done = p[k:], done+k
		if len(w.buf) == sealedChunk+1 {
			w.buf[0] = 0
			if err := w.seal(w.n, w.buf); err != nil {
				return done, err
			}
			w.n++
			w.buf = w.buf[:1]
		}
	}
	return done, nil
}

// close seals the last chunk, flagged so.
func (w *chunkWriter) close() error {
	w.buf[0] = 1
	return w.seal(w.n, w.buf)
}

// OpenSealedFile opens the sealed file of kind beside the replica if it
// was written at the replica's current state (CurrentStamp) with layout,
// and returns a reader of its content and that state. Every chunk is
// authenticated as it is read: a read fails (an error wrapping
// ErrSealedFile) on a chunk altered, moved or missing, or data after the
// last; the caller must then discard what it read. Opening fails with
// ErrSealedFile when there is no such file, or it is stale, of another
// layout, file or key.
func (r *Replica) OpenSealedFile(kind, layout string) (io.ReadCloser, Stamp, error) {
	path := r.sealedPath(kind)
	refuse := func(why string) error { return fmt.Errorf("%w: %s: %s", ErrSealedFile, path, why) }
	cur, err := r.CurrentStamp()
	if err != nil {
		return nil, Stamp{}, fmt.Errorf("%w: %w", ErrSealedFile, err)
	}
	ring := r.active.Load()
	if ring == nil {
		return nil, Stamp{}, fmt.Errorf("%w: no active key", ErrWrongKey)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, Stamp{}, fmt.Errorf("%w: %w", ErrSealedFile, err)
	}
	br := bufio.NewReaderSize(f, 1<<20)
	head := make([]byte, len(sealedFileMagic)+4)
	if _, err := io.ReadFull(br, head); err != nil || !bytes.Equal(head[:len(sealedFileMagic)], sealedFileMagic) {
		f.Close()
		return nil, Stamp{}, refuse("not a sealed file")
	}
	want := sealedStamp(cur, kind, layout)
	stamp := make([]byte, binary.BigEndian.Uint32(head[len(sealedFileMagic):]))
	if len(stamp) != len(want) {
		f.Close()
		return nil, Stamp{}, refuse("stale, or of another layout")
	}
	if _, err := io.ReadFull(br, stamp); err != nil || !bytes.Equal(stamp, want) {
		f.Close()
		return nil, Stamp{}, refuse("stale, or of another layout")
	}
	return &chunkReader{f: f, br: br, ring: ring, stamp: stamp, domain: []byte("sealed." + kind), refuse: refuse}, cur, nil
}

// chunkReader opens a sealed file's chunks as they are read.
type chunkReader struct {
	f      *os.File
	br     *bufio.Reader
	ring   *keyring
	stamp  []byte
	domain []byte
	refuse func(string) error
	n      uint64
	plain  []byte // what is left of the current chunk
	buf    []byte // the current chunk, opened; reused for the next
	sealed []byte // the current chunk as read
	last   bool
	err    error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.plain) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		c.err = c.next()
	}
	k := copy(p, c.plain)
	c.plain = c.plain[k:]
	return k, nil
}

// next opens the next chunk, or ends the file after the last one.
func (c *chunkReader) next() error {
	if c.last {
		if _, err := c.br.ReadByte(); !errors.Is(err, io.EOF) {
			return c.refuse("trailing data")
		}
		return io.EOF
	}
	var lb [4]byte
	if _, err := io.ReadFull(c.br, lb[:]); err != nil {
		return c.refuse("cut short")
	}
	l := binary.BigEndian.Uint32(lb[:])
	if l > sealedChunk+1+64 {
		return c.refuse("chunk too long")
	}
	c.sealed = slices.Grow(c.sealed[:0], int(l))[:l]
	if _, err := io.ReadFull(c.br, c.sealed); err != nil {
		return c.refuse("cut short")
	}
	// The chunk before is read out: its buffer takes this one.
	plain, err := c.ring.openInto(c.buf, c.domain, chunkAAD(c.stamp, c.n), c.sealed)
	if err != nil || len(plain) == 0 {
		return c.refuse(fmt.Sprintf("chunk %d: %v", c.n, err))
	}
	c.buf = plain
	c.n++
	c.last = plain[0] == 1
	c.plain = plain[1:]
	return nil
}

func (c *chunkReader) Close() error {
	clear(c.buf[:cap(c.buf)]) // names in clear, in the name index
	dropCached(c.f)
	return c.f.Close()
}
