package match

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/borderpost/borderpost/agent/match/name"
	"github.com/borderpost/borderpost/store"
)

// The name index file (store.NameIndexPath) holds what Load builds from
// the persons and companies: their slots (IDs, expiries, name entries)
// and the name engine, sealed by the replica under its value key with the
// stamp of the state they were taken in, like the term table. A start
// whose stamp matches loads it instead of reading and decrypting every
// person and company; any other (none, stale, damaged, another key or
// layout) is rebuilt from the alerts. See docs/architecture.md, "Memory
// model".
const nameIndexKind = "nameindex"

// slotsLayout is bumped whenever what encodeNames writes changes.
const slotsLayout = "match-slots-1"

// nameIndexLayout names the layout of the name index file: the slots' and
// the name engine's.
func nameIndexLayout() string { return slotsLayout + "/" + name.LayoutVersion() }

// sealedFiles is what persisting an index needs of its replica:
// *store.Replica.
type sealedFiles interface {
	CurrentStamp() (store.Stamp, error)
	WriteSealedFile(kind, layout string, st store.Stamp, write func(w io.Writer) error) error
	OpenSealedFile(kind, layout string) (io.ReadCloser, store.Stamp, error)
	SaveTermTableAt(ctx context.Context, st store.Stamp, t *store.TermTable, added []uint64) error
}

// encodeNames writes the slots and the name engine. ix.writeMu held (no
// writer runs; lookups may).
func (ix *Index) encodeNames(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var b []byte
	u64s := func(v []uint64) {
		b = binary.LittleEndian.AppendUint64(b[:0], uint64(len(v)))
		for _, x := range v {
			b = binary.LittleEndian.AppendUint64(b, x)
			if len(b) >= 1<<16 {
				bw.Write(b)
				b = b[:0]
			}
		}
		bw.Write(b)
	}
	u32s := func(v []uint32) {
		b = binary.LittleEndian.AppendUint64(b[:0], uint64(len(v)))
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, x)
			if len(b) >= 1<<16 {
				bw.Write(b)
				b = b[:0]
			}
		}
		bw.Write(b)
	}
	s := &ix.slots
	bw.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(s.idBytes))))
	bw.Write(s.idBytes)
	u64s(s.idEnd)
	exp := make([]uint64, len(s.expires))
	for i, e := range s.expires {
		exp[i] = uint64(e)
	}
	u64s(exp)
	u32s(s.nameOf)
	u32s(ix.bySlot)
	if err := bw.Flush(); err != nil {
		return err
	}
	return ix.names.Encode(w)
}

// decodeNames reads what encodeNames wrote into ix, an index being
// loaded: its slots, their IDs' hashes, and the name engine.
func (ix *Index) decodeNames(r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var lb [8]byte
	count := func(limit uint64) (uint64, error) {
		if _, err := io.ReadFull(br, lb[:]); err != nil {
			return 0, err
		}
		n := binary.LittleEndian.Uint64(lb[:])
		if n > limit {
			return 0, fmt.Errorf("a length of %d", n)
		}
		return n, nil
	}
	nb, err := count(1 << 40)
	if err != nil {
		return err
	}
	idBytes := make([]byte, nb)
	if _, err := io.ReadFull(br, idBytes); err != nil {
		return err
	}
	u64s := func() ([]uint64, error) {
		n, err := count(1 << 32)
		if err != nil {
			return nil, err
		}
		raw := make([]byte, 8*n)
		if _, err := io.ReadFull(br, raw); err != nil {
			return nil, err
		}
		v := make([]uint64, n)
		for i := range v {
			v[i] = binary.LittleEndian.Uint64(raw[8*i:])
		}
		return v, nil
	}
	u32s := func() ([]uint32, error) {
		n, err := count(1 << 32)
		if err != nil {
			return nil, err
		}
		raw := make([]byte, 4*n)
		if _, err := io.ReadFull(br, raw); err != nil {
			return nil, err
		}
		v := make([]uint32, n)
		for i := range v {
			v[i] = binary.LittleEndian.Uint32(raw[4*i:])
		}
		return v, nil
	}
	idEnd, err := u64s()
	if err != nil {
		return err
	}
	exp, err := u64s()
	if err != nil {
		return err
	}
	nameOf, err := u32s()
	if err != nil {
		return err
	}
	bySlot, err := u32s()
	if err != nil {
		return err
	}
	n := len(idEnd)
	if n == 0 || idEnd[0] != 0 || len(exp) != n || len(nameOf) != n || len(bySlot) == 0 || bySlot[0] != 0 {
		return errors.New("slot arrays of different lengths")
	}
	for i := 1; i < n; i++ {
		if idEnd[i] < idEnd[i-1] || idEnd[i] > uint64(len(idBytes)) {
			return errors.New("slot IDs out of order")
		}
	}
	for _, e := range nameOf {
		if e >= uint32(len(bySlot)) {
			return errors.New("a slot's name entry out of range")
		}
	}
	for _, sl := range bySlot {
		if sl >= uint32(n) {
			return errors.New("a name entry's slot out of range")
		}
	}
	names, err := name.Decode(br, nameOptions())
	if err != nil {
		return err
	}
	s := newSlots(0, true)
	s.idBytes, s.idEnd, s.nameOf = idBytes, idEnd, nameOf
	s.expires = make([]int64, n)
	s.byID = newHashSlots(n, true)
	for slot := 1; slot < n; slot++ {
		s.expires[slot] = int64(exp[slot])
		if s.expires[slot] != removed {
			s.byID.add(maphash.Bytes(s.seed, s.idBytesOf(uint32(slot))), uint32(slot))
			s.live++
		}
	}
	s.expires[0] = removed
	ix.slots, ix.bySlot, ix.names = s, bySlot, names
	return nil
}

// loadNames reads the name index file into ix, an index being loaded,
// if it was written at state at. It reports false, with the reason,
// when it was not used; ix is then as it was.
func (ix *Index) loadNames(files sealedFiles, at store.Stamp) (bool, error) {
	rc, st, err := files.OpenSealedFile(nameIndexKind, nameIndexLayout())
	if err != nil {
		return false, err
	}
	defer rc.Close()
	if !st.Equal(at) {
		return false, errors.New("the replica changed since the term table was read")
	}
	slots, bySlot, names := ix.slots, ix.bySlot, ix.names
	if err := ix.decodeNames(rc); err != nil {
		ix.slots, ix.bySlot, ix.names = slots, bySlot, names
		return false, fmt.Errorf("name index file refused: %w", err)
	}
	return true, nil
}

// saveNames writes the name index file at state at. ix.writeMu held, or
// the index not yet in use.
func (ix *Index) saveNames(files sealedFiles, at store.Stamp) error {
	return files.WriteSealedFile(nameIndexKind, nameIndexLayout(), at, ix.encodeNames)
}

// ErrNotPersisted is returned by Persist when the index cannot say which
// state of the replica it holds (changes given by Put or Delete rather
// than Apply, a load that raced a write, an index without a term index):
// nothing is written, the next start rebuilds what is stale.
var ErrNotPersisted = errors.New("match: the index's state is not the replica's current one; nothing persisted")

// Stale reports whether changes were applied to the index since its
// files beside the replica (the term table, the name index) were taken,
// and since when the last one was: the agent persists the index
// (Persist) once it has been quiet for a while. While the files Load
// rebuilt are not written yet (Options.DeferFiles) since is the zero
// time: nothing is gained by waiting.
func (ix *Index) Stale() (stale bool, since time.Time) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.track.deferred {
		return true, time.Time{}
	}
	return ix.track.dirty, ix.track.last
}

// Persist writes the index's term table and name index beside the
// replica, stamped with the replica's current state, when changes were
// applied since they were last taken (or Load deferred them,
// Options.DeferFiles), so that the next start loads them
// instead of walking the term index and decrypting every person and
// company. The state is the one the index holds: the replica's cursor
// must be the last change Apply followed, else ErrNotPersisted (a change
// is committed but not applied yet: try again later).
//
// Lookups go on meanwhile; changes wait while the name index is written
// (seconds at millions of names), not while the term table is.
func (ix *Index) Persist(ctx context.Context) (written bool, err error) {
	ix.persistMu.Lock()
	defer ix.persistMu.Unlock()
	ix.writeMu.Lock()
	locked := true
	defer func() {
		if locked {
			ix.writeMu.Unlock()
		}
	}()
	tr := ix.track
	files, ok := ix.byTerm.(sealedFiles)
	if !tr.dirty {
		return false, nil
	}
	if !ok || tr.untracked || tr.at.IsZero() {
		return false, ErrNotPersisted
	}
	cur, err := files.CurrentStamp()
	if err != nil {
		return false, err
	}
	// The index holds the replica's current state if it is the one it
	// was loaded in (nothing applied since), or the one the last change
	// it applied left.
	loadedState := !tr.applied && cur.Equal(tr.at)
	followed := tr.applied && cur.SameBase(tr.at) && cur.AtChange(tr.epoch, tr.seq, tr.hash)
	if !loadedState && !followed {
		return false, ErrNotPersisted
	}
	if err := ix.saveNames(files, cur); err != nil {
		return false, err
	}
	table := ix.termFPs.table // never changed once loaded: read without the lock
	added := slices.Sorted(maps.Keys(ix.termFPs.added))
	ix.mu.Lock()
	deferred := ix.track.deferred
	ix.track.at, ix.track.dirty, ix.track.deferred = cur, false, false
	ix.mu.Unlock()
	ix.writeMu.Unlock()
	locked = false
	if err := files.SaveTermTableAt(ctx, cur, table, added); err != nil {
		ix.mu.Lock()
		if ix.track.at.Equal(cur) {
			ix.track.dirty, ix.track.deferred = true, deferred
		}
		ix.mu.Unlock()
		return false, err
	}
	return true, nil
}
