// Package central plays central operations for tests and the demo: it
// signs and publishes watch-list deltas with their retained head, replays
// missing deltas to agents that ask, receives hits, stores them
// de-duplicated by hit ID, and acknowledges each agent's hits only once
// stored and contiguous.
//
// It keeps everything in memory; it must never acknowledge a hit it has
// not stored, and it is not the operators' tool (that is issue 9's).
package central

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
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
}

// Central is the simulated central. Create it with Start.
type Central struct {
	cfg  Config
	log  *slog.Logger
	link *bpsync.Link
	done chan struct{}

	mu        sync.Mutex
	alerts    map[string]store.Alert
	digest    store.Digest
	seq       uint64
	last      [32]byte
	history   map[uint64][]byte // seq -> signed delta as published
	agents    map[string]*agentHits
	statuses  map[string]bpsync.Status
	stats     Stats
	snapshots int  // transfers started, to name them
	paused    bool // resync requests are not answered
}

// Pause makes central leave resync requests unanswered, as while its list
// is being rebuilt; agents keep asking and catch up once it resumes.
func (c *Central) Pause(p bool) {
	c.mu.Lock()
	c.paused = p
	c.mu.Unlock()
}

type agentHits struct {
	cursor   uint64            // every seq up to cursor is stored
	held     map[uint64]bool   // stored seqs above cursor
	byID     map[string]uint64 // entry ID -> seq, for de-duplication
	hits     []store.Hit
	outcomes []store.Outcome // officers' outcomes, joined to hits by hit ID
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
	c := &Central{done: make(chan struct{}), cfg: cfg, log: cfg.Logger, alerts: make(map[string]store.Alert), history: make(map[uint64][]byte),
		agents: make(map[string]*agentHits), statuses: make(map[string]bpsync.Status)}
	link, err := bpsync.Dial(bpsync.LinkConfig{
		Broker: cfg.Broker, ClientID: cfg.ClientID, Logger: cfg.Logger,
		Subscriptions: map[string]bpsync.Handler{
			"bp/v1/agents/+/hits":   c.handleHit,
			"bp/v1/agents/+/resync": c.handleResync,
			"bp/v1/agents/+/status": c.handleStatus,
		},
	})
	if err != nil {
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
			if c.seq > 0 {
				c.publishHead()
			}
			c.mu.Unlock()
		}
	}
}

// Connected reports whether central's link is up.
func (c *Central) Connected() bool { return c.link.Connected() }

// Close stops refreshing the head and disconnects.
func (c *Central) Close() {
	close(c.done)
	c.link.Close()
}

// Publish signs a delta holding the given changes, publishes it and the new
// head, and keeps it for replays. It fails when the link is down.
func (c *Central) Publish(upserts []store.Alert, deletes []string) (bpsync.Delta, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.digest
	for _, a := range upserts {
		if old, ok := c.alerts[a.ID]; ok {
			d.Remove(old.ID, old.Version)
		}
		d.Add(a.ID, a.Version)
	}
	for _, id := range deletes {
		if old, ok := c.alerts[id]; ok {
			d.Remove(old.ID, old.Version)
		}
	}
	delta := bpsync.Delta{Epoch: c.cfg.Epoch, Seq: c.seq + 1, Prev: hex.EncodeToString(c.last[:]), Digest: d.String(),
		Issued: time.Now().UTC(), Upserts: upserts, Deletes: deletes}
	msg, hash, err := c.cfg.Signer.Seal(delta)
	if err != nil {
		return delta, err
	}
	if err := c.link.Publish(bpsync.TopicDelta, false, msg); err != nil {
		return delta, fmt.Errorf("publish delta %d: %w", delta.Seq, err)
	}
	c.last = hash
	c.seq = delta.Seq
	c.digest = d
	c.history[delta.Seq] = msg
	if k := c.cfg.KeepDeltas; k > 0 && delta.Seq > uint64(k) {
		delete(c.history, delta.Seq-uint64(k))
	}
	for _, a := range upserts {
		c.alerts[a.ID] = a
	}
	for _, id := range deletes {
		delete(c.alerts, id)
	}
	c.publishHead()
	return delta, nil
}

// NewEpoch starts a new epoch, as when central rebuilds its list from
// scratch: the next delta is sequence 1 of the new epoch, chained from
// nothing, and agents still on the old epoch are sent a snapshot when they
// ask to catch up.
func (c *Central) NewEpoch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg.Epoch++
	c.seq, c.last = 0, [32]byte{}
	clear(c.history)
}

func (c *Central) publishHead() {
	now := time.Now().UTC()
	msg, _, err := c.cfg.Signer.Seal(bpsync.Head{Epoch: c.cfg.Epoch, Seq: c.seq, Digest: c.digest.String(), Issued: now, Expires: now.Add(c.cfg.HeadTTL)})
	if err == nil {
		err = c.link.Publish(bpsync.TopicHead, true, msg)
	}
	if err != nil {
		c.log.Warn("head not published", "err", err)
	}
}

// Digest returns the digest of central's current alert set.
func (c *Central) Digest() store.Digest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.digest
}

// Seq returns the sequence of the last published delta.
func (c *Central) Seq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

func agentOf(topic string) string {
	parts := strings.Split(topic, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

func (c *Central) handleHit(topic string, payload []byte) {
	agent := agentOf(topic)
	var m bpsync.HitMessage
	if err := json.Unmarshal(payload, &m); err != nil || m.Agent != agent || len(m.Hits) == 0 {
		c.log.Warn("malformed hit message dropped", "topic", topic)
		return
	}
	for _, h := range m.Hits {
		if h.ID == "" || h.Seq == 0 {
			c.log.Warn("malformed hit message dropped", "topic", topic)
			return
		}
	}
	var fresh []store.Hit
	c.mu.Lock()
	ah := c.agents[agent]
	if ah == nil {
		ah = &agentHits{held: make(map[uint64]bool), byID: make(map[string]uint64)}
		c.agents[agent] = ah
	}
	for _, h := range m.Hits {
		c.stats.Received++
		if _, dup := ah.byID[h.ID]; dup {
			c.stats.Duplicates++
			continue
		}
		ah.byID[h.ID] = h.Seq
		ah.held[h.Seq] = true
		if h.Outcome != nil {
			ah.outcomes = append(ah.outcomes, *h.Outcome)
			c.stats.Outcomes++
			continue
		}
		ah.hits = append(ah.hits, h)
		c.stats.Stored++
		fresh = append(fresh, h)
	}
	if m.Floor > 0 && m.Floor-1 > ah.cursor {
		ah.cursor = m.Floor - 1
	}
	for ah.held[ah.cursor+1] {
		delete(ah.held, ah.cursor+1)
		ah.cursor++
	}
	upto := ah.cursor
	c.stats.Acks++
	c.mu.Unlock()
	if c.cfg.OnHit != nil {
		for _, h := range fresh {
			c.cfg.OnHit(agent, h)
		}
	}
	ack, _ := json.Marshal(bpsync.Ack{Upto: upto})
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
	c.stats.Resyncs++
	replayable := r.Epoch == 0 || r.Epoch == c.cfg.Epoch
	for s := r.Seq + 1; replayable && s <= c.seq; s++ {
		_, replayable = c.history[s]
	}
	if !replayable {
		c.sendSnapshot(agent)
		return
	}
	for s := r.Seq + 1; s <= c.seq; s++ {
		if err := c.link.Publish(bpsync.AgentTopic(agent, "deltas"), false, c.history[s]); err != nil {
			c.log.Warn("replay interrupted", "agent", agent, "seq", s, "err", err)
			return
		}
	}
	c.log.Info("replayed deltas", "agent", agent, "from", r.Seq+1, "to", c.seq)
}

// sendSnapshot sends an agent the whole alert set in signed, checksummed
// chunks. c.mu held.
func (c *Central) sendSnapshot(agent string) {
	alerts := make([]store.Alert, 0, len(c.alerts))
	for _, a := range c.alerts {
		alerts = append(alerts, a)
	}
	c.snapshots++
	m := bpsync.SnapshotManifest{ID: fmt.Sprintf("%s-%d-%d", agent, c.seq, c.snapshots), Epoch: c.cfg.Epoch, Seq: c.seq,
		Hash: hex.EncodeToString(c.last[:]), Digest: c.digest.String(), Issued: time.Now().UTC()}
	msgs, err := bpsync.BuildSnapshot(c.cfg.Signer, m, alerts, c.cfg.SnapshotChunk)
	if err != nil {
		c.log.Error("build snapshot", "err", err)
		return
	}
	for i, msg := range msgs {
		if err := c.link.Publish(bpsync.AgentTopic(agent, "snapshot"), false, msg); err != nil {
			c.log.Warn("snapshot interrupted; the agent will ask again", "agent", agent, "message", i, "err", err)
			return
		}
	}
	c.stats.Snapshots++
	c.log.Info("snapshot sent", "agent", agent, "alerts", len(alerts), "chunks", len(msgs)-1)
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
	c.mu.Lock()
	defer c.mu.Unlock()
	ah := c.agents[agent]
	if ah == nil {
		return nil
	}
	out := append([]store.Hit(nil), ah.hits...)
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// Outcomes returns the officers' outcomes received from an agent, in the
// order they arrived.
func (c *Central) Outcomes(agent string) []store.Outcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ah := c.agents[agent]; ah != nil {
		return append([]store.Outcome(nil), ah.outcomes...)
	}
	return nil
}

// Stats returns central's counters.
func (c *Central) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}
