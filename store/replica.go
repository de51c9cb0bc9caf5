package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FormatVersion is the replica file format this code writes. A file of a
// newer format is refused rather than misread; a format 1 file (one alerts
// bucket, one key check) is upgraded in place when opened, and so is a
// format 2 file (audit records in clear, chained by an unkeyed hash), whose
// audit log is sealed (see sealLegacyAudit). Format 4 keeps the audit log
// and the outbox in the journal beside the file (journal.go); a file of
// format 3 or before has them inside, and they are moved at open.
const FormatVersion = 4

// legacyFormat is the last format that kept the audit log and the outbox
// in the replica file itself.
const legacyFormat = 3

// Bucket names. They say what a bucket holds, never whose data. The
// names inside a generation are also the associated data of its values.
var (
	bucketMeta   = []byte("meta")
	bucketOutbox = []byte("outbox")
	bucketAudit  = []byte("audit")
	bucketAlerts = []byte("alerts") // in a generation; top level in format 1
	bucketExpiry = []byte("expiry")
	bucketTombs  = []byte("tombs")
)

// Keys in the meta bucket.
var (
	metaFormat       = []byte("format")
	metaSalt         = []byte("salt")
	metaKeyCheck     = []byte("keycheck") // format 1 only
	metaKeyGen       = []byte("keygen")   // active key generation
	metaCursor       = []byte("cursor")
	metaOutboxN      = []byte("outbox_n")
	metaAudit        = []byte("audit_head")
	metaAuditAnchor  = []byte("audit_anchor")   // last record removed by retention
	metaAuditKeyed   = []byte("audit_keyed")    // the audit log is sealed and HMAC-chained
	metaAuditHeadTag = []byte("audit_head_tag") // the head's position tag
	metaAlertGen     = []byte("alertgen")       // active alert generation
	metaGenNext      = []byte("gen_next")       // next generation number
	metaRotation     = []byte("rotation")       // a key rotation in progress
	metaSnapshot     = []byte("snapshot")       // a snapshot being loaded
	metaCompact      = []byte("compact")        // space to reclaim since a generation was dropped
)

// keyCheckName is the meta key of a key generation's check value.
func keyCheckName(gen uint32) []byte { return fmt.Appendf(nil, "keycheck.%d", gen) }

// Options tune Open. The zero value is usable.
type Options struct {
	// LockTimeout bounds the wait for another process holding the file.
	LockTimeout time.Duration
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
	// NextKey is the key a rotation moves to (see Rotate). When a rotation
	// was interrupted, Open resumes it only if NextKey yields that key; with
	// no NextKey it rolls the rotation back. When the rotation already
	// finished, Open accepts NextKey's key as the active one.
	NextKey KeyProvider
	// Compact makes Open first rewrite the file without the space left by
	// dropped generations, if there is any (see Compact). Set it when the
	// agent starts, before it serves.
	Compact bool
	// Terms, with TermsVersion, makes the replica keep a term index (see
	// terms.go): every alert filed under the keyed hash of each term Terms
	// gives, in the same transactions as the alerts. TermsVersion must
	// change whenever Terms would give other terms; an index of another
	// version is rebuilt at Open. Opening without Terms leaves the index
	// unmaintained and marks it so.
	Terms        TermFunc
	TermsVersion string
	// Warm makes the replica, once open, read its file into memory in the
	// background (Warmed says when it is done) instead of mapping, before
	// Open returns, only what the page cache holds. Set it when the agent
	// starts: it serves at once, and its checks reach the speed of a warm
	// post without the first ones reading the disk.
	Warm bool
	// WarmBudget, if set, is the memory the replicas sharing it may fill
	// by warming, together (a post's main and scope replicas). Without it
	// each weighs its file against the memory available on its own.
	WarmBudget *WarmBudget
	// VouchKey, for ReadStatus only (Open has its key), gives the data key
	// whose close mark may vouch for the file, so that the status of a
	// replica closed cleanly need not read every page.
	VouchKey KeyProvider
	// WALSize is the size of the journal's write-ahead log, created at
	// the first Open (wal.go); 0 means DefaultWALSize. An existing log
	// keeps its size.
	WALSize int64
}

// Replica is the post's encrypted bbolt database. It is safe for concurrent
// use; Close it once when done.
type Replica struct {
	db *bolt.DB
	// j is the journal (journal.go): audit log, outbox, officers' keep.
	j *bolt.DB
	// wal is the journal's write-ahead log (wal.go); nil while it could
	// not be created (a full disk), when checks go to the journal itself.
	wal *wal
	// officerKeepMax is OfficerKeepMax (tests lower it).
	officerKeepMax int
	// queueMu serialises moving the audit queue into the journal;
	// queueDone is the last queued record the journal holds.
	queueMu   sync.Mutex
	queueDone atomic.Uint64
	rings     atomic.Pointer[keyset]
	salt      []byte
	log       *slog.Logger
	now       func() time.Time
	// op admits one key rotation or snapshot at a time.
	op sync.Mutex
	// syncMu keeps NoSync to the bulk load: every other write transaction
	// holds it shared, a snapshot chunk holds it alone while NoSync is set.
	syncMu sync.RWMutex
	ringMu sync.Mutex // serialises keyset replacement
	// auditOld holds the audit keys of key generations before the loaded
	// ones, for the records written under them.
	auditOld atomic.Pointer[map[uint32]*auditKeys]
	// active is the keyring of the active key generation, read without a
	// transaction where only record keys are needed (TermFingerprints); set
	// at Open and when a rotation finishes.
	active atomic.Pointer[keyring]
	// terms derives the term index's terms (Options.Terms); nil when the
	// replica keeps none.
	terms        TermFunc
	termsVersion []byte
	rebuild      []termTarget // term indexes Open must rebuild after init
	skipTerms    bool         // opened on a full disk: the term index is left as it was
	// commits groups concurrent checks into one transaction (Record).
	commits commitQueue
	// deltaMu admits one Apply at a time: a change applied in chunks must
	// not meet another between them (pending.go).
	deltaMu sync.Mutex
	// deltaChunk fixes the operations per transaction of a large change,
	// and deltaYieldAfter when a chunk ends early for waiting checks; 0
	// applies the rule of pending.go. chunkCommitted, when set, is called
	// after each chunk's commit. Tests set them.
	deltaChunk      int
	deltaYieldAfter time.Duration
	chunkCommitted  func(done, total int)
	// rotationMemory replaces rotationRunMemory when set. Tests set it.
	rotationMemory int
	// markKey signs the close mark Close leaves (closemark.go).
	markKey []byte
	// warming is the warming Open started (Options.Warm).
	warming task
	// warmBudget is Options.WarmBudget; warmHeld the bytes this replica
	// took of it, given back at Close.
	warmBudget *WarmBudget
	warmHeld   int64
	// strays are the generations Open found named by no record, which
	// dropping (dropStrays) deletes after Open returns (stray.go); a
	// snapshot's switch or refusal starts it again (dropStraysLater),
	// under dropMu.
	strays   []uint64
	dropMu   sync.Mutex
	dropping task
	// yield, when set, replaces runtime.Gosched where the replica gives
	// the processor to other goroutines (yieldProcessor). Tests count.
	yield func()
}

// Open opens or creates the replica at path, asking kp for the data key. It
// fails, and opens nothing, when there is no key, when the key is not the
// one the file was created with, or when the file has a newer format. It
// also finishes what a kill interrupted: a partial snapshot is removed, and
// a key rotation is kept for Rotate to resume (NextKey given) or rolled
// back.
func Open(ctx context.Context, path string, kp KeyProvider, opt Options) (*Replica, error) {
	if kp == nil {
		return nil, fmt.Errorf("%w: no key provider configured (set store.key in the configuration)", ErrNoKey)
	}
	if opt.Terms != nil && opt.TermsVersion == "" {
		return nil, fmt.Errorf("%w: a term function needs a TermsVersion", ErrTermsVersion)
	}
	key, err := dataKey(ctx, kp)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	if opt.LockTimeout == 0 {
		opt.LockTimeout = 5 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	var next []byte
	if opt.NextKey != nil {
		if next, err = dataKey(ctx, opt.NextKey); err != nil {
			opt.Logger.Warn("next data key unavailable; an interrupted key rotation will be rolled back", "err", err)
			next = nil
		}
		defer clear(next)
	}
	// bbolt trusts the file it maps: check it first (see verify.go), the
	// whole tree unless a clean close vouches for the file (closemark.go).
	markKey := closeMarkKey(key)
	if err := checkFileLogged(path, opt.LockTimeout, markKey, opt.Logger); err != nil {
		return nil, err
	}
	// From here on the file may be written: a session that dies must
	// leave no mark vouching for it.
	if err := removeCloseMark(path); err != nil {
		opt.Logger.Warn("close mark not removed; it stops matching at the first commit", "path", closeMarkPath(path), "err", err)
	}
	if err := backupBeforeUpgrade(ctx, path, opt); err != nil {
		return nil, err
	}
	if opt.Compact {
		if err := compactIfWanted(ctx, path, opt); err != nil {
			// Compaction only reclaims space; on a full disk it cannot
			// write its copy, and the agent must still start.
			opt.Logger.Warn("replica not compacted; it will be at the next start", "path", path, "err", err)
		}
	}
	db, err := bolt.Open(path, 0o600, boltOptionsFor(path, opt.LockTimeout))
	if err != nil {
		return nil, fmt.Errorf("open replica %s: %w (is another borderpost running?)", path, err)
	}
	r := &Replica{db: db, log: opt.Logger, now: opt.Now, officerKeepMax: OfficerKeepMax, terms: opt.Terms, termsVersion: termsVersionOf(opt.TermsVersion), markKey: markKey}
	err = r.init(key, next)
	if errors.Is(err, syscall.ENOSPC) && r.terms != nil {
		// A full disk must not keep the agent from starting: open without
		// bringing the term index up to date (the transaction that tried
		// was rolled back); it is not ready, so the agent holds identifiers
		// in memory, and the next start with room rebuilds it.
		r.log.Warn("disk full: the replica's term index cannot be brought up to date; identifiers are held in memory until a start with free space rebuilds it",
			"path", path, "err", err)
		r.skipTerms = true
		err = r.init(key, next)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	for _, t := range r.rebuild {
		if err := r.rebuildTerms(ctx, t); errors.Is(err, syscall.ENOSPC) {
			// As above: the index stays not ready, and is rebuilt at the
			// next start with room.
			r.log.Warn("disk full: the replica's term index cannot be rebuilt; identifiers are held in memory until a start with free space rebuilds it",
				"path", path, "err", err)
			break
		} else if err != nil {
			db.Close()
			return nil, fmt.Errorf("rebuild the term index of alert generation %d: %w", t.num, err)
		}
	}
	r.rebuild = nil
	if err := r.openJournal(opt); err != nil {
		db.Close()
		return nil, err
	}
	// Sorted runs of a snapshot a kill interrupted: no snapshot can be
	// loading now, since this process holds the file.
	terms, _ := filepath.Glob(path + ".terms-*") // runs of a term index rebuild a kill interrupted
	if _, err := os.Stat(rotationRunDir(path)); err == nil {
		terms = append(terms, rotationRunDir(path)) // and of a rotation's order
	}
	if stale, _ := filepath.Glob(path + ".snapshot-*"); len(stale)+len(terms) > 0 {
		stale = append(stale, terms...)
		for _, d := range stale {
			os.RemoveAll(d)
		}
	}
	strays := r.strays
	r.dropping = startTask(len(strays) > 0, func(ctx context.Context) { r.dropStrays(ctx, strays) })
	if !opt.Warm {
		r.warming = startTask(false, nil)
		t0 := time.Now()
		if n, err := r.mapResident(); err != nil {
			// Only speed is lost: lookups map pages as they touch them.
			r.log.Warn("replica pages in the page cache not mapped at open", "path", path, "err", err)
		} else if n > 64<<20 {
			r.log.Info("replica pages in the page cache mapped", "path", path, "bytes", n, "took", time.Since(t0).Round(time.Millisecond))
		}
		return r, nil
	}
	r.warmBudget = opt.WarmBudget
	r.warming = startTask(true, func(wctx context.Context) {
		t0 := time.Now()
		n, whole, err := r.warm(wctx)
		switch {
		case wctx.Err() != nil:
		case err != nil:
			// Only speed is lost: lookups map pages as they touch them.
			r.log.Warn("replica not warmed: pages are read as checks touch them", "path", path, "err", err)
		case whole && n > 0:
			r.log.Info("replica warmed: its pages are in memory", "path", path, "bytes", n, "took", time.Since(t0).Round(time.Millisecond))
		}
	})
	return r, nil
}

// Warmed returns a channel closed once the replica's pages are in memory
// (Options.Warm), or the warming ended for Close or an error; without
// Warm, closed once Open returns.
func (r *Replica) Warmed() <-chan struct{} { return r.warming.done }

// task is work a replica runs in the background from Open until it ends
// or Close stops it.
type task struct {
	stop context.CancelFunc
	done chan struct{} // closed once the work has ended
}

// startTask runs fn in its own goroutine if run, else returns a task
// already done.
func startTask(run bool, fn func(context.Context)) task {
	t := task{done: make(chan struct{})}
	if !run {
		close(t.done)
		return t
	}
	ctx, stop := context.WithCancel(context.Background())
	t.stop = stop
	go func() {
		defer close(t.done)
		fn(ctx)
	}()
	return t
}

// end stops the work and waits for it.
func (t task) end() {
	if t.stop != nil {
		t.stop()
	}
	<-t.done
}

func boltOptions(timeout time.Duration) *bolt.Options {
	return &bolt.Options{
		Timeout:         timeout,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: 64 << 20,
	}
}

func dataKey(ctx context.Context, kp KeyProvider) ([]byte, error) {
	key, err := kp.DataKey(ctx)
	if err != nil {
		if !errors.Is(err, ErrNoKey) {
			err = fmt.Errorf("%w: %w", ErrNoKey, err)
		}
		return nil, err
	}
	return key, nil
}

// init creates the buckets of a new file or checks an existing one,
// upgrades a format 1 file, derives the keys, and cleans up after a kill.
func (r *Replica) init(key, next []byte) error {
	return r.db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketMeta); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		format, created := uint32(FormatVersion), false
		if f := meta.Get(metaFormat); f != nil {
			if format = binary.BigEndian.Uint32(f); format > FormatVersion {
				return fmt.Errorf("%w: file format %d, this borderpost reads up to %d: upgrade borderpost", ErrFormat, format, FormatVersion)
			}
		} else if err := r.createIfEmpty(tx, key); err != nil {
			return err
		} else {
			created = true
		}
		r.salt = bytes.Clone(meta.Get(metaSalt))
		gen := binary.BigEndian.Uint32(meta.Get(metaKeyGen))
		stored := meta.Get(keyCheckName(gen))
		if format == 1 {
			stored = meta.Get(metaKeyCheck)
		}
		var active *keyring
		var other []byte
		for _, cand := range [][2][]byte{{key, next}, {next, key}} {
			if cand[0] == nil {
				continue
			}
			k, err := newKeyring(cand[0], r.salt, gen)
			if err != nil {
				return err
			}
			if hmac.Equal(stored, k.check()) {
				active, other = k, cand[1]
				break
			}
		}
		if active == nil {
			return fmt.Errorf("%w: this replica was created with another key; restore the right key, or move the replica and its journal aside and let the agent fetch a fresh snapshot", ErrWrongKey)
		}
		ks := keyset{gen: active}
		r.rings.Store(&ks)
		r.active.Store(active)
		if format == 1 {
			if err := r.upgrade(tx, active); err != nil {
				return fmt.Errorf("upgrade replica from format 1: %w", err)
			}
		}
		r.loadAuditKeys(tx, active)
		if err := r.loadRetired(tx, active); err != nil {
			return err
		}
		if !created && format < FormatVersion {
			// The log is still in this file: the journal takes it at
			// open (openJournal), once it is sealed.
			for _, b := range [][]byte{bucketOutbox, bucketAudit} {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			if format >= legacyFormat && meta.Get(metaAuditKeyed) == nil {
				// Only a file of an older format holds a log to convert; a
				// current one without the mark was damaged or tampered with,
				// and converting it would trust whatever its log now says.
				return damaged(r.db.Path(), fmt.Errorf("%w: the audit log's seal record is missing", ErrAuditChain))
			}
			if err := r.sealLegacyAudit(tx, active); err != nil {
				if errors.Is(err, ErrAuditChain) {
					return damaged(r.db.Path(), err)
				}
				return err
			}
			if err := meta.Put(metaFormat, u32(legacyFormat)); err != nil {
				return err
			}
		}
		if err := r.recoverRotation(tx, other); err != nil {
			return err
		}
		if err := r.recoverSnapshot(tx); err != nil {
			return err
		}
		if r.skipTerms {
			return nil
		}
		var err error
		r.rebuild, err = r.ensureTerms(tx)
		return err
	})
}

// create lays out a new file: salt, format, key generation 1 and an empty
// alert generation.
func (r *Replica) create(tx *bolt.Tx, key []byte) error {
	meta := tx.Bucket(bucketMeta)
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	k, err := newKeyring(key, salt, 1)
	if err != nil {
		return err
	}
	g, err := createGeneration(tx)
	if err != nil {
		return err
	}
	for _, kv := range [][2][]byte{
		{metaFormat, u32(FormatVersion)}, {metaSalt, salt}, {metaKeyGen, u32(1)},
		{keyCheckName(1), k.check()}, {metaAlertGen, u64(g.num)},
	} {
		if err := meta.Put(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// upgrade moves a format 1 file's alerts bucket into a generation and
// builds the expiry index it lacked.
func (r *Replica) upgrade(tx *bolt.Tx, ring *keyring) error {
	meta := tx.Bucket(bucketMeta)
	g, err := createGeneration(tx)
	if err != nil {
		return err
	}
	parent := tx.Bucket(genName(g.num))
	if err := parent.DeleteBucket(bucketAlerts); err != nil {
		return err
	}
	if tx.Bucket(bucketAlerts) != nil {
		if err := tx.MoveBucket(bucketAlerts, nil, parent); err != nil {
			return err
		}
	} else if _, err := parent.CreateBucket(bucketAlerts); err != nil {
		return err
	}
	if g, err = openGeneration(tx, g.num); err != nil {
		return err
	}
	ks := keyset{ring.gen: ring}
	c := g.alerts.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		a, err := decodeAlert(ks, k, v)
		if err != nil {
			return err
		}
		if !a.Expires.IsZero() {
			if err := g.expiry.Put(expiryKey(a.Expires, k), nil); err != nil {
				return err
			}
		}
	}
	for _, kv := range [][2][]byte{
		{metaFormat, u32(legacyFormat)}, {keyCheckName(ring.gen), ring.check()}, {metaAlertGen, u64(g.num)},
	} {
		if err := meta.Put(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return meta.Delete(metaKeyCheck)
}

// keys returns the loaded keyrings.
func (r *Replica) keys() keyset { return *r.rings.Load() }

// addRing makes k usable for values of its generation.
func (r *Replica) addRing(k *keyring) {
	r.ringMu.Lock()
	defer r.ringMu.Unlock()
	ks := keyset{}
	for g, v := range r.keys() {
		ks[g] = v
	}
	ks[k.gen] = k
	r.rings.Store(&ks)
}

// txState is what a transaction needs to find alerts: the active key
// generation's keyring and the active alert generation.
type txState struct {
	ks   keyset
	ring *keyring
	gen  *generation
}

func (r *Replica) state(tx *bolt.Tx) (*txState, error) {
	meta := tx.Bucket(bucketMeta)
	ks := r.keys()
	kg := binary.BigEndian.Uint32(meta.Get(metaKeyGen))
	ring := ks[kg]
	if ring == nil {
		return nil, fmt.Errorf("%w: key generation %d is not loaded (reopen the replica)", ErrWrongKey, kg)
	}
	g, err := openGeneration(tx, binary.BigEndian.Uint64(meta.Get(metaAlertGen)))
	if err != nil {
		return nil, err
	}
	r.indexTerms(g, ring)
	return &txState{ks: ks, ring: ring, gen: g}, nil
}

// update runs a write transaction that must be synced to disk.
func (r *Replica) update(fn func(*bolt.Tx) error) error {
	r.syncMu.RLock()
	defer r.syncMu.RUnlock()
	return r.db.Update(fn)
}

// bulkUpdate runs a write transaction without fsync: for a snapshot's
// chunks only, which a kill or power loss may lose without harm because
// the generation they fill is not active until a synced switch.
func (r *Replica) bulkUpdate(fn func(*bolt.Tx) error) error {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	r.db.NoSync = true
	defer func() { r.db.NoSync = false }()
	return r.db.Update(fn)
}

// Close closes the replica file and its journal.
func (r *Replica) Close() error {
	r.warming.end()
	r.endDropping()
	if r.warmHeld > 0 {
		r.warmBudget.give(r.warmHeld)
		r.warmHeld = 0
	}
	var jerr error
	if r.j != nil {
		jerr = errors.Join(r.closeWAL(), r.j.Close())
	}
	path := r.db.Path()
	err := errors.Join(r.db.Close(), jerr)
	if err == nil && r.markKey != nil {
		// Every commit is on disk: vouch for the file as it is, so that
		// the next start need not read all of it (closemark.go).
		if merr := writeCloseMark(r.markKey, path); merr != nil {
			r.log.Warn("close mark not written; the next start checks the whole replica file", "path", path, "err", merr)
		}
	}
	clear(r.markKey)
	r.markKey = nil
	return err
}

// Path returns the file the replica lives in.
func (r *Replica) Path() string { return r.db.Path() }

// Cursor is the position of the replica in central's stream of changes.
type Cursor struct {
	Epoch  uint64    `json:"epoch"`
	Seq    uint64    `json:"seq"`
	Hash   [32]byte  `json:"hash"`   // hash of the last applied change
	Digest Digest    `json:"digest"` // digest of the alert set
	At     time.Time `json:"at"`     // when the last change was applied
}

// Cursor returns the replica's current position.
func (r *Replica) Cursor() (Cursor, error) {
	var c Cursor
	err := r.db.View(func(tx *bolt.Tx) error {
		var err error
		c, err = readCursor(tx)
		return err
	})
	return c, err
}

func readCursor(tx *bolt.Tx) (Cursor, error) {
	var c Cursor
	b := tx.Bucket(bucketMeta).Get(metaCursor)
	if b == nil {
		return c, nil
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%w: cursor: %w", ErrCorrupt, err)
	}
	return c, nil
}

// Change is one delta from central, already verified by its signature: it
// moves the replica from (Epoch, Seq-1, PrevHash) to (Epoch, Seq, Hash) and
// must leave it with Digest.
type Change struct {
	Epoch    uint64
	Seq      uint64
	PrevHash [32]byte
	Hash     [32]byte
	Digest   Digest
	Upserts  []Alert
	Deletes  []string
}

// Apply applies a change and moves the cursor. It returns ErrReplay,
// ErrGap, ErrEpoch or ErrChain when the change does not follow the
// replica's cursor, and ErrDigest when the resulting alert set differs
// from central's; in these cases nothing is written except the audit
// record of the refusal. A change of more than a thousand operations is
// checked first and then written in chunks (pending.go), so that checks
// are not held up by it; until its last chunk the cursor does not move.
// If it stops between chunks (a kill, ctx cancelled, a failed write), only
// the same change, sent again, resumes it: any other is refused with
// ErrDigest until a snapshot replaces the set.
func (r *Replica) Apply(ctx context.Context, ch Change) error {
	r.deltaMu.Lock()
	defer r.deltaMu.Unlock()
	chunked, err := r.applyChunked(ctx, ch)
	if !chunked {
		err = r.applyOnce(ch)
	}
	if err != nil {
		r.auditRefusal(ch, err)
	}
	return err
}

// applyOnce applies a change in one transaction.
func (r *Replica) applyOnce(ch Change) error {
	return r.update(func(tx *bolt.Tx) error {
		cur, err := readCursor(tx)
		if err != nil {
			return err
		}
		if err := follows(cur, ch); err != nil {
			return err
		}
		if p, err := readPendingDelta(tx); err != nil {
			return err
		} else if p != nil {
			return refusePending(p, ch)
		}
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		rot, err := r.rotationState(tx, st)
		if err != nil {
			return err
		}
		d := cur.Digest
		now := r.now()
		for i := range ch.Upserts {
			a := &ch.Upserts[i]
			if err := a.Validate(); err != nil {
				return err
			}
			if err := st.gen.put(st.ks, st.ring, a, &d, now); err != nil {
				return err
			}
			if err := rot.mirror(a.ID); err != nil {
				return err
			}
		}
		for _, id := range ch.Deletes {
			if err := st.gen.remove(st.ks, st.ring.recordKey("alert", id), &d); err != nil {
				return err
			}
			if err := rot.mirror(id); err != nil {
				return err
			}
		}
		if d != ch.Digest {
			return fmt.Errorf("%w: change %d/%d announces %s, replica would hold %s; the agent will ask central for a snapshot", ErrDigest, ch.Epoch, ch.Seq, ch.Digest, d)
		}
		return r.finishChange(tx, ch, d)
	})
}

// finishChange moves the cursor past ch, whose alerts leave digest d, and
// audits it.
func (r *Replica) finishChange(tx *bolt.Tx, ch Change, d Digest) error {
	next := Cursor{Epoch: ch.Epoch, Seq: ch.Seq, Hash: ch.Hash, Digest: d, At: r.now().UTC()}
	b, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketMeta).Put(metaCursor, b); err != nil {
		return err
	}
	return r.appendAudit(tx, AuditRecord{Event: EventDeltaApplied, Ref: fmt.Sprintf("%d/%d", ch.Epoch, ch.Seq),
		Detail: fmt.Sprintf("%d upserts, %d deletes", len(ch.Upserts), len(ch.Deletes))})
}

// auditRefusal records a refused change in its own transaction, since the
// one that refused it was rolled back.
func (r *Replica) auditRefusal(ch Change, cause error) {
	if errors.Is(cause, bolt.ErrDatabaseNotOpen) {
		return
	}
	err := r.Audit(context.Background(), AuditRecord{Event: EventDeltaRefused, Ref: fmt.Sprintf("%d/%d", ch.Epoch, ch.Seq), Detail: cause.Error()})
	if err != nil {
		r.log.Error("audit refused change", "err", err)
	}
}

// follows checks that ch is the next change after cur.
func follows(cur Cursor, ch Change) error {
	fresh := cur.Epoch == 0 && cur.Seq == 0
	switch {
	case fresh && ch.Seq == 1 && ch.PrevHash == [32]byte{}:
		return nil
	case fresh:
		return fmt.Errorf("%w: empty replica cannot start at %d/%d", ErrGap, ch.Epoch, ch.Seq)
	case ch.Epoch != cur.Epoch:
		return fmt.Errorf("%w: replica at epoch %d, change at %d", ErrEpoch, cur.Epoch, ch.Epoch)
	case ch.Seq <= cur.Seq:
		return fmt.Errorf("%w: replica at %d, change %d", ErrReplay, cur.Seq, ch.Seq)
	case ch.Seq > cur.Seq+1:
		return fmt.Errorf("%w: replica at %d, change %d", ErrGap, cur.Seq, ch.Seq)
	case ch.PrevHash != cur.Hash:
		return fmt.Errorf("%w: change %d names a previous change the replica did not apply", ErrChain, ch.Seq)
	}
	return nil
}

// Alert returns the alert with the given ID, and false if none is held or
// it has expired.
func (r *Replica) Alert(id string) (Alert, bool, error) {
	var a Alert
	var found bool
	err := r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		a, found, err = st.gen.get(st.ks, st.ring.recordKey("alert", id))
		if found && a.Expired(r.now()) {
			a, found = Alert{}, false
		}
		return err
	})
	return a, found, err
}

// Alerts calls fn for every alert held and not expired, in no particular
// order, inside one read transaction. It stops at the first error fn
// returns.
func (r *Replica) Alerts(ctx context.Context, fn func(Alert) error) error {
	now := r.now()
	return r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		c := st.gen.alerts.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			a, err := decodeAlert(st.ks, k, v)
			if err != nil {
				return err
			}
			if a.Expired(now) {
				continue
			}
			if err := fn(a); err != nil {
				return err
			}
		}
		return nil
	})
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
