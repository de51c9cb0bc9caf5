package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"time"

	"github.com/borderpost/borderpost/store/atomicfile"
	bolt "go.etcd.io/bbolt"
)

// The term table is the active generation's term fingerprints (the first
// 8 bytes of its term keys, ascending: what EachTermFingerprint gives),
// kept in a file beside the replica (TermTablePath) so that a cold start
// reads one sealed file instead of walking the term index's B+tree. It is
// a cache: trusted only while its stamp equals the replica's, refused
// (and the index walked) otherwise, never a source of truth.
//
// The stamp names the state the table was read in: the file's salt, the
// key generation, the alert generation, the term function's version, the
// term index's revision (termsRevKey: a random value written by every
// transaction that files an alert under a term, and whenever the index is
// marked complete) and the cursor. Removals do not change the revision: a
// fingerprint of a removed alert is inert (a lookup confirms every
// fingerprint against the replica), a missing one would be a false miss.
//
// File: "BPTT1" ∥ u32 stamp length ∥ stamp ∥ chunks; each chunk is
// u32 length ∥ seal(up to termTableChunk fingerprints, little-endian),
// its associated data binding the stamp and the chunk's number, so a
// chunk moved, cut or from another table fails to open.
var (
	termsRevKey     = []byte("rev") // shorter than a term key, like the version and the count
	termTableMagic  = []byte("BPTT1")
	termTableBucket = []byte("termtable") // the seal's domain
)

// termTableChunk is how many fingerprints one sealed chunk holds (8 MiB).
const termTableChunk = 1 << 20

// TermTablePath returns where the term table of the replica at path is
// kept.
func TermTablePath(path string) string { return path + ".termtable" }

// TermTable is a snapshot of the active generation's term fingerprints
// with the stamp of the state they were read in.
type TermTable struct {
	// Fingerprints are ascending, as EachTermFingerprint gives them.
	Fingerprints []uint64
	stamp        []byte
}

// touchTerms gives the term index a new revision: a term table read
// before is stale from now on.
func (g *generation) touchTerms() error {
	if g.revised {
		return nil
	}
	rev := make([]byte, 16)
	if _, err := rand.Read(rev); err != nil {
		return err
	}
	g.revised = true
	return g.terms.Put(termsRevKey, rev)
}

// termStamp returns the stamp of the term table of the state tx reads.
func (r *Replica) termStamp(tx *bolt.Tx, st *txState, count int) ([]byte, error) {
	s, err := r.stampOf(tx, st)
	if err != nil {
		return nil, err
	}
	return appendStampCount(s.prefix, count), nil
}

// appendStampCount ends a term table's stamp with its own count.
func appendStampCount(prefix []byte, count int) []byte {
	b := bytes.Clone(prefix)
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(count))
}

// Stamp names a state of the replica that files beside it (the term
// table, the agent's name index) are taken in: the file's salt, the key
// and alert generations, the term function's version, the term index's
// revision and the cursor. A file is trusted only while its stamp equals
// the replica's current one (see TermTable).
type Stamp struct {
	prefix []byte // every field, as files record it
	base   []byte // the salt, the generations and the term version
	cursor [48]byte
}

// IsZero reports whether s names no state.
func (s Stamp) IsZero() bool { return s.prefix == nil }

// Equal reports whether s and o name the same state.
func (s Stamp) Equal(o Stamp) bool { return bytes.Equal(s.prefix, o.prefix) }

// SameBase reports whether s and o name states of the same file, key,
// alert generation and term function: states that only changes (Apply)
// and purges lead from one to the other.
func (s Stamp) SameBase(o Stamp) bool { return !s.IsZero() && bytes.Equal(s.base, o.base) }

// AtChange reports whether s is the state a change leaves the cursor
// in: its epoch, sequence and hash.
func (s Stamp) AtChange(epoch, seq uint64, hash [32]byte) bool {
	var c [48]byte
	binary.BigEndian.PutUint64(c[:], epoch)
	binary.BigEndian.PutUint64(c[8:], seq)
	copy(c[16:], hash[:])
	return c == s.cursor
}

// stampOf returns the stamp of the state tx reads.
func (r *Replica) stampOf(tx *bolt.Tx, st *txState) (Stamp, error) {
	c, err := readCursor(tx)
	if err != nil {
		return Stamp{}, err
	}
	var b []byte
	field := func(v []byte) { b = binary.BigEndian.AppendUint32(b, uint32(len(v))); b = append(b, v...) }
	field(r.salt)
	field(u32(st.ring.gen))
	field(u64(st.gen.num))
	field(st.gen.terms.Get(termsVersionKey))
	base := len(b)
	field(st.gen.terms.Get(termsRevKey))
	field(u64(c.Epoch))
	field(u64(c.Seq))
	field(c.Hash[:])
	s := Stamp{prefix: b, base: b[:base:base]}
	binary.BigEndian.PutUint64(s.cursor[:], c.Epoch)
	binary.BigEndian.PutUint64(s.cursor[8:], c.Seq)
	copy(s.cursor[16:], c.Hash[:])
	return s, nil
}

// CurrentStamp returns the stamp of the replica's current state, read in
// one transaction. It fails with ErrTermTable when the term index is not
// ready: no file beside the replica stands for such a state.
func (r *Replica) CurrentStamp() (Stamp, error) {
	var s Stamp
	err := r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		if r.terms == nil || st.gen.terms == nil || !bytes.Equal(st.gen.terms.Get(termsVersionKey), r.termsVersion) {
			return fmt.Errorf("%w: the term index is not ready", ErrTermTable)
		}
		s, err = r.stampOf(tx, st)
		return err
	})
	return s, err
}

// Stamp returns the state t was read in.
func (t *TermTable) Stamp() Stamp {
	if len(t.stamp) < countField {
		return Stamp{}
	}
	p := t.stamp[:len(t.stamp)-countField]
	// The base is the first four fields.
	off := 0
	for range 4 {
		if off+4 > len(p) {
			return Stamp{}
		}
		off += 4 + int(binary.BigEndian.Uint32(p[off:]))
	}
	if off > len(p) || len(p) < 48+3*4 {
		return Stamp{}
	}
	s := Stamp{prefix: p, base: p[:off:off]}
	// The cursor is the last three fields: 8, 8 and 32 bytes.
	tail := p[len(p)-(4+8+4+8+4+32):]
	copy(s.cursor[:8], tail[4:12])
	copy(s.cursor[8:16], tail[16:24])
	copy(s.cursor[16:], tail[28:])
	return s
}

// countField is the length of a term table stamp's last field, its count.
const countField = 4 + 8

// ReadTermTable walks the active generation's term index, as
// EachTermFingerprint does, into a table stamped with the state it read,
// in one read transaction. A term index not ready gives an error: its
// table would miss terms.
func (r *Replica) ReadTermTable(ctx context.Context) (*TermTable, error) {
	n, err := r.AlertCount()
	if err != nil {
		return nil, err
	}
	t := &TermTable{Fingerprints: make([]uint64, 0, n)}
	err = r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		if r.terms == nil || st.gen.terms == nil || !bytes.Equal(st.gen.terms.Get(termsVersionKey), r.termsVersion) {
			return fmt.Errorf("%w: the term index is not ready; open the replica with the agent's term function", ErrTermTable)
		}
		c := st.gen.terms.Cursor()
		start, report := time.Now(), time.Now()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) != termEntryLen {
				continue // the version, the count, the revision
			}
			fp := binary.BigEndian.Uint64(k)
			if l := len(t.Fingerprints); l > 0 && t.Fingerprints[l-1] == fp {
				continue // the same term filing another alert (keys sort by term first)
			}
			if len(t.Fingerprints)%(1<<16) == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				if time.Since(report) > 10*time.Second {
					// Minutes at 100 million alerts from a cold disk.
					report = time.Now()
					r.log.Info("walking the term index", "terms", len(t.Fingerprints), "alerts", n, "took", time.Since(start).Round(time.Second))
				}
			}
			t.Fingerprints = append(t.Fingerprints, fp)
		}
		t.stamp, err = r.termStamp(tx, st, len(t.Fingerprints))
		return err
	})
	if err != nil {
		return nil, err
	}
	if cap(t.Fingerprints)-len(t.Fingerprints) > len(t.Fingerprints)/8 {
		// Sized for every alert, but persons and names share terms: the
		// table stays in memory as long as the index, so not its slack.
		t.Fingerprints = append(make([]uint64, 0, len(t.Fingerprints)), t.Fingerprints...)
	}
	return t, nil
}

// SaveTermTable writes t beside the replica (TermTablePath), sealed
// under the active key, replacing the table there. A table that is no
// longer current is written anyway, harmlessly: LoadTermTable refuses it.
func (r *Replica) SaveTermTable(t *TermTable) error {
	return r.SaveTermTableAt(context.Background(), t.Stamp(), len(t.Fingerprints), slices.Values(t.Fingerprints))
}

// SaveTermTableAt writes the n fingerprints fps gives, ascending, as the
// term table of the state st (TermTablePath), sealed under the active
// key, replacing the table there, without holding them all in memory
// twice: the agent writes its in-memory set this way after deltas. The
// caller answers for fps holding every term the index held in state st
// (more is harmless: a lookup confirms every fingerprint). It fails,
// leaving the old table, when fps does not give n ascending values or
// ctx ends; a long write reports its progress in the replica's log.
func (r *Replica) SaveTermTableAt(ctx context.Context, st Stamp, n int, fps iter.Seq[uint64]) error {
	ring := r.active.Load()
	if ring == nil {
		return fmt.Errorf("%w: no active key", ErrWrongKey)
	}
	if st.IsZero() {
		return fmt.Errorf("%w: no stamp", ErrTermTable)
	}
	stamp := appendStampCount(st.prefix, n)
	path := TermTablePath(r.Path())
	err := atomicfile.Write(path, 0o600, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		bw.Write(termTableMagic)
		bw.Write(u32(uint32(len(stamp))))
		bw.Write(stamp)
		plain := make([]byte, 0, 8*termTableChunk)
		var c uint64
		var prev uint64
		count := 0
		var werr error
		start, report := time.Now(), time.Now()
		flush := func() bool {
			sealed, err := ring.seal(termTableBucket, chunkAAD(stamp, c), plain)
			if err != nil {
				werr = err
				return false
			}
			bw.Write(u32(uint32(len(sealed))))
			if _, err := bw.Write(sealed); err != nil {
				werr = err
				return false
			}
			c++
			plain = plain[:0]
			if err := ctx.Err(); err != nil {
				werr = err
				return false
			}
			if time.Since(report) > 10*time.Second {
				report = time.Now()
				r.log.Info("writing the term table", "done", count, "of", n, "took", time.Since(start).Round(time.Second))
			}
			return true
		}
		for fp := range fps {
			if count > 0 && fp < prev {
				return fmt.Errorf("%w: fingerprints not ascending at %d", ErrTermTable, count)
			}
			if count == n {
				return fmt.Errorf("%w: more than %d fingerprints", ErrTermTable, n)
			}
			prev = fp
			count++
			plain = binary.LittleEndian.AppendUint64(plain, fp)
			if len(plain) == 8*termTableChunk && !flush() {
				return werr
			}
		}
		if count != n {
			return fmt.Errorf("%w: %d fingerprints, %d announced", ErrTermTable, count, n)
		}
		if len(plain) > 0 && !flush() {
			return werr
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("write the term table %s: %w (the next start walks the term index instead)", path, err)
	}
	dropCachedFile(path)
	return nil
}

// chunkAAD binds a chunk to its table's stamp and its place.
func chunkAAD(stamp []byte, chunk uint64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(stamp), chunk)
}

// LoadTermTable reads the term table beside the replica if it is the
// table of the replica's current state: its stamp equal to the one the
// replica has now and every chunk authentic under the active key. It
// returns an error wrapping ErrTermTable otherwise (none written yet,
// stale, from another file or key, cut short or tampered with), and the
// caller walks the term index instead (ReadTermTable).
func (r *Replica) LoadTermTable(ctx context.Context) (*TermTable, error) {
	path := TermTablePath(r.Path())
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTermTable, err)
	}
	defer func() {
		dropCached(f) // read once a start: its pages would push out the replica's
		f.Close()
	}()
	br := bufio.NewReaderSize(f, 1<<20)
	refuse := func(why string) error { return fmt.Errorf("%w: %s: %s", ErrTermTable, path, why) }
	head := make([]byte, len(termTableMagic)+4)
	if _, err := io.ReadFull(br, head); err != nil || !bytes.Equal(head[:len(termTableMagic)], termTableMagic) {
		return nil, refuse("not a term table")
	}
	sl := binary.BigEndian.Uint32(head[len(termTableMagic):])
	if sl > 1<<12 {
		return nil, refuse("stamp too long")
	}
	stamp := make([]byte, sl)
	if _, err := io.ReadFull(br, stamp); err != nil {
		return nil, refuse("cut short")
	}
	var want []byte
	var ring *keyring
	err = r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		if r.terms == nil || st.gen.terms == nil || !bytes.Equal(st.gen.terms.Get(termsVersionKey), r.termsVersion) {
			return fmt.Errorf("%w: the term index is not ready", ErrTermTable)
		}
		ring = st.ring
		// The count is the table's own: compare everything before it.
		want, err = r.termStamp(tx, st, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(stamp) != len(want) || !bytes.Equal(stamp[:len(stamp)-countField], want[:len(want)-countField]) {
		return nil, refuse("stale: the replica changed since it was written")
	}
	n := binary.BigEndian.Uint64(stamp[len(stamp)-8:])
	if n > 1<<40 {
		return nil, refuse("implausible count")
	}
	t := &TermTable{Fingerprints: make([]uint64, 0, n), stamp: stamp}
	var lb [4]byte
	sealed := make([]byte, 0, 8*termTableChunk+64)
	for c := uint64(0); uint64(len(t.Fingerprints)) < n; c++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(br, lb[:]); err != nil {
			return nil, refuse("cut short")
		}
		l := binary.BigEndian.Uint32(lb[:])
		if l > 8*termTableChunk+64 {
			return nil, refuse("chunk too long")
		}
		sealed = sealed[:l]
		if _, err := io.ReadFull(br, sealed); err != nil {
			return nil, refuse("cut short")
		}
		plain, err := ring.open(termTableBucket, chunkAAD(stamp, c), sealed)
		if err != nil {
			return nil, refuse(fmt.Sprintf("chunk %d: %v", c, err))
		}
		if len(plain)%8 != 0 || uint64(len(t.Fingerprints)+len(plain)/8) > n {
			return nil, refuse(fmt.Sprintf("chunk %d: bad length", c))
		}
		for i := 0; i < len(plain); i += 8 {
			t.Fingerprints = append(t.Fingerprints, binary.LittleEndian.Uint64(plain[i:]))
		}
		if len(plain) == 0 && n > 0 {
			return nil, refuse(fmt.Sprintf("chunk %d: empty", c))
		}
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		return nil, refuse("trailing data")
	}
	return t, nil
}
