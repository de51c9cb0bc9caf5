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
	"math"
	"math/bits"
	"os"
	"slices"
	"time"

	"github.com/borderpost/borderpost/store/atomicfile"
	bolt "go.etcd.io/bbolt"
)

// The term table is the active generation's term index held in memory,
// 8 bytes an entry, kept in a file beside the replica (TermTablePath) so
// that a cold start reads one sealed file instead of walking the term
// index's B+tree. It is a cache: trusted only while its stamp equals the
// replica's, refused (and the index walked) otherwise, never a source of
// truth.
//
// An entry packs, for one (term, alert) of the index, 24 bits of the
// term's fingerprint and the first 5 bytes of the alert's record key
// (its "record prefix"), so that a lookup reads the alert from the
// alerts bucket by it (AppendAlertsByRecord), one B+tree descent instead
// of two (issue 16), with no more memory than the fingerprints alone
// took. The fingerprint's top bits are not stored: they name the bucket
// the entry is in (2^bits buckets, 128 to 256 entries each; offsets, 4
// bytes a bucket, say where each starts), so an entry stands for a
// fingerprint of bits+24 bits (43 at 100 million entries: a lookup of an
// identifier on no alert finds a false candidate about once in 90,000).
// Record prefixes of 5 bytes are shared by two of 100 million alerts
// about once in 10,000 lookups: one alert more is read. Both are hints: a
// lookup confirms the alert it reads carries the identifier. A term filed
// under several alerts (a name shard, an identifier alerts share: 1.5 %
// of the entries of a SIS-like list) has one entry, with the unknown
// prefix 0, as have the terms a delta added (SaveTermTableAt): those are
// read by term. The table then has one entry a term, as the fingerprints
// alone had: the offsets are all the memory it adds (a prefix for each
// alert of a shared identifier would add 13 MiB at 100 million alerts).
//
// The stamp names the state the table was read in: the file's salt, the
// key generation, the alert generation, the term function's version, the
// term index's revision (termsRevKey: a random value written by every
// transaction that files an alert under a term, and whenever the index is
// marked complete) and the cursor. Removals do not change the revision: an
// entry of a removed alert is inert (a lookup confirms every candidate
// against the replica), a missing one would be a false miss.
//
// File: "BPTT2" ∥ u32 stamp length ∥ stamp ∥ u8 bucket bits ∥ chunks;
// each chunk is u32 length ∥ seal(up to termTableChunk bytes), its
// associated data binding the stamp, the bucket bits and the chunk's
// number, so a chunk moved, cut or from another table fails to open. The
// chunks' plaintext, back to back, is the 2^bits+1 bucket offsets
// (little-endian u32) then the entries (little-endian u64). "BPTT1"
// (fingerprints of 8 bytes, no record prefixes) is refused: the index is
// walked and the table written again.
var (
	termsRevKey     = []byte("rev") // shorter than a term key, like the version and the count
	termTableMagic  = []byte("BPTT2")
	termTableBucket = []byte("termtable") // the seal's domain
)

// termTableChunk is how many plaintext bytes one sealed chunk holds.
const termTableChunk = 8 << 20

// The packing of a term table entry.
const (
	termTableRecordBits = 40 // the record key's first 5 bytes
	termTableRecordLen  = termTableRecordBits / 8
	termTableFPBits     = 64 - termTableRecordBits
	// termTableMaxRecords is how many alerts a term has entries for: a
	// term filed under more has one, of unknown prefix (read by term).
	termTableMaxRecords = 1
	// termTableReadMax is how many prefixes Records gives: more entries
	// share the bits of a fingerprint only by collision.
	termTableReadMax = 8
	// termTableMaxBits bounds the bucket bits (64 MiB of offsets).
	termTableMaxBits = 24
)

// termTableBits returns the bucket bits of a table of about n entries:
// 128 to 256 entries a bucket (2 KiB at most, searched within a page or
// two), offsets a fifth of a percent of the entries' memory.
func termTableBits(n int) uint8 {
	return uint8(min(bits.Len(uint(n/256)), termTableMaxBits))
}

// termBucket returns the bucket of fingerprint fp in a table of b bucket
// bits (0 for b == 0: a shift by 64 gives 0).
func termBucket(fp uint64, b uint8) int { return int(fp >> (64 - uint(b))) }

// packTermEntry returns the entry of a term of fingerprint fp in a table
// of b bucket bits, filing the alert whose record key begins with the 8
// bytes of rec (big-endian; 0: unknown).
func packTermEntry(fp, rec uint64, b uint8) uint64 {
	return fp<<b>>termTableRecordBits<<termTableRecordBits | rec>>(64-termTableRecordBits)
}

// TermTablePath returns where the term table of the replica at path is
// kept.
func TermTablePath(path string) string { return path + ".termtable" }

// TermTable is a snapshot of the active generation's term index, packed
// (see above), with the stamp of the state it was read in. Its methods
// only read it: it is shared by lookups without a lock.
type TermTable struct {
	entries  []uint64 // ascending within each bucket
	offsets  []uint32 // 2^bits+1: bucket i is entries[offsets[i]:offsets[i+1]]
	bits     uint8
	stamp    []byte
	keyGen   uint32
	alertGen uint64
}

// Len returns how many entries t has: one per (term, alert) the index
// held, a term of many alerts once.
func (t *TermTable) Len() int {
	if t == nil {
		return 0
	}
	return len(t.entries)
}

// Gens returns the key generation the table's fingerprints were computed
// under and the alert generation its record prefixes were read from:
// AppendAlertsByRecord reads by them only while the replica is still at
// both.
func (t *TermTable) Gens() (keyGen uint32, alertGen uint64) {
	if t == nil {
		return 0, 0
	}
	return t.keyGen, t.alertGen
}

// bucket returns the entries of fp's bucket and what an entry of fp
// holds above its record prefix.
func (t *TermTable) bucket(fp uint64) ([]uint64, uint64) {
	i := termBucket(fp, t.bits)
	return t.entries[t.offsets[i]:t.offsets[i+1]], packTermEntry(fp, 0, t.bits)
}

// Holds reports whether t has an entry for a term of fingerprint fp (the
// first 8 bytes of its TermKey). A term the index held when t was read is
// always held; another is, rarely, too (see above).
func (t *TermTable) Holds(fp uint64) bool {
	if t == nil || len(t.entries) == 0 {
		return false
	}
	b, want := t.bucket(fp)
	i, _ := slices.BinarySearch(b, want)
	return i < len(b) && b[i]>>termTableRecordBits == want>>termTableRecordBits
}

// Records appends to dst the record prefixes of the entries for
// fingerprint fp (each the first 5 bytes of a record key in the top of a
// big-endian uint64, as AppendAlertsByRecord takes them) and reports
// whether there are any (held) and whether they are every alert the
// index filed under the term (complete): not when one is unknown (a term
// of several alerts, or a delta's) or there are more than
// termTableReadMax (terms sharing the stored bits). dst is then to be
// read by term (AppendAlertsByTerm).
func (t *TermTable) Records(dst []uint64, fp uint64) (recs []uint64, held, complete bool) {
	if t == nil || len(t.entries) == 0 {
		return dst, false, false
	}
	b, want := t.bucket(fp)
	i, _ := slices.BinarySearch(b, want)
	complete = true
	for ; i < len(b) && b[i]>>termTableRecordBits == want>>termTableRecordBits; i++ {
		held = true
		rec := b[i] << (64 - termTableRecordBits)
		if rec == 0 || len(dst) == termTableReadMax {
			complete = false
			continue
		}
		if l := len(dst); l > 0 && dst[l-1] == rec {
			continue
		}
		dst = append(dst, rec)
	}
	return dst, held, held && complete
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

// ReadTermTable walks the active generation's term index into a table
// stamped with the state it read, in one read transaction. A term index
// not ready gives an error: its table would miss terms.
func (r *Replica) ReadTermTable(ctx context.Context) (*TermTable, error) {
	n, err := r.AlertCount()
	if err != nil {
		return nil, err
	}
	b := termTableBits(n)
	t := &TermTable{entries: make([]uint64, 0, n), offsets: make([]uint32, 1<<b+1), bits: b}
	err = r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		if r.terms == nil || st.gen.terms == nil || !bytes.Equal(st.gen.terms.Get(termsVersionKey), r.termsVersion) {
			return fmt.Errorf("%w: the term index is not ready; open the replica with the agent's term function", ErrTermTable)
		}
		t.keyGen, t.alertGen = st.ring.gen, st.gen.num
		c := st.gen.terms.Cursor()
		start, report := time.Now(), time.Now()
		next := 0 // the first bucket whose offset is not set
		var term uint64
		run, many := -1, false // where term's entries start; whether it has too many
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) != termEntryLen {
				continue // the version, the count, the revision
			}
			fp := binary.BigEndian.Uint64(k)
			if run >= 0 && fp == term {
				// The same term filing another alert (keys sort by term
				// first).
				if many {
					continue
				}
				if len(t.entries)-run == termTableMaxRecords {
					t.entries = append(t.entries[:run], packTermEntry(fp, 0, b))
					many = true
					continue
				}
			} else {
				for i := termBucket(fp, b); next <= i; next++ {
					t.offsets[next] = uint32(len(t.entries))
				}
				term, run, many = fp, len(t.entries), false
			}
			if len(t.entries)%(1<<16) == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				if time.Since(report) > 10*time.Second {
					// Minutes at 100 million alerts from a cold disk.
					report = time.Now()
					r.log.Info("walking the term index", "entries", len(t.entries), "alerts", n, "took", time.Since(start).Round(time.Second))
				}
			}
			if len(t.entries) == math.MaxUint32 {
				return fmt.Errorf("%w: more than %d term index entries", ErrTermTable, math.MaxUint32)
			}
			t.entries = append(t.entries, packTermEntry(fp, binary.BigEndian.Uint64(k[termPrefix:]), b))
		}
		for ; next < len(t.offsets); next++ {
			t.offsets[next] = uint32(len(t.entries))
		}
		t.stamp, err = r.termStamp(tx, st, len(t.entries))
		return err
	})
	if err != nil {
		return nil, err
	}
	// The index sorts by the whole fingerprint, then the record key: two
	// terms sharing the bits an entry keeps may then interleave (rare),
	// and a term of many alerts' entry of prefix 0 follow another's.
	for i := range len(t.offsets) - 1 {
		if e := t.entries[t.offsets[i]:t.offsets[i+1]]; !slices.IsSorted(e) {
			slices.Sort(e)
		}
	}
	if cap(t.entries)-len(t.entries) > len(t.entries)/8 {
		// Sized for every alert, but persons and names share terms: the
		// table stays in memory as long as the index, so not its slack.
		t.entries = slices.Clip(append(make([]uint64, 0, len(t.entries)), t.entries...))
	}
	return t, nil
}

// SaveTermTable writes t beside the replica (TermTablePath), sealed
// under the active key, replacing the table there. A table that is no
// longer current is written anyway, harmlessly: LoadTermTable refuses it.
func (r *Replica) SaveTermTable(t *TermTable) error {
	return r.SaveTermTableAt(context.Background(), t.Stamp(), t, nil)
}

// SaveTermTableAt writes t with the fingerprints added (ascending: the
// terms deltas filed since t was read, each with the unknown record
// prefix, read by term) as the term table of the state st
// (TermTablePath), sealed under the active key, replacing the table
// there, without holding it in memory twice: the agent writes its
// in-memory table this way after deltas. The caller answers for t and
// added holding every term the index held in state st (more is harmless:
// a lookup confirms every candidate). It fails, leaving the old table,
// when added is not ascending or ctx ends; a long write reports its
// progress in the replica's log.
func (r *Replica) SaveTermTableAt(ctx context.Context, st Stamp, t *TermTable, added []uint64) error {
	ring := r.active.Load()
	if ring == nil {
		return fmt.Errorf("%w: no active key", ErrWrongKey)
	}
	if st.IsZero() || t == nil || len(t.offsets) == 0 {
		return fmt.Errorf("%w: no stamp or no table", ErrTermTable)
	}
	if !slices.IsSorted(added) {
		return fmt.Errorf("%w: added fingerprints not ascending", ErrTermTable)
	}
	// A fingerprint a save before added has its entry already: deltas
	// filing a term again do not make it grow from save to save.
	added = slices.DeleteFunc(slices.Clone(added), func(fp uint64) bool {
		b, want := t.bucket(fp)
		_, found := slices.BinarySearch(b, want)
		return found
	})
	n := len(t.entries) + len(added)
	if n > math.MaxUint32 {
		return fmt.Errorf("%w: %d entries, more than a table holds", ErrTermTable, n)
	}
	// The offsets with the added entries in their buckets.
	offsets := slices.Clone(t.offsets)
	for i, j := 0, 0; i < len(offsets)-1; i++ {
		offsets[i] += uint32(j)
		for j < len(added) && termBucket(added[j], t.bits) == i {
			j++
		}
	}
	offsets[len(offsets)-1] = uint32(n)
	stamp := appendStampCount(st.prefix, n)
	path := TermTablePath(r.Path())
	err := atomicfile.Write(path, 0o600, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		bw.Write(termTableMagic)
		bw.Write(u32(uint32(len(stamp))))
		bw.Write(stamp)
		bw.WriteByte(t.bits)
		cw := &chunkSealer{w: bw, ring: ring, aad: termTableAAD(stamp, t.bits), plain: make([]byte, 0, termTableChunk)}
		for _, o := range offsets {
			cw.put(binary.LittleEndian.AppendUint32(cw.room(4), o))
		}
		start, report := time.Now(), time.Now()
		j := 0
		for i := range len(t.offsets) - 1 {
			e := t.entries[t.offsets[i]:t.offsets[i+1]]
			// Merge the bucket's entries and the added ones in it.
			for len(e) > 0 || j < len(added) && termBucket(added[j], t.bits) == i {
				var v uint64
				if j < len(added) && termBucket(added[j], t.bits) == i && (len(e) == 0 || packTermEntry(added[j], 0, t.bits) <= e[0]) {
					v, j = packTermEntry(added[j], 0, t.bits), j+1
				} else {
					v, e = e[0], e[1:]
				}
				cw.put(binary.LittleEndian.AppendUint64(cw.room(8), v))
			}
			if cw.err != nil {
				return cw.err
			}
			if i%(1<<12) == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				if time.Since(report) > 10*time.Second {
					report = time.Now()
					r.log.Info("writing the term table", "buckets", i, "of", len(t.offsets)-1, "took", time.Since(start).Round(time.Second))
				}
			}
		}
		if j != len(added) {
			return fmt.Errorf("%w: added fingerprints out of the table's buckets", ErrTermTable)
		}
		if cw.flush(); cw.err != nil {
			return cw.err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("write the term table %s: %w (the next start walks the term index instead)", path, err)
	}
	dropCachedFile(path)
	return nil
}

// termTableAAD is what a table's chunks are bound to, with their number.
func termTableAAD(stamp []byte, b uint8) []byte { return append(bytes.Clone(stamp), b) }

// chunkAAD binds a chunk to its table and its place.
func chunkAAD(aad []byte, chunk uint64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(aad), chunk)
}

// chunkSealer writes a stream of bytes as sealed chunks of up to
// termTableChunk bytes: u32 length ∥ seal(plain), bound to aad and the
// chunk's number. The first error stays in err.
type chunkSealer struct {
	w     io.Writer
	ring  *keyring
	aad   []byte
	c     uint64
	plain []byte
	err   error
}

// room returns the buffer to append up to n bytes to, sealing the full
// chunk first when they would not fit.
func (s *chunkSealer) room(n int) []byte {
	if len(s.plain)+n > termTableChunk {
		s.flush()
	}
	return s.plain
}

// put keeps the buffer room returned, appended to.
func (s *chunkSealer) put(b []byte) { s.plain = b }

// flush seals and writes what the buffer holds.
func (s *chunkSealer) flush() {
	if len(s.plain) == 0 || s.err != nil {
		s.plain = s.plain[:0]
		return
	}
	sealed, err := s.ring.seal(termTableBucket, chunkAAD(s.aad, s.c), s.plain)
	if err == nil {
		_, err = s.w.Write(append(u32(uint32(len(sealed))), sealed...))
	}
	s.err, s.c, s.plain = err, s.c+1, s.plain[:0]
}

// chunkOpener reads the stream a chunkSealer wrote, opening each chunk.
type chunkOpener struct {
	r      io.Reader
	ring   *keyring
	aad    []byte
	c      uint64
	plain  []byte
	sealed []byte
	buf    []byte // holds the chunk being read
}

func (o *chunkOpener) Read(p []byte) (int, error) {
	for len(o.plain) == 0 {
		var lb [4]byte
		if _, err := io.ReadFull(o.r, lb[:]); err != nil {
			return 0, errors.New("cut short")
		}
		l := binary.BigEndian.Uint32(lb[:])
		if l > termTableChunk+64 {
			return 0, errors.New("chunk too long")
		}
		o.sealed = slices.Grow(o.sealed[:0], int(l))[:l]
		if _, err := io.ReadFull(o.r, o.sealed); err != nil {
			return 0, errors.New("cut short")
		}
		plain, err := o.ring.openInto(o.buf, termTableBucket, chunkAAD(o.aad, o.c), o.sealed)
		if err != nil {
			return 0, fmt.Errorf("chunk %d: %v", o.c, err)
		}
		if len(plain) == 0 {
			return 0, fmt.Errorf("chunk %d: empty", o.c)
		}
		o.buf = plain // the chunk before is read out: its buffer is free
		o.plain, o.c = plain, o.c+1
	}
	n := copy(p, o.plain)
	o.plain = o.plain[n:]
	return n, nil
}

// LoadTermTable reads the term table beside the replica if it is the
// table of the replica's current state: its stamp equal to the one the
// replica has now and every chunk authentic under the active key. It
// returns an error wrapping ErrTermTable otherwise (none written yet,
// stale, from another file or key, of another format, cut short or
// tampered with), and the caller walks the term index instead
// (ReadTermTable).
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
		return nil, refuse("not a term table of this version")
	}
	sl := binary.BigEndian.Uint32(head[len(termTableMagic):])
	if sl > 1<<12 {
		return nil, refuse("stamp too long")
	}
	stamp := make([]byte, sl)
	if _, err := io.ReadFull(br, stamp); err != nil {
		return nil, refuse("cut short")
	}
	b, err := br.ReadByte()
	if err != nil {
		return nil, refuse("cut short")
	}
	if b > termTableMaxBits {
		return nil, refuse("implausible bucket bits")
	}
	var want []byte
	var ring *keyring
	var alertGen uint64
	err = r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		if r.terms == nil || st.gen.terms == nil || !bytes.Equal(st.gen.terms.Get(termsVersionKey), r.termsVersion) {
			return fmt.Errorf("%w: the term index is not ready", ErrTermTable)
		}
		ring, alertGen = st.ring, st.gen.num
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
	if n > math.MaxUint32 {
		return nil, refuse("implausible count")
	}
	t := &TermTable{entries: make([]uint64, n), offsets: make([]uint32, 1<<b+1), bits: b, stamp: stamp, keyGen: ring.gen, alertGen: alertGen}
	cr := &chunkOpener{r: br, ring: ring, aad: termTableAAD(stamp, b)}
	buf := make([]byte, 1<<20)
	for i := 0; i < len(t.offsets); {
		m := min(len(t.offsets)-i, len(buf)/4)
		if _, err := io.ReadFull(cr, buf[:m*4]); err != nil {
			return nil, refuse(err.Error())
		}
		for k := range m {
			t.offsets[i+k] = binary.LittleEndian.Uint32(buf[k*4:])
		}
		i += m
	}
	if t.offsets[0] != 0 || t.offsets[len(t.offsets)-1] != uint32(n) || !slices.IsSorted(t.offsets) {
		return nil, refuse("bad bucket offsets")
	}
	for i := 0; i < len(t.entries); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m := min(len(t.entries)-i, len(buf)/8)
		if _, err := io.ReadFull(cr, buf[:m*8]); err != nil {
			return nil, refuse(err.Error())
		}
		dst := t.entries[i : i+m]
		for k := range dst {
			dst[k] = binary.LittleEndian.Uint64(buf[k*8:])
		}
		i += m
	}
	if len(cr.plain) != 0 {
		return nil, refuse("trailing data in the last chunk")
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		return nil, refuse("trailing data")
	}
	return t, nil
}
