package name

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"unsafe"
)

// ErrLayout is returned by Decode when what it reads is not an index
// written by Encode of this build (another layout, cut short, damaged).
var ErrLayout = errors.New("name index: not an index of this layout")

// layoutRevision is bumped whenever Encode's layout or the meaning of a
// field it writes changes; LayoutVersion adds what it can compute.
const layoutRevision = "name-layout-1"

// LayoutVersion names the layout Encode writes and the index it stands
// for: the layout's revision, and a hash of the lexicon's variant groups
// and of sample names as normalise and the fuzzy keys see them, so that a
// change of lexicon or normalisation gives another version without anyone
// having to remember to bump it. An index written under another version
// must not be decoded: its tokens, groups or keys would not be the ones a
// query computes.
func LayoutVersion() string {
	h := sha256.New()
	lx := defaultLexicon()
	for _, g := range lx.groupName {
		h.Write([]byte(g))
		h.Write([]byte{0})
	}
	for _, s := range []struct {
		kind Kind
		name string
	}{
		{KindPerson, "Muhammad Abd al-Rahman ibn Yusuf"}, {KindPerson, "Мария Ивановна Петрова"},
		{KindPerson, "Zhang Xiuying 张秀英"}, {KindCompany, "Hoteles e Inmuebles de Colombia S.A.S."},
		{KindCompany, "Islamic Republic of Iran Shipping Lines Co Ltd"}, {KindPerson, "Jean-Pierre O'Neill de la Cruz"},
		{KindPerson, "Джамал Хасан Djibril Aleks"}, // digraph readings in the skeleton
		{KindCompany, "Cecoex LS.A."},              // a slip in a dotted abbreviation
	} {
		for _, t := range normalize(lx, s.kind, s.name) {
			fmt.Fprintf(h, "%s/%d/%s/%d/%d/%d ", t.text, t.class, skeleton(t.text), lx.groups[t.text], syllableCode(t.text), letterMask(t.text))
		}
		h.Write([]byte{1})
	}
	fmt.Fprintf(h, "%d", keyedHash(hashSeed{1, 2}, "borderpost"))
	return layoutRevision + "-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// Encode writes the index to w, whole, as Decode reads it back: the
// same tokens, names, entries, fuzzy keys and hash seed, so that the
// decoded index answers every search as this one does. Searches may run
// meanwhile; Add and Remove wait. What it writes holds the indexed names
// in clear: the caller seals it.
func (ix *Index) Encode(w io.Writer) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	e := &encoder{w: bufio.NewWriterSize(w, 1<<20)}
	e.u64(ix.seed.k0)
	e.u64(ix.seed.k1)
	e.u64(uint64(len(ix.toks)))
	for i := range ix.toks {
		t := &ix.toks[i]
		e.str(t.text)
		e.u32(t.mask)
		e.u32(t.skel)
		e.u32(t.group)
		e.u64(t.syl)
		e.u8(uint8(t.class))
		e.u32(t.df)
		e.u32s(t.post)
	}
	e.u64(uint64(len(ix.skelText)))
	for i, s := range ix.skelText {
		e.str(s)
		e.u32s(ix.skelPost[i])
	}
	e.lists(ix.groupPost)
	e.u32s(ix.groupDF)
	keys := make([]uint64, len(ix.concatPost))
	for k, cid := range ix.concatVocab {
		keys[cid] = k
	}
	e.u64s(keys)
	e.lists(ix.concatPost)
	e.u64s(ix.delKey)
	e.u32s(ix.delTok)
	e.u32s(ix.delNext)
	e.u32s(ix.dels.slots)
	e.u64(uint64(ix.dels.n))
	e.u32s(ix.nameEntry)
	e.bytes(unsafe.Slice((*byte)(unsafe.SliceData(ix.nameKind)), len(ix.nameKind)))
	e.u32s(ix.nameStart)
	e.u32s(ix.nameToks)
	e.u64s(ix.nameMeta)
	// Nationality lists are shared: each is written once, entries name it.
	natNum := make(map[*string]uint32, len(ix.natSets))
	e.u64(uint64(len(ix.natSets)))
	for _, s := range ix.natSets {
		natNum[unsafe.SliceData(s)] = uint32(len(natNum) + 1)
		e.u64(uint64(len(s)))
		for _, n := range s {
			e.str(n)
		}
	}
	e.u64(uint64(len(ix.entries)))
	for i := range ix.entries {
		r := &ix.entries[i]
		var nat uint32
		if len(r.nats) > 0 {
			if nat = natNum[unsafe.SliceData(r.nats)]; nat == 0 {
				return fmt.Errorf("encode the name index: entry %d holds nationalities not interned", i)
			}
		}
		e.u32(nat)
		e.u32(r.id)
		e.u32(r.first)
		e.u32(r.count)
		e.u32(uint32(r.birth.year))
		e.u8(r.birth.month)
		e.u8(r.birth.day)
		e.u8(uint8(r.kind))
		e.u8(boolByte(r.dead))
		e.u8(r.sex)
	}
	e.u32s(ix.byIDs)
	e.u64(uint64(len(ix.byID)))
	for id, idx := range ix.byID {
		e.u32(id)
		e.u32(idx)
	}
	e.u64(uint64(ix.liveNames))
	e.u64(uint64(ix.liveCount))
	e.u64(uint64(ix.deadNames))
	e.str("end")
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// Decode reads an index Encode wrote, with the given options. It fails
// with ErrLayout when r does not hold a whole index of this layout; the
// caller then builds the index from the alerts. r must be authentic (the
// agent reads it from a sealed file): Decode checks the lengths and
// numbers it reads against each other, not whether the names are right.
func Decode(r io.Reader, opts Options) (ix *Index, err error) {
	defer func() {
		// A number out of range the checks below missed: not this layout.
		if p := recover(); p != nil {
			ix, err = nil, fmt.Errorf("%w: %v", ErrLayout, p)
		}
	}()
	d := &decoder{r: bufio.NewReaderSize(r, 1<<20)}
	ix = NewIndex(opts)
	ix.seed = hashSeed{d.u64(), d.u64()}
	nt := d.count(1 << 31)
	ix.toks = make([]vocabToken, nt)
	ix.vocab = make(map[string]uint32, nt)
	for i := range ix.toks {
		t := &ix.toks[i]
		t.text = d.str()
		t.mask, t.skel, t.group = d.u32(), d.u32(), d.u32()
		t.syl = d.u64()
		t.class = tokenClass(d.u8())
		t.df = d.u32()
		t.post = d.u32s()
		ix.vocab[t.text] = uint32(i)
	}
	ns := d.count(1 << 31)
	ix.skelText, ix.skelPost = make([]string, ns), make([][]uint32, ns)
	ix.skelVocab = make(map[string]uint32, ns)
	for i := range ix.skelText {
		ix.skelText[i] = d.str()
		ix.skelPost[i] = d.u32s()
		ix.skelVocab[ix.skelText[i]] = uint32(i)
	}
	ix.groupPost = d.lists()
	ix.groupDF = d.u32s()
	if len(ix.groupPost) != len(ix.lx.groupName) || len(ix.groupDF) != len(ix.lx.groupName) {
		return nil, fmt.Errorf("%w: %d variant groups, the lexicon has %d", ErrLayout, len(ix.groupPost), len(ix.lx.groupName))
	}
	keys := d.u64s()
	ix.concatPost = d.lists()
	if len(keys) != len(ix.concatPost) {
		return nil, fmt.Errorf("%w: joined tokens: %d keys, %d lists", ErrLayout, len(keys), len(ix.concatPost))
	}
	ix.concatVocab = make(map[uint64]uint32, len(keys))
	for cid, k := range keys {
		ix.concatVocab[k] = uint32(cid)
	}
	ix.delKey, ix.delTok, ix.delNext = d.u64s(), d.u32s(), d.u32s()
	ix.dels.slots = d.u32s()
	ix.dels.n = int(d.count(math.MaxInt32))
	ix.nameEntry = d.u32s()
	kinds := d.bytes()
	ix.nameKind = make([]Kind, len(kinds))
	for i, k := range kinds {
		ix.nameKind[i] = Kind(k)
	}
	ix.nameStart, ix.nameToks, ix.nameMeta = d.u32s(), d.u32s(), d.u64s()
	nn := d.count(1 << 31)
	nats := make([][]string, nn+1)
	for i := 1; i <= int(nn); i++ {
		s := make([]string, d.count(1<<16))
		for j := range s {
			s[j] = d.str()
		}
		nats[i] = s
		ix.natSets[natSetKey(s)] = s
	}
	ix.entries = make([]entryRecord, d.count(1<<31))
	for i := range ix.entries {
		r := &ix.entries[i]
		r.nats = nats[d.u32()]
		r.id, r.first, r.count = d.u32(), d.u32(), d.u32()
		r.birth = packedDate{year: uint16(d.u32()), month: d.u8(), day: d.u8()}
		r.kind = Kind(d.u8())
		r.dead = d.u8() != 0
		r.sex = d.u8()
	}
	ix.byIDs = d.u32s()
	nb := d.count(1 << 31)
	for range nb {
		id := d.u32()
		ix.byID[id] = d.u32()
	}
	ix.liveNames, ix.liveCount, ix.deadNames = int(d.count(math.MaxInt32)), int(d.count(math.MaxInt32)), int(d.count(math.MaxInt32))
	if d.str() != "end" || d.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLayout, d.err)
	}
	if _, err := d.r.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data", ErrLayout)
	}
	if err := ix.checkDecoded(); err != nil {
		return nil, err
	}
	ix.fileWholeAll()
	ix.fileReadingsAll()
	ix.states = make(chan *searchState, 4*runtime.GOMAXPROCS(0))
	return ix, nil
}

// checkDecoded checks that the arrays of a decoded index agree with each
// other, so that a search cannot read out of them.
func (ix *Index) checkDecoded() error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrLayout, what) }
	names := uint32(len(ix.nameEntry))
	switch {
	case len(ix.nameKind) != int(names) || len(ix.nameMeta) != int(names) || len(ix.nameStart) != int(names)+1:
		return bad("name arrays of different lengths")
	case ix.nameStart[names] != uint32(len(ix.nameToks)):
		return bad("name tokens")
	case len(ix.delTok) != len(ix.delKey) || len(ix.delNext) != len(ix.delKey):
		return bad("fuzzy key arrays of different lengths")
	case len(ix.dels.slots)&(len(ix.dels.slots)-1) != 0:
		return bad("fuzzy key table not a power of two")
	}
	for n := range names {
		if ix.nameStart[n] > ix.nameStart[n+1] {
			return bad("name starts out of order")
		}
	}
	for _, p := range ix.dels.slots {
		if p > uint32(len(ix.delKey)) {
			return bad("fuzzy key table")
		}
	}
	for i := range ix.delTok {
		if ix.delTok[i] >= uint32(len(ix.toks)) || ix.delNext[i] > uint32(len(ix.delKey)) {
			return bad("fuzzy key chains")
		}
	}
	for _, t := range ix.nameToks {
		if t >= uint32(len(ix.toks)) {
			return bad("name token")
		}
	}
	for _, n := range ix.nameEntry {
		if n >= uint32(len(ix.entries)) {
			return bad("name entry")
		}
	}
	inNames := func(lists ...[]uint32) bool {
		for _, l := range lists {
			for _, n := range l {
				if n >= names {
					return false
				}
			}
		}
		return true
	}
	for i := range ix.toks {
		if ix.toks[i].skel >= uint32(len(ix.skelPost)) || int(ix.toks[i].group) >= len(ix.groupPost) || !inNames(ix.toks[i].post) {
			return bad("vocabulary token")
		}
	}
	if !inNames(ix.skelPost...) || !inNames(ix.groupPost...) || !inNames(ix.concatPost...) {
		return bad("posting list")
	}
	for _, idx := range ix.byIDs {
		if idx > uint32(len(ix.entries)) {
			return bad("entries by ID")
		}
	}
	for _, idx := range ix.byID {
		if idx >= uint32(len(ix.entries)) {
			return bad("entries by ID")
		}
	}
	for i := range ix.entries {
		if r := &ix.entries[i]; uint64(r.first)+uint64(r.count) > uint64(names) {
			return bad("entry names")
		}
	}
	return nil
}

// encoder writes little-endian numbers and length-prefixed arrays,
// keeping the first error.
type encoder struct {
	w       *bufio.Writer
	err     error
	b       [8]byte
	scratch [4096]byte
}

func (e *encoder) write(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
}

func (e *encoder) u8(v uint8) {
	if e.err == nil {
		e.err = e.w.WriteByte(v)
	}
}

func (e *encoder) u32(v uint32) { e.write(binary.LittleEndian.AppendUint32(e.b[:0], v)) }
func (e *encoder) u64(v uint64) { e.write(binary.LittleEndian.AppendUint64(e.b[:0], v)) }

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *encoder) bytes(b []byte) {
	e.u64(uint64(len(b)))
	e.write(b)
}

func (e *encoder) u32s(v []uint32) {
	e.u64(uint64(len(v)))
	buf := &e.scratch
	for len(v) > 0 && e.err == nil {
		n := min(len(v), len(buf)/4)
		for i, x := range v[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], x)
		}
		e.write(buf[:4*n])
		v = v[n:]
	}
}

func (e *encoder) u64s(v []uint64) {
	e.u64(uint64(len(v)))
	buf := &e.scratch
	for len(v) > 0 && e.err == nil {
		n := min(len(v), len(buf)/8)
		for i, x := range v[:n] {
			binary.LittleEndian.PutUint64(buf[8*i:], x)
		}
		e.write(buf[:8*n])
		v = v[n:]
	}
}

func (e *encoder) lists(ls [][]uint32) {
	e.u64(uint64(len(ls)))
	for _, l := range ls {
		e.u32s(l)
	}
}

// decoder reads what encoder writes. After the first error it returns
// zeros and keeps that error; counts are bounded before anything is
// allocated for them.
type decoder struct {
	r       *bufio.Reader
	err     error
	b       [8]byte
	scratch [4096]byte
	// arena backs the short lists (posting lists: hundreds of thousands,
	// most of a few entries), a block at a time rather than an
	// allocation each. Each list is capped at its length: appending to it
	// later copies it out rather than write over its neighbour.
	arena []uint32
}

// arenaBlock is how many entries one block of the arena holds.
const arenaBlock = 1 << 20

func (d *decoder) read(p []byte) bool {
	if d.err != nil {
		clear(p)
		return false
	}
	if _, err := io.ReadFull(d.r, p); err != nil {
		d.err = fmt.Errorf("cut short: %w", err)
		clear(p)
		return false
	}
	return true
}

func (d *decoder) u8() uint8 {
	d.read(d.b[:1])
	return d.b[0]
}

func (d *decoder) u32() uint32 {
	d.read(d.b[:4])
	return binary.LittleEndian.Uint32(d.b[:4])
}

func (d *decoder) u64() uint64 {
	d.read(d.b[:8])
	return binary.LittleEndian.Uint64(d.b[:8])
}

// count reads a length, at most limit.
func (d *decoder) count(limit uint64) uint64 {
	n := d.u64()
	if n > limit && d.err == nil {
		d.err = fmt.Errorf("a length of %d, more than %d", n, limit)
	}
	if d.err != nil {
		return 0
	}
	return n
}

func (d *decoder) str() string {
	b := make([]byte, d.count(1<<20))
	d.read(b)
	return string(b)
}

func (d *decoder) bytes() []byte {
	b := make([]byte, d.count(1<<32))
	d.read(b)
	return b
}

func (d *decoder) u32s() []uint32 {
	n := d.count(1 << 32)
	if n == 0 {
		return nil
	}
	var v []uint32
	if n <= arenaBlock/64 {
		if len(d.arena)+int(n) > cap(d.arena) {
			d.arena = make([]uint32, 0, arenaBlock)
		}
		l := len(d.arena)
		d.arena = d.arena[:l+int(n)]
		v = d.arena[l : l+int(n) : l+int(n)]
	} else {
		v = make([]uint32, n)
	}
	buf := &d.scratch
	for i := 0; i < len(v) && d.err == nil; {
		k := min(len(v)-i, len(buf)/4)
		if !d.read(buf[:4*k]) {
			break
		}
		for j := range k {
			v[i+j] = binary.LittleEndian.Uint32(buf[4*j:])
		}
		i += k
	}
	return v
}

func (d *decoder) u64s() []uint64 {
	n := d.count(1 << 32)
	if n == 0 {
		return nil
	}
	v := make([]uint64, n)
	buf := &d.scratch
	for i := 0; i < len(v) && d.err == nil; {
		k := min(len(v)-i, len(buf)/8)
		if !d.read(buf[:8*k]) {
			break
		}
		for j := range k {
			v[i+j] = binary.LittleEndian.Uint64(buf[8*j:])
		}
		i += k
	}
	return v
}

func (d *decoder) lists() [][]uint32 {
	ls := make([][]uint32, d.count(1<<32))
	for i := range ls {
		ls[i] = d.u32s()
	}
	return ls
}
