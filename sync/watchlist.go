package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/borderpost/borderpost/store"
)

// Watchlist verifies and applies central's signed deltas to the replica.
// Deltas that arrive ahead of their turn wait in memory a short while for
// the missing ones; a gap that does not close triggers a resync request.
type Watchlist struct {
	rep      *store.Replica
	verify   *Verifier
	stream   string // the stream's name in signed bodies
	agent    string // this agent, to whom snapshot manifests are addressed
	log      *slog.Logger
	applied  func(store.Change) // called after each committed delta
	resync   func(store.Cursor) // asks central for what is missing
	gapGrace time.Duration
	// nextDeltaWait is how long a head one delta ahead of the replica
	// waits for that delta; see WatchlistConfig.NextDeltaWait.
	nextDeltaWait time.Duration
	gate          *ApplyGate // nil: none
	// inflight counts the delta messages being handled (waiting at the
	// gate, being verified or applied): while one is, a replica behind
	// the head is most likely catching up already.
	inflight atomic.Int32

	mu       sync.Mutex
	ahead    map[uint64]pendingDelta // deltas beyond the next one, by seq
	gapSince time.Time
	head     Head
	headHash [32]byte  // of the head in force, to know it redelivered
	headAt   time.Time // when the first head of the sequence in force was taken
	// headWait is how long the head in force, if one delta ahead, waits
	// for that delta: nextDeltaWait for a head that followed another
	// while the agent ran, gapGrace for the first since it started (what
	// its session held came at the connect, before it).
	headWait time.Duration
	// lostAt is when a delta message was last refused or failed to apply
	// (or was refused for its size before it was read): after that, a
	// head one delta ahead waits no longer, since the delta it waits for
	// may be the one lost.
	lostAt     time.Time
	lastResync time.Time
	// resyncWait is how long after lastResync the next request may go:
	// it doubles, with jitter, while requests bring no progress, up to
	// resyncMax, and falls back to resyncEvery once the cursor moves.
	resyncWait time.Duration
	// catchUp tracks whether the replica keeps up with central's head:
	// the cursor last seen, and since when it has been behind without
	// moving; applyErr is the last failure to apply a delta, the likely
	// cause.
	catchUp      store.Cursor
	behindSince  time.Time
	applyErr     error
	catchUpGrace time.Duration
	// current is when central last confirmed the replica up to date: a
	// verified head naming the replica's own epoch and sequence, or a
	// delta applied.
	current time.Time
	// snap is the snapshot being received, if any.
	snap     *loading
	reloaded func()
	stopped  bool // Stop was called: nothing more is applied
}

// errStopped is returned for messages that reach a stopped Watchlist.
var errStopped = errors.New("the post no longer follows this watch list; message ignored")

// Stop makes the Watchlist apply nothing more: it waits for a delta or
// chunk being applied, abandons a snapshot in progress, and ignores what
// arrives later. The agent stops a stream before it removes or empties
// its replica, so that nothing lands there afterwards.
func (w *Watchlist) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.abandonSnapshot("the post stopped following this watch list")
	w.stopped = true
}

type pendingDelta struct {
	ch   store.Change
	body []byte
}

// WatchlistConfig configures a Watchlist.
type WatchlistConfig struct {
	Replica  *store.Replica
	Verifier *Verifier
	// Stream is the stream's name in signed bodies: StreamWhole or
	// ScopeStream(name); default StreamWhole. A delta, head or snapshot
	// naming another stream is refused.
	Stream string
	// Agent is this agent's ID: a snapshot manifest must be addressed to it.
	Agent  string
	Logger *slog.Logger
	// Applied runs after each delta commits, with the change applied, so
	// the in-memory match index can follow.
	Applied func(store.Change)
	// Resync asks central to replay from the given cursor.
	Resync func(store.Cursor)
	// Reloaded runs after a snapshot replaced the whole alert set, so the
	// in-memory match index can be rebuilt from the replica.
	Reloaded func()
	// GapGrace is how long an out-of-order delta may wait for the missing
	// ones before a resync is requested; default 2s.
	GapGrace time.Duration
	// CatchUpGrace is how long the replica may stay behind central's head
	// without moving before it is reported stale; default 30s.
	CatchUpGrace time.Duration
	// NextDeltaWait is how long a head exactly one delta ahead of the
	// replica waits for that delta before a replay is asked; default 5
	// minutes. Central publishes a delta just before its head, but the
	// head comes at QoS 0 (Link.SubscribeLatest) and the delta at QoS 1
	// through the session's queue: a broker fanning a large delta out to
	// many agents hands each the small head first, by minutes on a NATS
	// cluster with a thousand agents, and every replay asked meanwhile
	// adds a copy of the delta to the fan-out (1,000 agents with 30 s:
	// 1,773 replays, 2.6 GB). The persistent session holds the delta, so
	// only a broker that lost the session loses it; that costs this long
	// for the last delta (the replica says it is stale after CatchUpGrace
	// all the same), and a larger gap is asked for at once. The first head
	// since the agent started waits GapGrace only: what its session held
	// came at the connect.
	NextDeltaWait time.Duration
	// Gate, if set, is shared with the other watch lists of this
	// process: see ApplyGate. Nil for an agent in the field.
	Gate *ApplyGate
}

// NewWatchlist returns a Watchlist applying to cfg.Replica.
func NewWatchlist(cfg WatchlistConfig) *Watchlist {
	if cfg.GapGrace == 0 {
		cfg.GapGrace = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CatchUpGrace == 0 {
		cfg.CatchUpGrace = 30 * time.Second
	}
	if cfg.NextDeltaWait == 0 {
		cfg.NextDeltaWait = 5 * time.Minute
	}
	if cfg.Stream == "" {
		cfg.Stream = StreamWhole
	}
	return &Watchlist{rep: cfg.Replica, verify: cfg.Verifier, stream: cfg.Stream, agent: cfg.Agent, log: cfg.Logger, applied: cfg.Applied,
		resync: cfg.Resync, reloaded: cfg.Reloaded, gapGrace: cfg.GapGrace, ahead: make(map[uint64]pendingDelta),
		catchUpGrace: cfg.CatchUpGrace, resyncWait: resyncEvery, gate: cfg.Gate, nextDeltaWait: cfg.NextDeltaWait}
}

// HandleDelta is the Handler for delta topics. It returns only once the
// delta is committed, refused, or parked to wait for its predecessors.
func (w *Watchlist) HandleDelta(topic string, payload []byte) {
	w.inflight.Add(1)
	defer w.inflight.Add(-1)
	w.gate.enter()
	defer w.gate.leave()
	ctx := context.Background()
	if err := w.handleDelta(ctx, topic, payload); err != nil {
		w.log.Warn("delta not applied", "topic", topic, "err", err)
		w.DeltaLost()
	}
}

// DeltaLost tells the watch list that a delta message of its stream may
// have been lost (refused, failed to apply, or refused for its size
// before it was read): a head one delta ahead asks for a replay at once
// instead of waiting NextDeltaWait for it.
func (w *Watchlist) DeltaLost() {
	w.mu.Lock()
	w.lostAt = time.Now()
	w.mu.Unlock()
}

func (w *Watchlist) handleDelta(ctx context.Context, topic string, payload []byte) error {
	if len(payload) > MaxMessage {
		return w.refuse(ctx, store.EventDeltaRefused, topic, "", fmt.Errorf("%w: %d bytes, limit %d", ErrMessage, len(payload), MaxMessage))
	}
	var d Delta
	hash, err := w.verify.Open(payload, Binding{Kind: KindDelta, Stream: w.stream}, &d)
	if err != nil {
		return w.refuse(ctx, store.EventDeltaRefused, topic, "", err)
	}
	ch, err := d.Change(hash)
	if err != nil {
		return w.refuse(ctx, store.EventDeltaRefused, topic, fmt.Sprintf("%d/%d", d.Epoch, d.Seq), err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return errStopped
	}
	return w.apply(ctx, ch)
}

// apply applies ch and then any parked deltas that now follow. w.mu held.
func (w *Watchlist) apply(ctx context.Context, ch store.Change) error {
	err := w.rep.Apply(ctx, ch)
	switch {
	case err == nil:
		w.log.Info("delta applied", "epoch", ch.Epoch, "seq", ch.Seq, "upserts", len(ch.Upserts), "deletes", len(ch.Deletes))
		if w.applied != nil {
			w.applied(ch)
		}
		w.gapSince = time.Time{}
		w.current = time.Now()
		delete(w.ahead, ch.Seq)
		if next, ok := w.ahead[ch.Seq+1]; ok && next.ch.Epoch == ch.Epoch {
			return w.apply(ctx, next.ch)
		}
		return nil
	case errors.Is(err, store.ErrReplay):
		// The store audited it, once: a replay is a refusal like any other.
		return fmt.Errorf("duplicate or replayed delta ignored: %w", err)
	case errors.Is(err, store.ErrGap):
		if len(w.ahead) < 1024 {
			w.ahead[ch.Seq] = pendingDelta{ch: ch}
		}
		if w.gapSince.IsZero() {
			w.gapSince = time.Now()
		}
		return fmt.Errorf("delta parked until its predecessors arrive: %w", err)
	default:
		// Epoch, chain or digest mismatch, or a write that failed (disk
		// full): only a resync can repair it.
		w.requestResync()
		w.applyErr = err // after: a first look at the cursor clears it
		return err
	}
}

// refuse records a message that is not applied because it was refused:
// one audit record, by reference (the topic, and the epoch/seq when
// known), with the reason.
func (w *Watchlist) refuse(ctx context.Context, event store.AuditEvent, topic, ref string, cause error) error {
	return refuse(ctx, w.rep, w.log, event, topic, ref, cause)
}

// refuse audits a refused message in rep's audit log. Topics name agents
// and scopes, never personal data.
func refuse(ctx context.Context, rep *store.Replica, log *slog.Logger, event store.AuditEvent, topic, ref string, cause error) error {
	if ref == "" {
		ref = topic
	} else {
		ref = topic + " " + ref
	}
	if err := rep.Audit(ctx, store.AuditRecord{Event: event, Ref: ref, Detail: cause.Error()}); err != nil {
		log.Error("audit refused message", "event", event, "err", err)
	}
	return cause
}

// HandleHead is the Handler for the retained head topic: an agent that is
// behind asks for a resync at once, unless it is behind by just the one
// delta that the head follows: that delta is on its way on another topic
// (it may not have reached its handler yet), so the agent asks only if it
// is still behind NextDeltaWait later. The head in force delivered again
// (retained, at every connect) is ignored; a head older than it or than
// the replica is refused and audited.
func (w *Watchlist) HandleHead(topic string, payload []byte) {
	if err := w.handleHead(context.Background(), topic, payload); err != nil {
		w.log.Warn("watch-list head refused", "topic", topic, "err", err)
		return
	}
	if wait, due := w.nextDeltaDue(); due {
		time.AfterFunc(wait, w.Tick)
		return
	}
	w.Tick()
}

// nextDeltaDue reports whether the head in force is exactly one delta
// ahead of the replica, in the replica's epoch, and how long it waits
// for that delta.
func (w *Watchlist) nextDeltaDue() (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cur, err := w.rep.Cursor()
	return w.headWait, err == nil && w.oneAhead(cur)
}

// oneAhead reports whether the head in force is exactly one delta ahead
// of cur, in its epoch. w.mu held.
func (w *Watchlist) oneAhead(cur store.Cursor) bool {
	return cur.Seq > 0 && w.head.Epoch == cur.Epoch && w.head.Seq == cur.Seq+1
}

func (w *Watchlist) handleHead(ctx context.Context, topic string, payload []byte) error {
	if len(payload) > MaxMessage {
		return w.refuse(ctx, store.EventHeadRefused, topic, "", fmt.Errorf("%w: %d bytes, limit %d", ErrMessage, len(payload), MaxMessage))
	}
	var h Head
	hash, err := w.verify.Open(payload, Binding{Kind: KindHead, Stream: w.stream}, &h)
	if err != nil {
		return w.refuse(ctx, store.EventHeadRefused, topic, "", err)
	}
	ref := fmt.Sprintf("%d/%d", h.Epoch, h.Seq)
	w.mu.Lock()
	defer w.mu.Unlock()
	if hash == w.headHash {
		return nil
	}
	cur, err := w.rep.Cursor()
	if err != nil {
		return fmt.Errorf("read replica cursor: %w", err)
	}
	switch {
	case !w.head.Issued.IsZero() && !h.Issued.After(w.head.Issued):
		return w.refuse(ctx, store.EventHeadRefused, topic, ref, fmt.Errorf("%w: head issued %s, the one in force %s",
			ErrStale, h.Issued.UTC().Format(time.RFC3339Nano), w.head.Issued.UTC().Format(time.RFC3339Nano)))
	case w.head.Issued.IsZero() && (h.Epoch < cur.Epoch || h.Epoch == cur.Epoch && h.Seq < cur.Seq):
		// A first head since start that is behind the replica tells
		// nothing: queued while the agent was away and overtaken by the
		// deltas, or replayed. It is superseded, not refused: the next
		// head is taken. (Later, a head newer than the one in force that
		// trails a delta is taken: it carries a later expiry.)
		w.log.Debug("head behind the replica ignored", "topic", topic, "head", ref)
		return nil
	}
	// The wait for a head's delta runs from the first head of that
	// sequence: central's periodic refresh re-issues the head in force
	// (a new expiry), and restarting the wait at each re-issue would put
	// the replay of a lost delta off again and again.
	if w.head.Issued.IsZero() || h.Epoch != w.head.Epoch || h.Seq != w.head.Seq {
		w.headWait = w.nextDeltaWait
		if w.head.Issued.IsZero() {
			w.headWait = w.gapGrace
		}
		w.headAt = time.Now()
	}
	w.head, w.headHash = h, hash
	if cur.Epoch == h.Epoch && cur.Seq == h.Seq {
		w.current = time.Now()
	}
	return nil
}

// Freshness says how current the replica is known to be.
type Freshness struct {
	// Confirmed is when central last confirmed the replica up to date
	// (zero if never since start).
	Confirmed time.Time `json:"confirmed,omitzero"`
	// HeadExpires is when the last head from central stops being valid.
	HeadExpires time.Time `json:"head_expires,omitzero"`
	// Stale is set when officers must be told that the replica may miss
	// recent alerts; Reason says why in plain words.
	Stale  bool   `json:"stale"`
	Reason string `json:"reason,omitempty"`
}

// Freshness reports the replica's freshness at now, given the longest time
// a replica may go without central confirming it (maxAge).
func (w *Watchlist) Freshness(now time.Time, maxAge time.Duration) Freshness {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := Freshness{Confirmed: w.current, HeadExpires: w.head.Expires}
	confirmed := w.current
	if confirmed.IsZero() {
		// Since start nothing was confirmed: judge by the last delta applied.
		if cur, err := w.rep.Cursor(); err == nil {
			confirmed = cur.At
		}
	}
	cur, curErr := w.rep.Cursor()
	behind := curErr == nil && w.noteProgress(cur, now)
	switch {
	case confirmed.IsZero():
		f.Stale, f.Reason = true, "the replica holds no watch list from central yet"
	case !w.head.Expires.IsZero() && now.After(w.head.Expires):
		f.Stale, f.Reason = true, "central's watch-list head expired at "+w.head.Expires.UTC().Format(time.RFC3339)+"; central may be unreachable"
	case behind && now.Sub(w.behindSince) > w.catchUpGrace:
		f.Stale, f.Reason = true, fmt.Sprintf("the replica is behind central (delta %d of %d) and has not caught up for %s", cur.Seq, w.head.Seq,
			now.Sub(w.behindSince).Round(time.Second))
		if w.applyErr != nil {
			f.Reason += ": " + w.applyErr.Error()
		}
	case now.Sub(confirmed) > maxAge:
		f.Stale, f.Reason = true, "central has not confirmed the replica as current since "+confirmed.UTC().Format(time.RFC3339)
	}
	return f
}

// noteProgress compares cur with the cursor last seen and reports whether
// the replica is behind central's head. A moving cursor, or a snapshot
// whose chunks keep arriving, is progress: it restarts the catch-up clock
// and the resync backoff. w.mu held.
func (w *Watchlist) noteProgress(cur store.Cursor, now time.Time) bool {
	behind := w.head.Seq > cur.Seq || (w.head.Epoch != 0 && w.head.Epoch != cur.Epoch)
	moved := cur.Epoch != w.catchUp.Epoch || cur.Seq != w.catchUp.Seq
	if moved {
		w.catchUp = cur
		w.applyErr = nil
		w.resyncWait = resyncEvery
	}
	switch {
	case !behind:
		w.behindSince = time.Time{}
	case w.behindSince.IsZero() || moved:
		w.behindSince = now
	case w.snap != nil && w.snap.progress.After(w.behindSince):
		w.behindSince = w.snap.progress
	}
	return behind
}

// Head returns the last verified head received from central.
func (w *Watchlist) Head() Head {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.head
}

// Tick asks for a resync if the replica is behind the head or a gap has
// stayed open longer than the grace period. Call it periodically and after
// each connect.
func (w *Watchlist) Tick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if w.snap != nil {
		if time.Since(w.snap.progress) < snapshotStall {
			return // a snapshot is on its way
		}
		w.abandonSnapshot("no chunk for " + snapshotStall.String())
		w.lastResync = time.Time{}
	}
	cur, err := w.rep.Cursor()
	if err != nil {
		w.log.Error("read replica cursor", "err", err)
		return
	}
	behind := w.noteProgress(cur, time.Now())
	gap := !w.gapSince.IsZero() && time.Since(w.gapSince) > w.gapGrace
	// A head is published right after its delta and is quicker to
	// handle: behind while a delta is being handled is that delta on its
	// way, and a replay of it would only double the transfer. If the
	// replica is still behind once it is handled, the next tick asks.
	// Behind by the head's own delta alone, the delta may not have
	// reached the agent yet: it gets NextDeltaWait to do so.
	waiting := w.oneAhead(cur) && time.Since(w.headAt) < w.headWait && !w.lostAt.After(w.headAt)
	if gap || behind && !waiting && w.inflight.Load() == 0 {
		w.requestResyncAt(cur)
	}
}

func (w *Watchlist) requestResync() {
	cur, err := w.rep.Cursor()
	if err != nil {
		w.log.Error("read replica cursor", "err", err)
		return
	}
	w.requestResyncAt(cur)
}

// resyncEvery spaces resync requests, so that a replay in progress is not
// asked for again before it can arrive; resyncMax caps the backoff of
// requests that bring no progress (a full disk, a central that does not
// answer), so that a stuck post does not have central resend the same
// deltas over and over.
const (
	resyncEvery = 5 * time.Second
	resyncMax   = 5 * time.Minute
)

func (w *Watchlist) requestResyncAt(cur store.Cursor) {
	if w.snap != nil || time.Since(w.lastResync) < w.resyncWait {
		return
	}
	w.noteProgress(cur, time.Now())
	w.lastResync = time.Now()
	w.gapSince = time.Time{}
	clear(w.ahead)
	// Until the cursor moves, each request waits about twice as long as
	// the one before; jitter keeps posts that failed together from asking
	// together.
	next := min(2*w.resyncWait, resyncMax)
	w.resyncWait = next - rand.N(next/4+1)
	if w.resync != nil {
		w.resync(cur)
	}
}
