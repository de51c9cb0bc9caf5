// Package central is central operations, for operators, tests and the
// demo: it signs and publishes watch-list deltas with their retained head,
// for the whole list and for each scope, assigns agents their scopes,
// replays missing deltas to agents that ask or sends snapshots, receives
// hits, stores them de-duplicated by hit ID, and acknowledges each agent's
// hits only once stored and contiguous.
//
// With a State and a HitStore it keeps lists, history and hits on disk and
// goes on after a restart where it stopped. Without a State, as in tests,
// it keeps its lists in memory; without a HitStore it keeps hits in one of
// its own in a temporary directory, removed by Close, so that hits are
// always stored and acknowledged by the one HitStore. It must never
// acknowledge a hit it has not stored, nor publish a delta it has not
// saved.
package central

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
)

// Config configures a Central.
type Config struct {
	Broker   string
	ClientID string // default "central"
	Signer   *bpsync.Signer
	Epoch    uint64        // default 1
	HeadTTL  time.Duration // how long a head stays valid; default 24h
	// HeadEvery is how often the head is republished with a new expiry,
	// so that agents can tell a quiet list from a silent central;
	// default HeadTTL/4.
	HeadEvery time.Duration
	Logger    *slog.Logger
	// KeepDeltas is how many recent deltas central keeps for replays; an
	// agent further behind gets a snapshot. 0 keeps them all.
	KeepDeltas int
	// SnapshotChunk is the number of alerts per snapshot chunk; default 2000.
	SnapshotChunk int
	// OnHit, if set, is called once for every newly stored hit.
	OnHit func(agent string, h store.Hit)
	// OnOutcome, if set, is called once for every newly stored officer's
	// outcome.
	OnOutcome func(agent string, o store.Outcome)
	// Scopes are published each as a stream of its own beside the whole
	// watch list; Assign gives agents their scopes (agent ID -> scope
	// names). An agent with no entry follows the whole list.
	Scopes []bpsync.Scope
	Assign map[string][]string
	// Unscoped agents are told to follow the whole list, dropping any
	// scopes an earlier configuration gave them.
	Unscoped []string
	// Hits, if set, stores hits and outcomes on disk (OpenHitStore), and
	// central acknowledges only what it has synced there; without it
	// central opens a HitStore of its own in a temporary directory, which
	// Close removes.
	Hits *HitStore
	// HitKeys are central's hit private keys, the current one first, then
	// any earlier one kept while agents still seal to it (a rotation);
	// hits arrive sealed to one of them. Without any, Start creates one
	// for this run only (HitPublicKey), as tests and the demo want.
	HitKeys []*bpsync.HitKey
	// State, if set, keeps the lists on disk (OpenState): a restarted
	// central goes on from where it stopped. Without it central forgets
	// everything when it stops, as tests want.
	State *State
	// ReplayWindow limits replays per agent: the same replay or snapshot
	// (same stream, epoch and range) is sent to an agent at most once per
	// window, however often it asks (an agent that cannot apply it, a full
	// disk, would otherwise have it sent over and over); a request for
	// another range is answered at once. Default 10s; negative turns the
	// limit off.
	ReplayWindow time.Duration
	// PublishRetry is how long Publish keeps trying while the link to
	// the broker is down (its node restarting), with a growing pause
	// between attempts, before it gives up; default 1m, negative: one
	// attempt.
	PublishRetry time.Duration
}

// replayLimit is the last replay sent to one agent for one stream.
type replayLimit struct {
	what string // kind, epoch and range
	at   time.Time
}

// Central is the simulated central. Create it with Start.
type Central struct {
	cfg  Config
	log  *slog.Logger
	link *bpsync.Link
	done chan struct{}
	hits *HitStore // cfg.Hits, or ownHits's
	// ownHits is the temporary directory of the HitStore central opened
	// itself for want of cfg.Hits; "" when cfg.Hits is used.
	ownHits string

	mu        sync.Mutex
	whole     *stream            // the whole watch list
	scopes    map[string]*stream // by scope name
	assign    map[string][]string
	unscoped  map[string]bool
	statuses  map[string]bpsync.Status
	stats     Stats
	snapshots int                     // transfers started, to name them
	paused    bool                    // resync requests are not answered
	replays   map[string]*replayLimit // by agent and stream
	// assignSeq is the sequence of each agent's last assignment, and
	// assigned the signed assignment itself, republished as it is at every
	// connect: agents take it again as a no-op.
	assignSeq map[string]uint64
	assigned  map[string][]byte
}

// Pause makes central leave resync requests unanswered, as while its list
// is being rebuilt; agents keep asking and catch up once it resumes.
func (c *Central) Pause(p bool) {
	c.mu.Lock()
	c.paused = p
	c.mu.Unlock()
}

// Stats counts what central has seen.
type Stats struct {
	Received   int // hit messages received, duplicates included
	Duplicates int // hit messages whose hit ID was already stored
	Stored     int // distinct hits stored
	Outcomes   int // distinct officers' outcomes stored
	Acks       int // acknowledgements sent
	Resyncs    int // resync requests answered
	Snapshots  int // snapshots sent
	// ReplaysLimited counts resync requests refused because the same
	// replay went to that agent within the replay window; ReplayBytes
	// counts the bytes of replayed deltas and snapshot messages sent.
	ReplaysLimited int
	ReplayBytes    int64
}

// Start connects to the broker and subscribes to the agents' topics. It
// returns at once; Connected tells when the link is up.
func Start(cfg Config) (*Central, error) {
	if cfg.ClientID == "" {
		cfg.ClientID = "central"
	}
	if cfg.Epoch == 0 {
		cfg.Epoch = 1
	}
	if cfg.HeadTTL == 0 {
		cfg.HeadTTL = 24 * time.Hour
	}
	if cfg.HeadEvery == 0 {
		cfg.HeadEvery = cfg.HeadTTL / 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.HitKeys) == 0 {
		k, err := bpsync.GenerateHitKey()
		if err != nil {
			return nil, fmt.Errorf("create a hit key: %w", err)
		}
		cfg.HitKeys = []*bpsync.HitKey{k}
	}
	if cfg.ReplayWindow == 0 {
		cfg.ReplayWindow = 10 * time.Second
	}
	if cfg.PublishRetry == 0 {
		cfg.PublishRetry = time.Minute
	}
	c := &Central{replays: make(map[string]*replayLimit), done: make(chan struct{}), cfg: cfg, log: cfg.Logger, whole: newStream("", bpsync.ScopeRule{}, cfg.Epoch),
		scopes: make(map[string]*stream), assign: make(map[string][]string), unscoped: make(map[string]bool),
		statuses: make(map[string]bpsync.Status), hits: cfg.Hits,
		assignSeq: make(map[string]uint64), assigned: make(map[string][]byte)}
	for _, sc := range cfg.Scopes {
		if err := bpsync.ValidScopeName(sc.Name); err != nil {
			return nil, err
		}
		if _, dup := c.scopes[sc.Name]; dup {
			return nil, fmt.Errorf("scope %q defined twice", sc.Name)
		}
		c.scopes[sc.Name] = newStream(sc.Name, sc.Rule, cfg.Epoch)
	}
	if cfg.State != nil {
		for _, st := range append(c.sortedScopes(), c.whole) {
			if err := cfg.State.load(st); err != nil {
				return nil, err
			}
			c.cfg.Epoch = max(c.cfg.Epoch, st.epoch)
			// The rules may have changed since the state was written: the
			// first change published brings each scope in step in full.
			st.dirty = st.scope != ""
		}
		seqs, err := cfg.State.loadAssignments()
		if err != nil {
			return nil, err
		}
		c.assignSeq = seqs
	}
	for agent, names := range cfg.Assign {
		for _, n := range names {
			if c.scopes[n] == nil {
				return nil, fmt.Errorf("agent %s is assigned scope %q, which is not defined", agent, n)
			}
		}
		c.assign[agent] = slices.Clone(names)
	}
	for _, agent := range cfg.Unscoped {
		if _, scoped := c.assign[agent]; scoped {
			return nil, fmt.Errorf("agent %s is both given scopes and unscoped", agent)
		}
		c.unscoped[agent] = true
	}
	if c.hits == nil {
		dir, err := os.MkdirTemp("", "central-hits-*")
		if err != nil {
			return nil, fmt.Errorf("central: a temporary hit store: %w", err)
		}
		if c.hits, err = OpenHitStore(filepath.Join(dir, "hits.db")); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("central: a temporary hit store: %w", err)
		}
		c.ownHits = dir
	}
	link, err := bpsync.Dial(bpsync.LinkConfig{
		Broker: cfg.Broker, ClientID: cfg.ClientID, Logger: cfg.Logger, OnConnect: c.republish,
		Subscriptions: map[string]bpsync.Handler{
			"bp/v1/agents/+/hits":   c.handleHit,
			"bp/v1/agents/+/resync": c.handleResync,
			"bp/v1/agents/+/status": c.handleStatus,
		},
	})
	if err != nil {
		c.closeOwnHits()
		return nil, err
	}
	c.link = link
	go c.refreshHead()
	return c, nil
}

// refreshHead republishes the head until Close.
func (c *Central) refreshHead() {
	t := time.NewTicker(c.cfg.HeadEvery)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.mu.Lock()
			c.publishHeads()
			c.mu.Unlock()
		}
	}
}

// Connected reports whether central's link is up.
func (c *Central) Connected() bool { return c.link.Connected() }

// Close stops refreshing the head and disconnects; a HitStore central
// opened itself is closed and removed.
func (c *Central) Close() {
	close(c.done)
	c.link.Close()
	c.closeOwnHits()
}

// closeOwnHits closes and removes the HitStore central opened for want of
// one in its Config.
func (c *Central) closeOwnHits() {
	if c.ownHits == "" {
		return
	}
	if err := c.hits.Close(); err != nil {
		c.log.Warn("close the temporary hit store", "err", err)
	}
	os.RemoveAll(c.ownHits)
}

// Publish signs a delta holding the given changes, publishes it and the new
// head, and keeps it for replays; then does the same on each scope's
// stream with the share of the changes that concerns it: an alert that
// enters a scope is an upsert there, one that leaves it a delete. While
// the link is down it keeps trying for Config.PublishRetry, then fails.
func (c *Central) Publish(upserts []store.Alert, deletes []string) (bpsync.Delta, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delta, err := c.publishTo(c.whole, upserts, deletes)
	if err != nil {
		return delta, err
	}
	touched := make([]string, 0, len(upserts)+len(deletes))
	for _, a := range upserts {
		touched = append(touched, a.ID)
	}
	touched = append(touched, deletes...)
	for _, st := range c.sortedScopes() {
		ids := touched
		if st.dirty {
			ids = nil // all of them
		}
		ups, dels := st.share(c.whole.alerts, ids)
		if len(ups)+len(dels) == 0 {
			st.dirty = false
			continue
		}
		if _, err := c.publishTo(st, ups, dels); err != nil {
			// Caught up in full at the next Publish.
			st.dirty = true
			c.log.Warn("scope delta not published; retried with the next change", "scope", st.scope, "err", err)
			continue
		}
		st.dirty = false
	}
	return delta, nil
}

// publishTo signs and publishes one delta on st and its new head. c.mu held.
func (c *Central) publishTo(st *stream, upserts []store.Alert, deletes []string) (bpsync.Delta, error) {
	d := st.digest
	for _, a := range upserts {
		if old, ok := st.alerts[a.ID]; ok {
			d.Remove(old.ID, old.Version)
		}
		d.Add(a.ID, a.Version)
	}
	for _, id := range deletes {
		if old, ok := st.alerts[id]; ok {
			d.Remove(old.ID, old.Version)
		}
	}
	delta := bpsync.Delta{Binding: bpsync.Binding{Kind: bpsync.KindDelta, Stream: st.stream()}, Epoch: st.epoch, Seq: st.seq + 1, Prev: hex.EncodeToString(st.last[:]), Digest: d.String(),
		Issued: time.Now().UTC(), Upserts: upserts, Deletes: deletes}
	msg, hash, err := c.cfg.Signer.Seal(delta)
	if err != nil {
		return delta, err
	}
	if c.cfg.State != nil {
		// On disk first: once saved, the delta is central's, and agents
		// get it from the head and a replay if the publish below fails.
		if err := c.cfg.State.save(st, delta.Seq, hash, d, upserts, deletes, msg, c.cfg.KeepDeltas); err != nil {
			return delta, fmt.Errorf("save delta %d: %w; nothing was published", delta.Seq, err)
		}
		if err := c.publishRetry(st, "delta", delta.Seq, false, msg); err != nil {
			c.log.Warn("delta saved but not published; agents fetch it after the next head", "scope", st.scope, "seq", delta.Seq, "err", err)
		}
	} else if err := c.publishRetry(st, "delta", delta.Seq, false, msg); err != nil {
		return delta, err
	}
	st.last = hash
	st.seq = delta.Seq
	st.digest = d
	st.history[delta.Seq] = msg
	if k := c.cfg.KeepDeltas; k > 0 && delta.Seq > uint64(k) {
		delete(st.history, delta.Seq-uint64(k))
	}
	for _, a := range upserts {
		st.alerts[a.ID] = a
	}
	for _, id := range deletes {
		delete(st.alerts, id)
	}
	// The head after its delta, never before: an agent that sees a head
	// ahead of its replica asks for a replay. Retried like the delta; if
	// it still fails, the next connect and the periodic refresh publish it.
	if msg, err := c.sealHead(st); err != nil {
		c.log.Warn("head not published", "scope", st.scope, "err", err)
	} else if err := c.publishRetry(st, "head", delta.Seq, true, msg); err != nil {
		c.log.Warn("head not published; published again at the next connect", "scope", st.scope, "err", err)
	}
	return delta, nil
}

// publishRetry publishes one message of st's, and while the link is down
// (central's broker node restarting) tries again with a growing pause,
// for up to Config.PublishRetry, saying so in the log. what and seq name
// the message in the log and the error. c.mu held: the next delta waits.
func (c *Central) publishRetry(st *stream, what string, seq uint64, retained bool, msg []byte) error {
	pause := 100 * time.Millisecond
	deadline := time.Now().Add(c.cfg.PublishRetry)
	for attempt := 1; ; attempt++ {
		err := c.link.Publish(st.topic(what), retained, msg)
		if err == nil {
			if attempt > 1 {
				c.log.Info("published after retrying", "what", what, "scope", st.scope, "seq", seq, "attempts", attempt)
			}
			return nil
		}
		if time.Now().Add(pause).After(deadline) {
			return fmt.Errorf("publish %s %d: %d attempts over %s failed; check central's broker: %w", what, seq, attempt, c.cfg.PublishRetry, err)
		}
		c.log.Warn("publish failed; retrying", "what", what, "scope", st.scope, "seq", seq, "attempt", attempt, "retry_in", pause, "err", err)
		select {
		case <-c.done:
			return fmt.Errorf("publish %s %d: central is closing: %w", what, seq, err)
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// NewEpoch starts a new epoch, as when central rebuilds its list from
// scratch: the next delta of every stream is sequence 1 of the new epoch,
// chained from nothing, and agents still on the old epoch are sent a
// snapshot when they ask to catch up.
func (c *Central) NewEpoch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg.Epoch++
	for _, st := range append(c.sortedScopes(), c.whole) {
		st.epoch = c.cfg.Epoch
		st.seq, st.last = 0, [32]byte{}
		clear(st.history)
		if c.cfg.State != nil {
			if err := c.cfg.State.newEpoch(st); err != nil {
				c.log.Error("new epoch not saved", "scope", st.scope, "err", err)
			}
		}
	}
}

// PublishList publishes the delta that turns central's current list into
// list: alerts new or in another version are upserts, alerts missing from
// list are deletes. It returns false when nothing changed, and publishes
// nothing then.
func (c *Central) PublishList(list []store.Alert) (bpsync.Delta, bool, error) {
	c.mu.Lock()
	next := make(map[string]bool, len(list))
	var ups []store.Alert
	for _, a := range list {
		next[a.ID] = true
		if old, ok := c.whole.alerts[a.ID]; !ok || old.Version != a.Version {
			ups = append(ups, a)
		}
	}
	var dels []string
	for id := range c.whole.alerts {
		if !next[id] {
			dels = append(dels, id)
		}
	}
	c.mu.Unlock()
	sort.Strings(dels)
	if len(ups)+len(dels) == 0 {
		return bpsync.Delta{}, false, nil
	}
	d, err := c.Publish(ups, dels)
	return d, err == nil, err
}

// republish runs at every connect: the retained heads and scope
// assignments are published again, in case the broker lost them.
func (c *Central) republish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.publishHeads()
	for agent, names := range c.assign {
		c.republishAssignment(agent, bpsync.Assignment{Scopes: names})
	}
	for agent := range c.unscoped {
		c.republishAssignment(agent, bpsync.Assignment{Whole: true})
	}
}

// republishAssignment publishes an agent's signed assignment again as it
// was, or signs it if it never was. c.mu held.
func (c *Central) republishAssignment(agent string, as bpsync.Assignment) {
	if msg := c.assigned[agent]; msg != nil {
		if err := c.link.Publish(bpsync.AgentTopic(agent, "scopes"), true, msg); err != nil {
			c.log.Warn("scope assignment not republished; republished at the next connect", "agent", agent, "err", err)
		}
		return
	}
	c.publishAssignment(agent, as)
}

// publishHeads publishes every stream's head. c.mu held.
func (c *Central) publishHeads() {
	if c.whole.seq > 0 {
		c.publishHead(c.whole)
	}
	for _, st := range c.scopes {
		c.publishHead(st) // even empty: the agents of the scope learn they are current
	}
}

func (c *Central) publishHead(st *stream) {
	msg, err := c.sealHead(st)
	if err == nil {
		err = c.link.Publish(st.topic("head"), true, msg)
	}
	if err != nil {
		c.log.Warn("head not published", "scope", st.scope, "err", err)
	}
}

// sealHead signs st's head as it is now. c.mu held.
func (c *Central) sealHead(st *stream) ([]byte, error) {
	now := time.Now().UTC()
	msg, _, err := c.cfg.Signer.Seal(bpsync.Head{Binding: bpsync.Binding{Kind: bpsync.KindHead, Stream: st.stream()}, Epoch: st.epoch, Seq: st.seq, Digest: st.digest.String(), Issued: now, Expires: now.Add(c.cfg.HeadTTL)})
	return msg, err
}

// Assign sets the scopes an agent follows and publishes the signed
// assignment, retained, so that the agent acts on it now or at its next
// connect: it fetches new scopes and purges dropped ones.
func (c *Central) Assign(agent string, scopes []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range scopes {
		if c.scopes[n] == nil {
			return fmt.Errorf("scope %q is not defined", n)
		}
	}
	c.assign[agent] = slices.Clone(scopes)
	delete(c.unscoped, agent)
	return c.publishAssignment(agent, bpsync.Assignment{Scopes: scopes})
}

// Unassign sends an agent back to the whole watch list: it drops its
// scopes and their replicas, and follows the whole list again.
func (c *Central) Unassign(agent string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.assign, agent)
	c.unscoped[agent] = true
	return c.publishAssignment(agent, bpsync.Assignment{Whole: true})
}

// publishAssignment signs an agent's assignment under the next sequence
// and publishes it retained. The sequence only grows: it is the greater
// of the last one plus one (kept in the State) and the time in
// nanoseconds, so that it grows also across a restart without a State.
// c.mu held.
func (c *Central) publishAssignment(agent string, as bpsync.Assignment) error {
	now := time.Now().UTC()
	as.Binding = bpsync.Binding{Kind: bpsync.KindAssignment, To: agent}
	as.Seq = max(c.assignSeq[agent]+1, uint64(now.UnixNano()))
	as.Issued = now
	if c.cfg.State != nil {
		if err := c.cfg.State.saveAssignment(agent, as.Seq); err != nil {
			c.log.Error("scope assignment not saved; not published", "agent", agent, "err", err)
			return err
		}
	}
	c.assignSeq[agent] = as.Seq
	msg, _, err := c.cfg.Signer.Seal(as)
	if err == nil {
		c.assigned[agent] = msg
		err = c.link.Publish(bpsync.AgentTopic(agent, "scopes"), true, msg)
	}
	if err != nil {
		c.log.Warn("scope assignment not published; republished at the next connect", "agent", agent, "whole", as.Whole, "err", err)
	}
	return err
}

// Digest returns the digest of central's current alert set.
func (c *Central) Digest() store.Digest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.whole.digest
}

// Seq returns the sequence of the last published delta.
func (c *Central) Seq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.whole.seq
}

// ScopeState returns a scope's sequence, digest and alert IDs as central
// publishes them.
func (c *Central) ScopeState(scope string) (seq uint64, digest store.Digest, ids []string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.scopes[scope]
	if st == nil {
		return 0, store.Digest{}, nil, false
	}
	for id := range st.alerts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return st.seq, st.digest, ids, true
}

func (c *Central) sortedScopes() []*stream {
	out := make([]*stream, 0, len(c.scopes))
	for _, st := range c.scopes {
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b *stream) int { return strings.Compare(a.scope, b.scope) })
	return out
}

func agentOf(topic string) string {
	parts := strings.Split(topic, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// HitPublicKey is central's current hit public key, the one agents
// configure (sync.central_hit_key) to seal their hits to.
func (c *Central) HitPublicKey() *bpsync.HitPublicKey { return c.cfg.HitKeys[0].Public() }

func (c *Central) handleHit(topic string, payload []byte) {
	agent := agentOf(topic)
	var m bpsync.HitMessage
	if err := json.Unmarshal(payload, &m); err != nil || m.Agent != agent {
		c.log.Warn("malformed hit message dropped", "topic", topic)
		return
	}
	// Not acknowledged when it does not open: the agent keeps the hits
	// and sends them again, e.g. once central is given the key they are
	// sealed to.
	hits, err := bpsync.OpenHits(m, c.cfg.HitKeys)
	if err != nil {
		c.log.Warn("hit message not opened; not acknowledged", "agent", agent, "hit_key", m.KeyID, "err", err)
		return
	}
	m.Hits = hits
	for _, h := range m.Hits {
		if h.ID == "" || h.Seq == 0 {
			c.log.Warn("malformed hit message dropped", "topic", topic)
			return
		}
	}
	// Not under c.mu: concurrent messages share the store's commits.
	fresh, dups, outcomes, upto, err := c.hits.Store(agent, m.Floor, m.Hits)
	if err != nil {
		// Nothing is acknowledged: the agent sends again.
		c.log.Error("hits not stored; not acknowledged", "agent", agent, "err", err)
		return
	}
	c.mu.Lock()
	c.stats.Received += len(m.Hits)
	c.stats.Duplicates += dups
	c.stats.Stored += len(fresh)
	c.stats.Outcomes += len(outcomes)
	c.stats.Acks++
	c.mu.Unlock()
	if c.cfg.OnHit != nil {
		for _, h := range fresh {
			c.cfg.OnHit(agent, h)
		}
	}
	if c.cfg.OnOutcome != nil {
		for _, o := range outcomes {
			c.cfg.OnOutcome(agent, o)
		}
	}
	// Messages are handled concurrently, so a lower acknowledgement may
	// follow a higher one: the agent keeps the highest. A lower one is
	// also how central says that it restarted its count (see HitStore).
	// Signed, to the agent and its outbox run: the agent takes no other.
	ack, _, err := c.cfg.Signer.Seal(bpsync.Ack{Binding: bpsync.Binding{Kind: bpsync.KindAck, To: agent}, Outbox: m.Outbox, Upto: upto})
	if err != nil {
		c.log.Error("sign ack", "agent", agent, "err", err)
		return
	}
	if err := c.link.Publish(bpsync.AgentTopic(agent, "acks"), false, ack); err != nil {
		c.log.Debug("ack not sent; the agent will resend", "agent", agent, "err", err)
	}
}

func (c *Central) handleResync(topic string, payload []byte) {
	agent := agentOf(topic)
	var r bpsync.Resync
	if err := json.Unmarshal(payload, &r); err != nil {
		c.log.Warn("malformed resync dropped", "topic", topic)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paused {
		return
	}
	st := c.whole
	if r.Scope != "" {
		// Central answers only for scopes it assigned: the broker's ACL
		// keeps the broadcast topics, this keeps the replays.
		if st = c.scopes[r.Scope]; st == nil || !slices.Contains(c.assign[agent], r.Scope) {
			c.log.Warn("resync for a scope not assigned to the agent refused", "agent", agent, "scope", r.Scope)
			return
		}
	}
	replayable := r.Epoch == 0 || r.Epoch == st.epoch
	for s := r.Seq + 1; replayable && s <= st.seq; s++ {
		_, replayable = st.history[s]
	}
	what := fmt.Sprintf("snapshot %d/%d", st.epoch, st.seq)
	if replayable {
		what = fmt.Sprintf("deltas %d/%d-%d", st.epoch, r.Seq+1, st.seq)
	}
	if !c.replayAllowed(agent, st.scope, what) {
		return
	}
	c.stats.Resyncs++
	if !replayable {
		c.sendSnapshot(agent, st)
		return
	}
	bytes := 0
	for s := r.Seq + 1; s <= st.seq; s++ {
		if err := c.link.Publish(st.agentTopic(agent, "deltas"), false, st.history[s]); err != nil {
			c.log.Warn("replay interrupted", "agent", agent, "scope", st.scope, "seq", s, "err", err)
			return
		}
		bytes += len(st.history[s])
		c.stats.ReplayBytes += int64(len(st.history[s]))
	}
	c.log.Info("replayed deltas", "agent", agent, "scope", st.scope, "from", r.Seq+1, "to", st.seq, "bytes", bytes)
}

// replayAllowed applies the replay window: it refuses to send an agent
// what it was sent for the same stream within the window, and records
// what it allows. c.mu held.
func (c *Central) replayAllowed(agent, scope, what string) bool {
	if c.cfg.ReplayWindow < 0 {
		return true
	}
	key := agent + "\x00" + scope
	now := time.Now()
	if l := c.replays[key]; l != nil && l.what == what && now.Sub(l.at) < c.cfg.ReplayWindow {
		c.stats.ReplaysLimited++
		c.log.Warn("resync refused: the same replay was sent to this agent moments ago; it cannot apply it (disk full?) or asks too often",
			"agent", agent, "scope", scope, "replay", what, "again_after", l.at.Add(c.cfg.ReplayWindow).Sub(now).Round(time.Second))
		return false
	}
	c.replays[key] = &replayLimit{what: what, at: now}
	return true
}

// sendSnapshot sends an agent a stream's whole alert set in signed,
// checksummed chunks. c.mu held.
func (c *Central) sendSnapshot(agent string, st *stream) {
	alerts := make([]store.Alert, 0, len(st.alerts))
	for _, a := range st.alerts {
		alerts = append(alerts, a)
	}
	c.snapshots++
	m := bpsync.SnapshotManifest{Binding: bpsync.Binding{Kind: bpsync.KindSnapshot, Stream: st.stream(), To: agent}, ID: fmt.Sprintf("%s-%d-%d", agent, st.seq, c.snapshots), Epoch: st.epoch, Seq: st.seq,
		Hash: hex.EncodeToString(st.last[:]), Digest: st.digest.String(), Issued: time.Now().UTC()}
	msgs, err := bpsync.BuildSnapshot(c.cfg.Signer, m, alerts, c.cfg.SnapshotChunk)
	if err != nil {
		c.log.Error("build snapshot", "err", err)
		return
	}
	for i, msg := range msgs {
		if err := c.link.Publish(st.agentTopic(agent, "snapshot"), false, msg); err != nil {
			c.log.Warn("snapshot interrupted; the agent will ask again", "agent", agent, "scope", st.scope, "message", i, "err", err)
			return
		}
		c.stats.ReplayBytes += int64(len(msg))
	}
	c.stats.Snapshots++
	c.log.Info("snapshot sent", "agent", agent, "scope", st.scope, "alerts", len(alerts), "chunks", len(msgs)-1)
}

func (c *Central) handleStatus(topic string, payload []byte) {
	var s bpsync.Status
	if json.Unmarshal(payload, &s) != nil {
		return
	}
	agent := agentOf(topic)
	c.mu.Lock()
	defer c.mu.Unlock()
	// The last will says only "offline": keep what the agent last told
	// us, with when it did.
	if prev, ok := c.statuses[agent]; ok && s.Link != "online" && s.Time.IsZero() {
		prev.Link = s.Link
		s = prev
	}
	c.statuses[agent] = s
}

// AgentStatus returns an agent's last status message.
func (c *Central) AgentStatus(agent string) (bpsync.Status, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.statuses[agent]
	return s, ok
}

// Hits returns the distinct hits stored for an agent, in sequence order.
func (c *Central) Hits(agent string) []store.Hit {
	hits, err := c.hits.Hits(agent)
	if err != nil {
		c.log.Error("read stored hits", "agent", agent, "err", err)
	}
	return hits
}

// Outcomes returns the officers' outcomes received from an agent, in the
// order they arrived.
func (c *Central) Outcomes(agent string) []store.Outcome {
	out, err := c.hits.Outcomes(agent)
	if err != nil {
		c.log.Error("read stored outcomes", "agent", agent, "err", err)
	}
	return out
}

// Stats returns central's counters.
func (c *Central) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}
