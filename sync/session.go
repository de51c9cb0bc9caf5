package sync

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/borderpost/borderpost/store"
)

// SessionConfig configures an agent's session with central.
type SessionConfig struct {
	Link     LinkConfig // broker, TLS, credentials; topics are filled in
	Agent    string
	Replica  *store.Replica
	Verifier *Verifier
	// Applied runs after each delta commits.
	Applied func(store.Change)
	// Reloaded runs after a snapshot replaced the whole alert set.
	Reloaded    func()
	Window      int // hits unacknowledged at most
	Batch       int // hits per message at most
	ResendAfter time.Duration
	// StatusEvery is how often the retained status is refreshed; default 10s.
	StatusEvery time.Duration
	// MaxReplicaAge is how long the replica may go without central
	// confirming it current before it is reported stale; default 24h.
	MaxReplicaAge time.Duration
	Logger        *slog.Logger
}

// Session is the agent's side of the wire protocol: it keeps the replica in
// step with central, forwards hits, and publishes the agent's status.
type Session struct {
	cfg        SessionConfig
	link       *Link
	watchlist  *Watchlist
	forwarder  *Forwarder
	log        *slog.Logger
	reconnects atomic.Int64
	downSince  atomic.Int64 // unix nanoseconds when the link was lost; 0 while up
	cancel     context.CancelFunc
	done       sync.WaitGroup
}

// StartSession dials the broker and starts forwarding. It returns at once;
// the session connects and reconnects in the background until Close.
func StartSession(ctx context.Context, cfg SessionConfig) (*Session, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StatusEvery == 0 {
		cfg.StatusEvery = 10 * time.Second
	}
	if cfg.MaxReplicaAge == 0 {
		cfg.MaxReplicaAge = 24 * time.Hour
	}
	s := &Session{cfg: cfg, log: cfg.Logger}
	s.watchlist = NewWatchlist(WatchlistConfig{Replica: cfg.Replica, Verifier: cfg.Verifier, Logger: cfg.Logger,
		Applied: func(ch store.Change) {
			if cfg.Applied != nil {
				cfg.Applied(ch)
			}
			go s.publishReplica()
		},
		Resync: s.requestResync, Reloaded: func() {
			if cfg.Reloaded != nil {
				cfg.Reloaded()
			}
			go s.publishReplica()
		}})
	lc := cfg.Link
	lc.ClientID = cfg.Agent
	lc.Logger = cfg.Logger
	lc.WillTopic = AgentTopic(cfg.Agent, "status")
	lc.WillPayload, _ = json.Marshal(Status{Agent: cfg.Agent, Link: "offline"})
	s.downSince.Store(time.Now().UnixNano()) // down until the first connect
	lc.OnLost = func(error) { s.downSince.CompareAndSwap(0, time.Now().UnixNano()) }
	lc.OnConnect = func() {
		s.downSince.Store(0)
		s.reconnects.Add(1)
		s.forwarder.Reset()
		s.publishStatus("online")
		s.watchlist.Tick()
	}
	link, err := NewLink(lc)
	if err != nil {
		return nil, err
	}
	s.link = link
	s.forwarder = NewForwarder(ForwarderConfig{Replica: cfg.Replica, Publisher: link, Agent: cfg.Agent,
		Window: cfg.Window, Batch: cfg.Batch, ResendAfter: cfg.ResendAfter, Logger: cfg.Logger})
	link.subs = map[string]Handler{
		TopicDelta:                        s.watchlist.HandleDelta,
		AgentTopic(cfg.Agent, "deltas"):   s.watchlist.HandleDelta,
		TopicHead:                         s.watchlist.HandleHead,
		AgentTopic(cfg.Agent, "acks"):     s.forwarder.HandleAck,
		AgentTopic(cfg.Agent, "snapshot"): s.watchlist.HandleSnapshot,
	}
	link.Connect()
	ctx, s.cancel = context.WithCancel(ctx)
	s.done.Add(2)
	go func() { defer s.done.Done(); s.forwarder.Run(ctx) }()
	go func() { defer s.done.Done(); s.tick(ctx) }()
	return s, nil
}

func (s *Session) tick(ctx context.Context) {
	t := time.NewTicker(s.cfg.StatusEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.watchlist.Tick()
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

// Head returns central's last verified head.
func (s *Session) Head() Head { return s.watchlist.Head() }

// Freshness reports how current the replica is known to be.
func (s *Session) Freshness() Freshness {
	return s.watchlist.Freshness(time.Now(), s.cfg.MaxReplicaAge)
}

// Status returns the agent's status as it would be published now.
func (s *Session) Status(link string) Status {
	st := Status{Agent: s.cfg.Agent, Link: link, Time: time.Now().UTC(), Freshness: s.Freshness()}
	if cur, err := s.cfg.Replica.Cursor(); err == nil {
		st.Epoch, st.Seq, st.Digest, st.ReplicaAt = cur.Epoch, cur.Seq, cur.Digest.String(), cur.At
	}
	if ob, err := s.cfg.Replica.Outbox(); err == nil {
		st.OutboxDepth, st.OutboxOldest = ob.Depth, ob.Oldest
	}
	return st
}

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

func (s *Session) requestResync(cur store.Cursor) {
	b, _ := json.Marshal(Resync{Agent: s.cfg.Agent, Epoch: cur.Epoch, Seq: cur.Seq})
	if err := s.link.Publish(AgentTopic(s.cfg.Agent, "resync"), false, b); err != nil {
		s.log.Info("resync request not sent; will retry", "err", err)
		return
	}
	s.log.Info("resync requested", "epoch", cur.Epoch, "seq", cur.Seq)
}

// Close publishes an offline status, stops forwarding and disconnects.
// Hits not yet acknowledged stay in the outbox for the next start.
func (s *Session) Close() {
	s.cancel()
	s.done.Wait()
	s.publishStatus("offline")
	s.link.Close()
}
