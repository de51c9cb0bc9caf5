package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The journal's write-ahead log (WALPath) is what a check waits for. A
// bbolt commit syncs the disk twice (its pages, then its meta page), and
// while a delta's chunks fill the disk's write cache each sync waits for
// them: checks recorded straight into the journal took 5.6-9 ms at p99
// during a 200,000-operation delta (issue 16). A check's group is instead
// appended, sealed, to this preallocated file and answered after one
// fdatasync; a mover (one goroutine) then commits the same writes to the
// journal in bbolt transactions of its own, as many entries a transaction
// as have arrived, and records in the same transaction how far it got
// (metaWALApplied). Open replays what the log holds past that point.
//
// What the log holds is the group's writes with every choice already
// made: the outbox sequences of the hits (assigned from a counter in
// memory, so the answer can carry them) and the time of the audit record.
// The mover's work is then the same whatever happens between: a replay
// after a kill writes what the answered checks were told.
//
// Everything else that writes the journal (an officer's outcome, the
// audit record of an event, retention, a re-seal) first waits for the
// mover to catch up while holding the log, so the outbox takes sequences
// in order and the journal only ever holds a prefix of the log. Every
// reader of the journal first waits for the mover, so it sees what was
// answered; if the mover is failing (a full disk), it reads the prefix
// the journal has, and the rest follows when the mover succeeds.
//
// A mover that fails (the journal cannot grow on a full disk) keeps its
// entries, retries, and makes the next checks fail with its error until
// it succeeds: a check is answered only while what it wrote can follow
// into the journal. The checks already answered are on disk in the log.
//
// The file is written with zeros to its size when created, so that an
// append overwrites allocated blocks and its fdatasync flushes data only,
// not the file system's journal. It is a ring: appends go on from where
// the last ended to the file's end, then from its start again in the next
// epoch (frames carry their epoch, so a frame of an earlier lap is never
// read as new), never over an entry the mover has yet to move; only a
// log the mover lets fill waits for it. At Open, once the journal holds
// every entry, the log is cleared to zeros and a new epoch begins, so
// nothing a kill left past the last whole frame can be read as new.

// DefaultWALSize is the size of the journal's write-ahead log: room for
// tens of thousands of checks the mover has not yet moved.
const DefaultWALSize = 8 << 20

const (
	walHeaderSize = 4096 // the header takes the first block; frames follow
	walMinSize    = walHeaderSize + 64<<10
	walFrameHead  = 20 // magic, sealed length, epoch, CRC
	walFrameMagic = 0x42504a46
	walVersion    = 1
	// walMoveBatch bounds the entries the mover commits in one
	// transaction, so that a backlog moves in transactions of bounded size.
	walMoveBatch = 4096
	// walRetry is how often a failing mover tries again.
	walRetry = 250 * time.Millisecond
)

var (
	walMagic = []byte("BPJWAL\x00\x01")
	// bucketWAL names the log's frames in their associated data, so that
	// a frame cannot be passed off as a value of any bucket, nor moved to
	// another offset or epoch of the log.
	bucketWAL = []byte("journal_wal")
	// metaWALApplied (journal meta) names the log the journal applies
	// (its identity) and how far: the epoch and end offset of the last
	// entry the journal holds.
	metaWALApplied = []byte("wal_applied")
	walCRC         = crc32.MakeTable(crc32.Castagnoli)
)

// WALPath is the journal's write-ahead log of the replica at path.
func WALPath(path string) string { return path + ".journal.wal" }

// wal is the journal's write-ahead log and its mover.
type wal struct {
	f    *os.File
	path string
	size int64
	id   [16]byte // the log's identity, which its journal records

	// mu is held by the group commit's leader while it appends and by
	// every other journal writer for its whole transaction (jupdate).
	mu         sync.Mutex
	epoch      uint64 // of the frames being appended
	end        int64  // where the next append goes
	clear      bool   // the log must be cleared before the next append
	outboxNext uint64 // the next outbox sequence to assign
	buf, buf2  []byte // frames before and after a wrap

	// mv guards the mover's queue and progress; cond signals both ways.
	mv     sync.Mutex
	cond   *sync.Cond
	queue  []walEntry
	logged uint64 // entries appended since Open
	moved  uint64 // entries the journal holds
	// aEpoch and aEnd are the epoch and end of the last entry moved:
	// the entries still to move lie past it.
	aEpoch uint64
	aEnd   int64
	err    error // the mover's last failure, nil once it commits again
	stop   bool
	done   chan struct{}
}

// walEntry is one write of the log: a check with its hits, or an
// acknowledgement from central.
type walEntry struct {
	epoch uint64
	end   int64 // offset just past the entry's frame
	walBody
	ack *ackCommit // waiting for the entry to be moved; nil at replay
}

// walBody is what a frame seals.
type walBody struct {
	Time  time.Time    `json:"t"`
	Check *CheckRecord `json:"c,omitempty"`
	Hits  []Hit        `json:"h,omitempty"`
	Ack   uint64       `json:"a,omitempty"`
}

// openWAL opens the journal's log (creating it if there is none), hands
// what it holds past the journal's applied point to the mover, starts the
// mover and waits for it to move them. A log that cannot be created for
// want of space leaves the journal written directly, as before the log,
// until a start with room.
func (r *Replica) openWAL(size int64) error {
	path := WALPath(r.db.Path())
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		named := false
		r.j.View(func(tx *bolt.Tx) error {
			named = tx.Bucket(bucketMeta).Get(metaWALApplied) != nil
			return nil
		})
		if named {
			// After a clean stop the log holds nothing the journal lacks;
			// after a kill, the checks of its last moments.
			r.log.Warn("journal log missing beside a journal that had one: made again; if the agent was not stopped cleanly, checks answered in its last moments are not in the audit log", "path", path)
		}
		f, err = r.newWAL(path, size)
	}
	if errors.Is(err, syscall.ENOSPC) {
		r.log.Warn("disk full: the journal's write-ahead log cannot be created; checks are written to the journal directly until a start with free space",
			"path", path, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal log %s: %w", path, err)
	}
	w, entries, err := r.readWAL(f, path)
	if errors.Is(err, errWALHeaderDamaged) || errors.Is(err, errWALForeign) {
		// A log that names another journal (one made afresh beside it)
		// holds nothing of this one. A header is written once, when the
		// log is made; one that fails its checksum is damage, and the
		// log's identity with it. Either way the log is made again.
		r.log.Warn("journal log made again; checks it held that the journal lacks, if any, are lost", "path", path, "reason", err)
		f.Close()
		if f, err = r.newWAL(path, size); err == nil {
			w, entries, err = r.readWAL(f, path)
		}
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return err
	}
	w.cond = sync.NewCond(&w.mv)
	w.done = make(chan struct{})
	w.queue = entries
	w.logged = uint64(len(entries))
	w.clear = true // whatever a kill left past the last whole frame is never read
	err = r.j.View(func(tx *bolt.Tx) error {
		w.outboxNext = tx.Bucket(bucketOutbox).Sequence() + 1
		return nil
	})
	if err != nil {
		f.Close()
		return err
	}
	for _, e := range entries {
		for _, h := range e.Hits {
			w.outboxNext = max(w.outboxNext, h.Seq+1)
		}
	}
	r.wal = w
	go r.moveWAL()
	w.settleAll()
	switch err = w.failing(); {
	case err == nil:
		if err := w.clearLog(); err != nil {
			r.closeWAL()
			return fmt.Errorf("journal log %s: clear: %w", path, err)
		}
		if len(entries) > 0 {
			r.log.Info("journal: checks answered before the last stop moved in from its log", "entries", len(entries))
		}
	case errors.Is(err, syscall.ENOSPC):
		r.log.Warn("disk full: checks answered before the last stop wait in the journal's log; checks fail until there is room",
			"entries", len(entries), "err", err)
	default:
		r.closeWAL()
		return fmt.Errorf("journal log %s: move %d entries into the journal: %w", path, len(entries), err)
	}
	return nil
}

// newWAL creates the log at path and binds the journal to it: the
// journal records the log's identity with the point it has applied.
func (r *Replica) newWAL(path string, size int64) (*os.File, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	f, err := createWAL(path, size, id)
	if err != nil {
		return nil, err
	}
	err = r.j.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaWALApplied, walApplied(id, 0, walHeaderSize))
	})
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return f, nil
}

// walApplied is the journal's record of the log it applies: the log's
// identity, and the epoch and end offset of the last entry it holds.
func walApplied(id [16]byte, epoch uint64, end int64) []byte {
	v := make([]byte, 32)
	copy(v, id[:])
	binary.BigEndian.PutUint64(v[16:], epoch)
	binary.BigEndian.PutUint64(v[24:], uint64(end))
	return v
}

// createWAL writes a new log of size bytes, zeros past its header, and
// makes it durable with its directory entry.
func createWAL(path string, size int64, id [16]byte) (*os.File, error) {
	size = max(size, walMinSize)
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*os.File, error) {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	zeros := make([]byte, 1<<20)
	copy(zeros, walHeader(id))
	for off := int64(0); off < size; off += int64(len(zeros)) {
		n := min(int64(len(zeros)), size-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return fail(err)
		}
		if off == 0 {
			clear(zeros[:walHeaderSize])
		}
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	syncDir(path)
	return f, nil
}

// walHeader is the log's header block: magic, version, the log's
// identity, and a checksum of them. It is written once, when the log is
// made.
func walHeader(id [16]byte) []byte {
	h := make([]byte, walHeaderLen)
	copy(h, walMagic)
	binary.BigEndian.PutUint32(h[8:], walVersion)
	copy(h[12:], id[:])
	binary.BigEndian.PutUint32(h[28:], crc32.Checksum(h[:28], walCRC))
	return h
}

const walHeaderLen = 32

// readWAL reads the log's header and the entries past the journal's
// applied point, up to the first frame that is not whole (the tail of an
// append a kill cut).
func (r *Replica) readWAL(f *os.File, path string) (*wal, []walEntry, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() < walMinSize {
		return nil, nil, fmt.Errorf("%w: journal log %s is %d bytes, too short to be one: move it aside and start again (the checks it held are lost)", ErrJournal, path, st.Size())
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("read journal log %s: %w", path, err)
	}
	w := &wal{f: f, path: path, size: st.Size()}
	h := data[:walHeaderLen]
	if !bytes.Equal(h[:8], walMagic) || binary.BigEndian.Uint32(h[8:]) != walVersion {
		return nil, nil, fmt.Errorf("%w: %s is not a journal log of this version: move it aside and start again", ErrJournal, path)
	}
	if crc32.Checksum(h[:28], walCRC) != binary.BigEndian.Uint32(h[28:]) {
		return nil, nil, errWALHeaderDamaged
	}
	copy(w.id[:], h[12:])
	var aEpoch uint64
	var aEnd int64
	err = r.j.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(metaWALApplied)
		if len(v) != 32 || !bytes.Equal(v[:16], w.id[:]) {
			return errWALForeign
		}
		aEpoch, aEnd = binary.BigEndian.Uint64(v[16:]), int64(binary.BigEndian.Uint64(v[24:]))
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	w.aEpoch, w.aEnd = aEpoch, aEnd
	entries, epoch, end, err := scanWAL(data, aEpoch, max(aEnd, walHeaderSize), r.keys())
	if err != nil {
		return nil, nil, fmt.Errorf("journal log %s: %w", path, err)
	}
	w.epoch, w.end = epoch, end
	return w, entries, nil
}

// scanWAL reads the entries of the log data from offset off of epoch on:
// the rest of that epoch, then each next epoch from the start of the ring
// as long as one begins there (the mover's point trails the appends by at
// most a lap), up to the first frame that is not whole. It returns them
// with the epoch and offset where the last ended. A whole frame that does
// not open with ks, or does not decode, is an error: damage, or another
// replica's log.
func scanWAL(data []byte, epoch uint64, off int64, ks keyset) ([]walEntry, uint64, int64, error) {
	var entries []walEntry
	for {
		body, next, ok := walFrame(data, off, epoch)
		if !ok {
			if body, next, ok = walFrame(data, walHeaderSize, epoch+1); !ok {
				return entries, epoch, off, nil
			}
			epoch, off = epoch+1, walHeaderSize
		}
		plain, err := ks.open(bucketWAL, walFrameKey(epoch, off), body)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%w: the frame at %d is whole but does not open with this replica's keys: %w", ErrCorrupt, off, err)
		}
		e := walEntry{epoch: epoch, end: next}
		if err := json.Unmarshal(plain, &e.walBody); err != nil {
			return nil, 0, 0, fmt.Errorf("%w: the frame at %d: %w", ErrCorrupt, off, err)
		}
		entries = append(entries, e)
		off = next
	}
}

// walFrame returns the sealed body of the frame of epoch at off in data,
// and the offset past it, if a whole frame is there.
func walFrame(data []byte, off int64, epoch uint64) ([]byte, int64, bool) {
	// Written so that no offset (the journal's point is read from its
	// meta, which a damaged page can make anything) overflows.
	if off < 0 || off > int64(len(data))-walFrameHead {
		return nil, 0, false
	}
	h := data[off : off+walFrameHead]
	n := int64(binary.BigEndian.Uint32(h[4:]))
	if binary.BigEndian.Uint32(h) != walFrameMagic || binary.BigEndian.Uint64(h[8:]) != epoch || n == 0 || n > int64(len(data))-walFrameHead-off {
		return nil, 0, false
	}
	body := data[off+walFrameHead : off+walFrameHead+n]
	c := crc32.Update(crc32.Checksum(h[:16], walCRC), walCRC, body)
	if c != binary.BigEndian.Uint32(h[16:]) {
		return nil, 0, false
	}
	return body, off + walFrameHead + n, true
}

// walFrameKey is the associated data of the frame at off of epoch.
func walFrameKey(epoch uint64, off int64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, epoch)
	binary.BigEndian.PutUint64(k[8:], uint64(off))
	return k
}

// appendFrame seals body as the frame of epoch at off onto dst.
func appendFrame(dst []byte, ring *keyring, epoch uint64, off int64, body *walBody) ([]byte, error) {
	plain, err := json.Marshal(body)
	if err != nil {
		return dst, err
	}
	sealed, err := ring.seal(bucketWAL, walFrameKey(epoch, off), plain)
	if err != nil {
		return dst, err
	}
	var h [walFrameHead]byte
	binary.BigEndian.PutUint32(h[:], walFrameMagic)
	binary.BigEndian.PutUint32(h[4:], uint32(len(sealed)))
	binary.BigEndian.PutUint64(h[8:], epoch)
	binary.BigEndian.PutUint32(h[16:], crc32.Update(crc32.Checksum(h[:16], walCRC), walCRC, sealed))
	dst = append(dst, h[:]...)
	return append(dst, sealed...), nil
}

// maxFrame is the largest frame the log takes: a quarter of it, so that
// the frames of one group always fit a lap.
func (w *wal) maxFrame() int64 { return (w.size - walHeaderSize) / 4 }

// logGroup takes the next group of checks and acknowledgements, appends
// them to the log and syncs it once. It answers the checks it wrote (or
// failed) and hands the entries to the mover, which answers the
// acknowledgements once the journal holds them. Checks that did not fit
// go back to lead the next group.
func (r *Replica) logGroup() {
	w := r.wal
	q := &r.commits
	// The group is taken once the log is held: checks that arrive while
	// another journal writer (an outcome, an event's record) holds it
	// join this group instead of waiting for the next one.
	w.mu.Lock()
	group, acks := q.take()
	var rest []*checkCommit
	answered := group
	defer func() {
		q.mu.Lock()
		if len(rest) > 0 { // did not fit the log: first in the next group
			q.pending = append(rest[:len(rest):len(rest)], q.pending...)
		}
		q.groups++
		q.checks += uint64(len(group) - len(rest))
		q.acked += uint64(len(acks))
		q.mu.Unlock()
		for _, cc := range answered {
			close(cc.done)
		}
	}()
	defer w.mu.Unlock()
	failAll := func(err error) {
		for _, cc := range group {
			cc.err = err
		}
		for _, ac := range acks {
			ac.err = err
			close(ac.done)
		}
	}
	if err := w.failing(); err != nil {
		failAll(fmt.Errorf("the journal cannot take what checks write: %w", err))
		return
	}
	if w.clear {
		// After a failed append: what of it reached the disk must never
		// be read, so the log starts again from zeros, which needs every
		// entry moved.
		w.settleAll()
		if err := w.failing(); err != nil {
			failAll(fmt.Errorf("the journal cannot take what checks write: %w", err))
			return
		}
		if err := w.clearLog(); err != nil {
			failAll(fmt.Errorf("clear the journal's log %s: %w", w.path, err))
			return
		}
	}
	ring := r.journalRing()
	now := r.now().UTC()
	next := w.outboxNext
	lap := w.placer()
	var entries []walEntry
	add := func(b walBody) error {
		e, err := lap.place(ring, &b)
		if errors.Is(err, errLogFull) && len(entries) == 0 {
			// Not one frame fits: the mover is a lap behind. Wait for it
			// (the only wait of an append) and place again.
			w.settleAll()
			lap = w.placer()
			e, err = lap.place(ring, &b)
		}
		if err != nil {
			return err
		}
		entries = append(entries, e)
		return nil
	}
	for _, ac := range acks {
		if err := add(walBody{Time: now, Ack: ac.upto}); err != nil {
			ac.err = err
			close(ac.done)
			continue
		}
		entries[len(entries)-1].ack = ac
	}
	var written []*checkCommit
	for i, cc := range group {
		out := append([]Hit(nil), cc.hits...)
		if err := validHits(out); err != nil {
			cc.err = err
			written = append(written, cc)
			continue
		}
		for j := range out {
			out[j].Seq = next + uint64(j)
		}
		check := cc.check
		err := add(walBody{Time: now, Check: &check, Hits: out})
		if errors.Is(err, errLogFull) && len(entries) > 0 {
			rest = group[i:]
			break
		}
		if err == nil {
			cc.out = append([]Hit(nil), out...) // the mover writes out; the caller may change its copy
			next += uint64(len(out))
		}
		cc.err = err
		written = append(written, cc)
	}
	answered = written
	if len(entries) == 0 {
		return
	}
	err := lap.write()
	w.buf, w.buf2 = lap.buf[:0], lap.buf2[:0]
	if err != nil {
		err = fmt.Errorf("write the journal's log %s: %w", w.path, err)
		w.clear = true // what reached the disk of this append is never read
		for _, cc := range written {
			if cc.err == nil {
				cc.err, cc.out = err, nil
			}
		}
		for _, e := range entries {
			if e.ack != nil {
				e.ack.err = err
				close(e.ack.done)
			}
		}
		return
	}
	w.epoch, w.end = lap.epoch, lap.off
	w.outboxNext = next
	w.mv.Lock()
	w.queue = append(w.queue, entries...)
	w.logged += uint64(len(entries))
	w.cond.Broadcast()
	w.mv.Unlock()
}

// walPlacer lays out one append: frames from the log's end, and past
// the file's end from its start in the next epoch, never over an entry
// the mover has yet to move.
type walPlacer struct {
	w         *wal
	epoch     uint64 // of the next frame
	off       int64  // where it goes
	limit     int64  // how far frames of epoch may go
	start     int64  // where buf goes
	wrapped   bool   // buf2 holds frames from the start of the next epoch
	buf, buf2 []byte
	wrapLimit int64 // how far the next epoch may go, if it wraps
	mayWrap   bool
}

// placer starts laying out an append at the log's end, within what the
// mover has moved so far.
func (w *wal) placer() *walPlacer {
	w.mv.Lock()
	caught := w.moved == w.logged
	aEpoch, aEnd := w.aEpoch, w.aEnd
	w.mv.Unlock()
	p := &walPlacer{w: w, epoch: w.epoch, off: w.end, start: w.end, buf: w.buf[:0], buf2: w.buf2[:0]}
	switch {
	case caught || aEpoch == w.epoch:
		// Nothing to move before the end; after a wrap, up to the first
		// entry still to move (or the whole lap, if none is).
		p.limit, p.mayWrap = w.size, true
		p.wrapLimit = w.size
		if !caught {
			p.wrapLimit = aEnd
		}
	case aEpoch+1 == w.epoch:
		// Wrapped already: the entries of the lap before start at aEnd.
		p.limit = aEnd
	default:
		p.limit = w.end // a lap ahead of the mover: no room
	}
	return p
}

// place seals body as the next frame of the append and returns its entry,
// or errLogFull if it does not fit.
func (p *walPlacer) place(ring *keyring, body *walBody) (walEntry, error) {
	for {
		buf := &p.buf
		if p.wrapped {
			buf = &p.buf2
		}
		at := len(*buf)
		var err error
		if *buf, err = appendFrame(*buf, ring, p.epoch, p.off, body); err != nil {
			*buf = (*buf)[:at]
			return walEntry{}, err
		}
		n := int64(len(*buf) - at)
		if n > p.w.maxFrame() {
			*buf = (*buf)[:at]
			return walEntry{}, fmt.Errorf("%w: a check with %d hits makes a record of %d bytes, more than the journal's log takes (%d): its hits were not recorded", ErrInvalidAlert, len(body.Hits), n, p.w.maxFrame())
		}
		if p.off+n <= p.limit {
			p.off += n
			return walEntry{epoch: p.epoch, end: p.off, walBody: *body}, nil
		}
		*buf = (*buf)[:at]
		if p.wrapped || !p.mayWrap {
			return walEntry{}, errLogFull
		}
		// The frame is sealed again for its place in the next lap.
		p.wrapped = true
		p.epoch, p.off, p.limit = p.epoch+1, walHeaderSize, p.wrapLimit
	}
}

// write puts the append's frames in place and syncs the log once.
func (p *walPlacer) write() error {
	if len(p.buf) > 0 {
		if _, err := p.w.f.WriteAt(p.buf, p.start); err != nil {
			return err
		}
	}
	if len(p.buf2) > 0 {
		if _, err := p.w.f.WriteAt(p.buf2, walHeaderSize); err != nil {
			return err
		}
	}
	return fdatasync(p.w.f)
}

// clearLog writes zeros over every frame and syncs, and starts a new
// epoch from the log's start: the journal must hold every entry.
func (w *wal) clearLog() error {
	zeros := make([]byte, min(w.size-walHeaderSize, 1<<20))
	for off := int64(walHeaderSize); off < w.size; off += int64(len(zeros)) {
		if _, err := w.f.WriteAt(zeros[:min(int64(len(zeros)), w.size-off)], off); err != nil {
			return err
		}
	}
	if err := fdatasync(w.f); err != nil {
		return err
	}
	w.mv.Lock()
	// The journal's point (the last entry moved) stays where it is: a
	// replay looks past it, finds zeros, and then this epoch from the
	// start. In memory the point moves here, where nothing waits.
	w.epoch = max(w.epoch, w.aEpoch) + 1
	w.aEpoch, w.aEnd = w.epoch, walHeaderSize
	w.mv.Unlock()
	w.end, w.clear = walHeaderSize, false
	return nil
}

// errWALHeaderDamaged means the log's header does not match its checksum.
var errWALHeaderDamaged = errors.New("journal log header damaged")

// errWALForeign means the journal does not name the log beside it.
var errWALForeign = errors.New("the journal does not name this log")

// errLogFull stops a group at the frame that does not fit the log.
var errLogFull = errors.New("journal log full")

// validHits refuses hits the journal could not take, so that the mover
// never holds an entry it cannot commit.
func validHits(hits []Hit) error {
	for _, h := range hits {
		if h.ID == "" || len(h.ID) > bolt.MaxKeySize {
			return fmt.Errorf("%w: a hit's ID is empty or longer than %d bytes", ErrInvalidAlert, bolt.MaxKeySize)
		}
	}
	return nil
}

// loggedNow is the number of entries appended so far.
func (w *wal) loggedNow() uint64 {
	w.mv.Lock()
	defer w.mv.Unlock()
	return w.logged
}

// failing returns the mover's last error, nil if its last commit went
// through.
func (w *wal) failing() error {
	w.mv.Lock()
	defer w.mv.Unlock()
	return w.err
}

// caughtUp says whether the journal holds every entry of the log.
func (w *wal) caughtUp() bool {
	w.mv.Lock()
	defer w.mv.Unlock()
	return w.moved == w.logged
}

// settle waits until the journal holds the first upto entries, or the
// mover fails: a reader then reads the prefix the journal holds.
func (w *wal) settle(upto uint64) {
	w.mv.Lock()
	defer w.mv.Unlock()
	for w.moved < upto && w.err == nil && !w.stop {
		w.cond.Wait()
	}
}

// settleAll waits until the journal holds every entry appended so far
// (or the mover fails).
func (w *wal) settleAll() { w.settle(w.loggedNow()) }

// moveWAL is the mover: it commits the log's entries to the journal in
// order, until closeWAL.
func (r *Replica) moveWAL() {
	w := r.wal
	defer close(w.done)
	for {
		w.mv.Lock()
		for len(w.queue) == 0 && !w.stop {
			w.cond.Wait()
		}
		if len(w.queue) == 0 {
			w.mv.Unlock()
			return
		}
		batch := w.queue[:min(len(w.queue), walMoveBatch)]
		w.mv.Unlock()
		err := r.j.Update(func(tx *bolt.Tx) error { return r.applyWAL(tx, batch) })
		w.mv.Lock()
		if err != nil {
			first := w.err == nil
			w.err = err
			stop := w.stop
			w.cond.Broadcast()
			if stop {
				// Closing: what is left stays in the log for the next start.
				for _, e := range w.queue {
					if e.ack != nil {
						e.ack.err = err
						close(e.ack.done)
					}
				}
				w.queue = nil
				w.mv.Unlock()
				r.log.Warn("journal: checks left in its log for the next start", "path", w.path, "err", err)
				return
			}
			w.mv.Unlock()
			if first {
				r.log.Error("journal: checks answered cannot be moved into it; checks fail until they can", "path", w.path, "err", err)
			}
			time.Sleep(walRetry)
			continue
		}
		if w.err != nil {
			r.log.Info("journal: checks move into it again", "path", w.path)
		}
		w.err = nil
		w.queue = append(w.queue[:0:0], w.queue[len(batch):]...)
		w.moved += uint64(len(batch))
		w.aEpoch, w.aEnd = batch[len(batch)-1].epoch, batch[len(batch)-1].end
		w.cond.Broadcast()
		w.mv.Unlock()
		for _, e := range batch {
			if e.ack != nil {
				close(e.ack.done)
			}
		}
	}
}

// applyWAL writes the entries to the journal inside tx, in order, with
// the point they reach.
func (r *Replica) applyWAL(tx *bolt.Tx, batch []walEntry) error {
	ring := r.journalRing()
	meta := tx.Bucket(bucketMeta)
	prev := string(meta.Get(metaAudit))
	var seq, top uint64
	added := 0
	for i := range batch {
		e := &batch[i]
		if e.Check == nil {
			ac := e.ack
			if ac == nil {
				ac = &ackCommit{}
			}
			ac.upto = e.Ack
			if err := writeAcks(tx, []*ackCommit{ac}); err != nil {
				return err
			}
			continue
		}
		var err error
		if seq, prev, err = r.putCheck(tx, ring, *e.Check, e.Hits, e.Time, prev); err != nil {
			return err
		}
		added += len(e.Hits)
		for _, h := range e.Hits {
			top = max(top, h.Seq)
		}
	}
	if seq != 0 {
		if err := setAuditHead(tx, ring, seq, prev); err != nil {
			return err
		}
	}
	if added > 0 {
		ob := tx.Bucket(bucketOutbox)
		if top > ob.Sequence() {
			if err := ob.SetSequence(top); err != nil {
				return err
			}
		}
		if err := addOutboxN(tx, int64(added)); err != nil {
			return err
		}
	}
	last := batch[len(batch)-1]
	return meta.Put(metaWALApplied, walApplied(r.wal.id, last.epoch, last.end))
}

// closeWAL lets the mover move what the log holds (or give up, failing),
// stops it and closes the log.
func (r *Replica) closeWAL() error {
	w := r.wal
	if w == nil {
		return nil
	}
	w.mv.Lock()
	w.stop = true
	w.cond.Broadcast()
	w.mv.Unlock()
	<-w.done
	r.wal = nil
	return w.f.Close()
}
