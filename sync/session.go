package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/borderpost/borderpost/store"
)

// EventMessageRefused is audited for each message from the broker refused
// for its size before it was read (LinkConfig.MaxMessage).
const EventMessageRefused store.AuditEvent = "message.refused"

// SessionConfig configures an agent's session with central.
type SessionConfig struct {
	Link     LinkConfig // broker, TLS, credentials; topics are filled in
	Agent    string
	Post     string         // the post's name, carried in the status for central's fleet view
	Replica  *store.Replica // the outbox, the audit log, and the whole watch list unless Scoped
	Verifier *Verifier
	// HitKey is central's hit public key, to which every hit message is
	// sealed. It is required: StartSession fails without it.
	HitKey *HitPublicKey
	// Applied runs after each delta of the whole watch list commits.
	Applied func(store.Change)
	// Reloaded runs after a snapshot replaced the whole watch list.
	Reloaded func()
	// Scoped says the agent follows scopes (Scopes, possibly none yet)
	// and not the whole watch list.
	Scoped bool
	// Scopes are the scopes followed from the start.
	Scopes []ScopeReplica
	// Assigned runs with every verified scope assignment from central
	// newer than the one in force, and returns nil once it is carried out
	// (and saved): it is then the one in force.
	Assigned func(Assignment) error
	// AssignmentSeq is the sequence of the assignment in force at start
	// (0 if none): an older one is refused and the same one ignored.
	AssignmentSeq uint64
	Window        int // hits unacknowledged at most
	Batch         int // hits per message at most
	ResendAfter   time.Duration
	// StatusEvery is how often the retained status is refreshed; default 10s.
	StatusEvery time.Duration
	// LatestEvery is how often the session subscribes again to its
	// latest-value topics (heads, the scope assignment: QoS 0, see
	// Link.SubscribeLatest), so that one lost on a connection that stays
	// up is delivered again within this long; default 5 minutes, jittered.
	LatestEvery time.Duration
	// NextDeltaWait is how long a head one delta ahead of the replica
	// waits for that delta before the agent asks central for it; default
	// 5 minutes (WatchlistConfig.NextDeltaWait).
	NextDeltaWait time.Duration
	// MaxReplicaAge is how long the replica may go without central
	// confirming it current before it is reported stale; default 24h.
	MaxReplicaAge time.Duration
	Logger        *slog.Logger
	// Gate, if set, is shared with the other sessions of this process:
	// see ApplyGate. Nil for an agent in the field.
	Gate *ApplyGate
}

// ScopeReplica is one scope the agent follows, with the replica that holds
// its alerts alone.
type ScopeReplica struct {
	Name     string
	Replica  *store.Replica
	Applied  func(store.Change) // after each of its deltas commits
	Reloaded func()             // after a snapshot replaced its alerts
	Alerts   func() int         // how many alerts it holds, for the status
}

// Session is the agent's side of the wire protocol: it keeps the replica in
// step with central, forwards hits, and publishes the agent's status.
type Session struct {
	cfg        SessionConfig
	link       *Link
	forwarder  *Forwarder
	log        *slog.Logger
	reconnects atomic.Int64
	downSince  atomic.Int64 // unix nanoseconds when the link was lost; 0 while up
	cancel     context.CancelFunc
	done       sync.WaitGroup

	mu     sync.Mutex
	whole  *Watchlist              // the whole watch list; nil when scoped
	scopes map[string]*scopeStream // by scope name
	// assignSeq is the sequence of the assignment in force. Only the
	// scopes topic's handler uses it, one message at a time.
	assignSeq uint64
}

type scopeStream struct {
	ScopeReplica
	watch *Watchlist
}

// StartSession dials the broker and starts forwarding. It returns at once;
// the session connects and reconnects in the background until Close.
func StartSession(ctx context.Context, cfg SessionConfig) (*Session, error) {
	if cfg.HitKey == nil {
		return nil, fmt.Errorf("%w: no hit key of central configured (sync.central_hit_key): hits would have nowhere to go sealed", ErrHitKey)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StatusEvery == 0 {
		cfg.StatusEvery = 10 * time.Second
	}
	if cfg.LatestEvery == 0 {
		cfg.LatestEvery = defaultLatestEvery
	}
	if cfg.MaxReplicaAge == 0 {
		cfg.MaxReplicaAge = 24 * time.Hour
	}
	s := &Session{cfg: cfg, log: cfg.Logger, scopes: make(map[string]*scopeStream), assignSeq: cfg.AssignmentSeq}
	lc := cfg.Link
	lc.ClientID = cfg.Agent
	lc.Logger = cfg.Logger
	lc.WillTopic = AgentTopic(cfg.Agent, "status")
	lc.WillPayload, _ = json.Marshal(Status{Agent: cfg.Agent, Post: cfg.Post, Link: "offline"})
	s.downSince.Store(time.Now().UnixNano()) // down until the first connect
	lc.OnLost = func(error) { s.downSince.CompareAndSwap(0, time.Now().UnixNano()) }
	lc.OnConnect = func() {
		s.downSince.Store(0)
		s.reconnects.Add(1)
		s.forwarder.Reset()
		s.publishStatus("online")
		s.tickStreams()
	}
	lc.OnOversized = func(topic string, size int) {
		// On the connection's reading goroutine: the audit write waits for
		// the disk, the connection must not.
		go func() {
			// It may have been a delta: no watch list waits for it.
			for _, w := range s.streams() {
				w.DeltaLost()
			}
			rec := store.AuditRecord{Event: EventMessageRefused, Ref: topic,
				Detail: fmt.Sprintf("oversized message refused: %d bytes on topic %s", size, topic)}
			if err := cfg.Replica.Audit(context.Background(), rec); err != nil {
				cfg.Logger.Error("audit an oversized message", "topic", topic, "err", err)
			}
		}()
	}
	lc.Subscriptions = nil
	link, err := NewLink(lc)
	if err != nil {
		return nil, err
	}
	s.link = link
	s.forwarder = NewForwarder(ForwarderConfig{Replica: cfg.Replica, Publisher: link, Agent: cfg.Agent, HitKey: cfg.HitKey, Verifier: cfg.Verifier,
		Window: cfg.Window, Batch: cfg.Batch, ResendAfter: cfg.ResendAfter, Logger: cfg.Logger})
	link.Subscribe(AgentTopic(cfg.Agent, "acks"), s.forwarder.HandleAck)
	ctx, s.cancel = context.WithCancel(ctx)
	// The assignment is retained and only the one in force counts: QoS 0
	// (see Link.SubscribeLatest); a lost one comes again at the next
	// subscribe.
	link.SubscribeLatest(AgentTopic(cfg.Agent, "scopes"), func(topic string, payload []byte) { s.handleAssignment(ctx, topic, payload) })
	if !cfg.Scoped {
		s.FollowWholeList(true)
	}
	for _, sr := range cfg.Scopes {
		s.AddScope(sr)
	}
	link.Connect()
	s.done.Add(3)
	go func() { defer s.done.Done(); s.forwarder.Run(ctx) }()
	go func() { defer s.done.Done(); s.tick(ctx) }()
	go func() { defer s.done.Done(); s.refreshLatest(ctx) }()
	return s, nil
}

// FollowWholeList starts or stops following the whole watch list into
// the main replica. An agent stops when central assigns it scopes; once
// FollowWholeList(false) returns, nothing more is applied to the list.
func (s *Session) FollowWholeList(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The head last: it may trigger a resync at once, whose answer must
	// find the replay and snapshot topics subscribed.
	topics := []string{TopicDelta, AgentTopic(s.cfg.Agent, "deltas"), AgentTopic(s.cfg.Agent, "snapshot"), TopicHead}
	if !on {
		if s.whole != nil {
			for _, t := range topics {
				s.link.Unsubscribe(t)
			}
			s.whole.Stop()
			s.whole = nil
		}
		return
	}
	if s.whole != nil {
		return
	}
	w := NewWatchlist(WatchlistConfig{Replica: s.cfg.Replica, Verifier: s.cfg.Verifier, Logger: s.cfg.Logger,
		Stream: StreamWhole, Agent: s.cfg.Agent, Gate: s.cfg.Gate, NextDeltaWait: s.cfg.NextDeltaWait,
		Applied: func(ch store.Change) {
			if s.cfg.Applied != nil {
				s.cfg.Applied(ch)
			}
			go s.publishReplica()
		},
		Resync: func(cur store.Cursor) { s.requestResync("", cur) },
		Reloaded: func() {
			if s.cfg.Reloaded != nil {
				s.cfg.Reloaded()
			}
			go s.publishReplica()
		}})
	s.whole = w
	for i, h := range []Handler{w.HandleDelta, w.HandleDelta, w.HandleSnapshot} {
		s.link.Subscribe(topics[i], h)
	}
	// The head is the latest value of a retained topic: QoS 0 (see
	// Link.SubscribeLatest). A lost head is repaired by the next
	// subscribe, and deltas do not depend on it: they come at QoS 1.
	s.link.SubscribeLatest(TopicHead, w.HandleHead)
}

// AddScope starts following one scope's stream into its replica. The
// retained head tells at once whether it must catch up.
func (s *Session) AddScope(sr ScopeReplica) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.scopes[sr.Name]; ok {
		return
	}
	log := s.cfg.Logger.With("scope", sr.Name)
	st := &scopeStream{ScopeReplica: sr}
	st.watch = NewWatchlist(WatchlistConfig{Replica: sr.Replica, Verifier: s.cfg.Verifier, Logger: log,
		Stream: ScopeStream(sr.Name), Agent: s.cfg.Agent, Gate: s.cfg.Gate, NextDeltaWait: s.cfg.NextDeltaWait,
		Applied: func(ch store.Change) {
			if sr.Applied != nil {
				sr.Applied(ch)
			}
		},
		Resync: func(cur store.Cursor) { s.requestResync(sr.Name, cur) },
		Reloaded: func() {
			if sr.Reloaded != nil {
				sr.Reloaded()
			}
		}})
	s.scopes[sr.Name] = st
	head := ScopeTopic(sr.Name, "head")
	for topic, h := range st.topics(s.cfg.Agent) {
		if topic != head {
			s.link.Subscribe(topic, h)
		}
	}
	// The head last, at QoS 0: see FollowWholeList.
	s.link.SubscribeLatest(head, st.watch.HandleHead)
}

func (st *scopeStream) topics(agent string) map[string]Handler {
	return map[string]Handler{
		ScopeTopic(st.Name, "delta"):                st.watch.HandleDelta,
		ScopeTopic(st.Name, "head"):                 st.watch.HandleHead,
		AgentScopeTopic(agent, st.Name, "deltas"):   st.watch.HandleDelta,
		AgentScopeTopic(agent, st.Name, "snapshot"): st.watch.HandleSnapshot,
	}
}

// DropScope stops following a scope; when it returns nothing more is
// applied to the scope's replica, which the caller closes and removes.
func (s *Session) DropScope(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.scopes[name]
	if !ok {
		return
	}
	delete(s.scopes, name)
	for topic := range st.topics(s.cfg.Agent) {
		s.link.Unsubscribe(topic)
	}
	st.watch.Stop()
}

// handleAssignment takes a scope assignment: signed, addressed to this
// agent, and newer than the one in force. The one in force delivered
// again is ignored; anything else is refused and audited. ctx is the
// session's, for the audit of a refusal.
func (s *Session) handleAssignment(ctx context.Context, topic string, payload []byte) {
	if len(payload) == 0 {
		return // a cleared retained message
	}
	if err := s.takeAssignment(ctx, topic, payload); err != nil {
		s.log.Warn("scope assignment refused", "topic", topic, "err", err)
	}
}

func (s *Session) takeAssignment(ctx context.Context, topic string, payload []byte) error {
	audit := func(ref string, err error) error {
		return refuse(ctx, s.cfg.Replica, s.log, store.EventScopesRefused, topic, ref, err)
	}
	if len(payload) > MaxMessage {
		return audit("", fmt.Errorf("%w: %d bytes, limit %d", ErrMessage, len(payload), MaxMessage))
	}
	var as Assignment
	if _, err := s.cfg.Verifier.Open(payload, Binding{Kind: KindAssignment, To: s.cfg.Agent}, &as); err != nil {
		return audit("", err)
	}
	ref := fmt.Sprintf("seq %d", as.Seq)
	if err := as.Check(s.cfg.Agent); err != nil {
		return audit(ref, err)
	}
	switch {
	case as.Seq == s.assignSeq:
		return nil // the one in force, delivered again
	case as.Seq < s.assignSeq:
		return audit(ref, fmt.Errorf("%w: assignment %d, the one in force is %d", ErrStale, as.Seq, s.assignSeq))
	}
	if s.cfg.Assigned != nil {
		if err := s.cfg.Assigned(as); err != nil {
			return fmt.Errorf("assignment %d not carried out; taken again when central sends it at the next connect: %w", as.Seq, err)
		}
	}
	s.assignSeq = as.Seq
	return nil
}

// streams returns the watch lists followed now.
func (s *Session) streams() []*Watchlist {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ws []*Watchlist
	if s.whole != nil {
		ws = append(ws, s.whole)
	}
	for _, st := range s.scopes {
		ws = append(ws, st.watch)
	}
	return ws
}

func (s *Session) tickStreams() {
	for _, w := range s.streams() {
		w.Tick()
	}
}

// defaultLatestEvery is SessionConfig.LatestEvery's default: a head lost
// on a connection that stayed up costs at most this long, and a thousand
// agents subscribe again about three times a second.
const defaultLatestEvery = 5 * time.Minute

// refreshLatest subscribes again to the latest-value topics every
// LatestEvery, less up to a quarter at random so that agents started
// together do not ask together.
func (s *Session) refreshLatest(ctx context.Context) {
	every := s.cfg.LatestEvery
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every - rand.N(every/4+1)):
			s.link.RefreshLatest()
		}
	}
}

func (s *Session) tick(ctx context.Context) {
	t := time.NewTicker(s.cfg.StatusEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.tickStreams()
			s.publishStatus("online")
		}
	}
}

// Notify tells the session that new hits are in the outbox.
func (s *Session) Notify() { s.forwarder.Notify() }

// Connected reports whether the broker link is up.
func (s *Session) Connected() bool { return s.link.Connected() }

// DownSince returns when the link to the broker was lost, or the zero
// time while it is up.
func (s *Session) DownSince() time.Time {
	if ns := s.downSince.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Connects returns how many times the session has connected.
func (s *Session) Connects() int64 { return s.reconnects.Load() }

// Head returns central's last verified head of the whole watch list (the
// zero Head when the agent follows scopes).
func (s *Session) Head() Head {
	s.mu.Lock()
	w := s.whole
	s.mu.Unlock()
	if w == nil {
		return Head{}
	}
	return w.Head()
}

// Freshness reports how current the replica is known to be: the least
// fresh of the streams followed.
func (s *Session) Freshness() Freshness {
	ws := s.streams()
	if len(ws) == 0 {
		return Freshness{Stale: true, Reason: "central has assigned this post no scope yet"}
	}
	var worst Freshness
	for i, w := range ws {
		f := w.Freshness(time.Now(), s.cfg.MaxReplicaAge)
		if i == 0 || f.Stale && !worst.Stale || f.Stale == worst.Stale && f.Confirmed.Before(worst.Confirmed) {
			worst = f
		}
	}
	return worst
}

// Status returns the agent's status as it would be published now.
func (s *Session) Status(link string) Status {
	st := Status{Agent: s.cfg.Agent, Post: s.cfg.Post, Link: link, Time: time.Now().UTC(), Freshness: s.Freshness()}
	if cur, err := s.cfg.Replica.Cursor(); err == nil {
		st.Epoch, st.Seq, st.Digest, st.ReplicaAt = cur.Epoch, cur.Seq, cur.Digest.String(), cur.At
	}
	s.mu.Lock()
	for _, sc := range s.scopes {
		ss := ScopeStatus{Scope: sc.Name}
		if cur, err := sc.Replica.Cursor(); err == nil {
			ss.Epoch, ss.Seq, ss.Digest = cur.Epoch, cur.Seq, cur.Digest.String()
		}
		if sc.Alerts != nil {
			ss.Alerts = sc.Alerts()
		}
		st.Scopes = append(st.Scopes, ss)
	}
	s.mu.Unlock()
	slices.SortFunc(st.Scopes, func(a, b ScopeStatus) int { return strings.Compare(a.Scope, b.Scope) })
	if ob, err := s.cfg.Replica.Outbox(); err == nil {
		st.OutboxDepth, st.OutboxOldest = ob.Depth, ob.Oldest
	}
	return st
}

// PublishStatus publishes the agent's status now, as after a change
// central must see at once.
func (s *Session) PublishStatus() { s.publishStatus("online") }

func (s *Session) publishStatus(link string) {
	b, _ := json.Marshal(s.Status(link))
	if err := s.link.Publish(AgentTopic(s.cfg.Agent, "status"), true, b); err != nil {
		s.log.Debug("status not published", "err", err)
	}
}

func (s *Session) publishReplica() {
	st := s.Status("online")
	b, _ := json.Marshal(Resync{Agent: st.Agent, Epoch: st.Epoch, Seq: st.Seq})
	_ = s.link.Publish(AgentTopic(s.cfg.Agent, "replica"), false, b)
}

func (s *Session) requestResync(scope string, cur store.Cursor) {
	b, _ := json.Marshal(Resync{Agent: s.cfg.Agent, Scope: scope, Epoch: cur.Epoch, Seq: cur.Seq})
	if err := s.link.Publish(AgentTopic(s.cfg.Agent, "resync"), false, b); err != nil {
		s.log.Info("resync request not sent; will retry", "err", err)
		return
	}
	s.log.Info("resync requested", "scope", scope, "epoch", cur.Epoch, "seq", cur.Seq)
}

// Close publishes an offline status, stops forwarding and disconnects.
// Hits not yet acknowledged stay in the outbox for the next start.
func (s *Session) Close() {
	s.cancel()
	s.done.Wait()
	s.publishStatus("offline")
	s.link.Close()
}
