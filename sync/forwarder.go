package sync

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/borderpost/borderpost/store"
)

// Publisher sends a message to the broker; *Link implements it.
type Publisher interface {
	Publish(topic string, retained bool, payload []byte) error
}

// Forwarder ships hits from the outbox to central, in order, in messages
// of up to Batch hits, with at most Window hits unacknowledged at a time,
// and deletes them only on central's application acknowledgement. After every reconnect, and whenever central
// has been silent for ResendAfter, it starts again from the oldest hit not
// acknowledged: central de-duplicates by hit ID, so a hit may arrive twice
// but never zero times.
type Forwarder struct {
	rep    *store.Replica
	pub    Publisher
	verify *Verifier
	agent  string
	// outbox names this run of the outbox in hit messages; central's
	// acks must name it. New at every start, so that no ack of an earlier
	// run, whose numbering may have restarted since, deletes anything.
	outbox      string
	hitKey      *HitPublicKey
	topic       string
	window      uint64
	batch       int
	resendAfter time.Duration
	log         *slog.Logger
	wake        chan struct{} // new hits, room in the window, a reset: publish
	acks        chan struct{} // central acknowledged more: take them out of the outbox

	mu       sync.Mutex
	sent     uint64 // highest sequence published since the last reset
	acked    uint64 // highest sequence central acknowledged
	dropped  uint64 // highest sequence deleted from the outbox
	progress time.Time
}

// ForwarderConfig configures a Forwarder.
type ForwarderConfig struct {
	Replica   *store.Replica
	Publisher Publisher
	Verifier  *Verifier // checks central's signed acks
	Agent     string
	// HitKey is central's hit public key: every message is sealed to it.
	// Without it nothing is published (hits stay in the outbox).
	HitKey      *HitPublicKey
	Window      int           // hits unacknowledged at most; default 512
	Batch       int           // hits per message at most; default 32
	ResendAfter time.Duration // default 10s
	Logger      *slog.Logger
}

// NewForwarder returns a Forwarder; call Run to start it.
func NewForwarder(cfg ForwarderConfig) *Forwarder {
	if cfg.Window <= 0 {
		cfg.Window = 512
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 32
	}
	if cfg.ResendAfter == 0 {
		cfg.ResendAfter = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	nonce := make([]byte, 12)
	rand.Read(nonce)
	return &Forwarder{rep: cfg.Replica, pub: cfg.Publisher, verify: cfg.Verifier, agent: cfg.Agent, hitKey: cfg.HitKey,
		outbox: base64.RawURLEncoding.EncodeToString(nonce), topic: AgentTopic(cfg.Agent, "hits"),
		window: uint64(cfg.Window), batch: cfg.Batch, resendAfter: cfg.ResendAfter, log: cfg.Logger,
		wake: make(chan struct{}, 1), acks: make(chan struct{}, 1)}
}

// Notify tells the forwarder that new hits wait in the outbox.
func (f *Forwarder) Notify() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Reset makes the forwarder resend every unacknowledged hit; call it after
// each (re)connect.
func (f *Forwarder) Reset() {
	f.mu.Lock()
	f.sent = 0
	f.progress = time.Now()
	f.mu.Unlock()
	f.Notify()
}

// HandleAck is the Handler for the agent's acks topic. It only records
// the acknowledgement: Run deletes acknowledged hits beside the
// publishing, so that a burst of acknowledgements costs one disk write,
// not one each, and no new hit waits for it. An ack
// not signed by central, not addressed to this agent or naming another
// run of the outbox is refused and audited: nothing is deleted.
func (f *Forwarder) HandleAck(topic string, payload []byte) {
	if err := f.takeAck(topic, payload); err != nil {
		f.log.Warn("acknowledgement refused", "topic", topic, "err", err)
	}
}

func (f *Forwarder) takeAck(topic string, payload []byte) error {
	audit := func(err error) error {
		return refuse(context.Background(), f.rep, f.log, store.EventAckRefused, topic, "", err)
	}
	if len(payload) > 4096 {
		return audit(fmt.Errorf("%w: %d bytes, limit 4096", ErrMessage, len(payload)))
	}
	if f.verify == nil {
		return audit(fmt.Errorf("%w: no trusted key to check acknowledgements with", ErrUntrustedKey))
	}
	var a Ack
	if _, err := f.verify.Open(payload, Binding{Kind: KindAck, To: f.agent}, &a); err != nil {
		return audit(err)
	}
	if a.Outbox != f.outbox {
		return audit(fmt.Errorf("%w: acknowledgement up to %d of outbox run %q, this run is %q", ErrStale, a.Upto, a.Outbox, f.outbox))
	}
	f.mu.Lock()
	if a.Upto > f.acked {
		f.acked = a.Upto
		f.progress = time.Now()
	}
	f.mu.Unlock()
	select {
	case f.acks <- struct{}{}:
	default:
	}
	f.Notify() // the window has room again
	return nil
}

// drop deletes acknowledged hits from the outbox.
func (f *Forwarder) drop() {
	f.mu.Lock()
	upto, done := f.acked, f.dropped
	f.mu.Unlock()
	if upto <= done {
		return
	}
	n, err := f.rep.Acknowledge(upto)
	if err != nil {
		f.log.Error("drop acknowledged hits from outbox", "err", err)
		return
	}
	f.mu.Lock()
	f.dropped = max(f.dropped, upto)
	f.mu.Unlock()
	if n > 0 {
		f.log.Debug("hits acknowledged by central", "upto", upto, "dropped", n)
	}
}

// Run publishes until ctx ends. Acknowledged hits are deleted by a
// goroutine of their own: a delete is a disk commit, and a hit recorded
// meanwhile must not wait for it to be published.
func (f *Forwarder) Run(ctx context.Context) error {
	var dropper sync.WaitGroup
	defer dropper.Wait()
	dropper.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-f.acks:
				f.drop()
			}
		}
	})
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-f.wake:
		case <-tick.C:
			f.mu.Lock()
			stalled := f.sent > f.acked && time.Since(f.progress) > f.resendAfter
			f.mu.Unlock()
			if stalled {
				f.log.Info("no acknowledgement from central; resending unacknowledged hits")
				f.Reset()
			}
		}
		f.pump()
	}
}

// pump publishes as many hits as the window allows.
func (f *Forwarder) pump() {
	for {
		st, err := f.rep.Outbox()
		if err != nil {
			f.log.Error("read outbox", "err", err)
			return
		}
		if st.Depth == 0 {
			return
		}
		f.mu.Lock()
		floor := st.First - 1 // everything below First was acknowledged
		if f.acked < floor {
			f.acked = floor
		}
		if f.sent < f.acked {
			f.sent = f.acked
		}
		room := f.window - min(f.window, f.sent-f.acked)
		after := f.sent
		first := f.acked + 1 // below it acknowledged, if not yet dropped (pump drops last)
		f.mu.Unlock()
		if room == 0 {
			return
		}
		hits, err := f.rep.Pending(after, int(room))
		if err != nil {
			f.log.Error("read outbox", "err", err)
			return
		}
		if len(hits) == 0 {
			return
		}
		for len(hits) > 0 {
			n := min(len(hits), f.batch)
			if f.hitKey == nil {
				f.log.Error("no hit key of central configured: hits stay in the outbox (set sync.central_hit_key)")
				return
			}
			m, err := SealHits(f.hitKey, f.agent, first, hits[:n])
			if err != nil {
				f.log.Error("seal hits", "err", err)
				return
			}
			m.Outbox = f.outbox
			msg, err := json.Marshal(m)
			if err != nil {
				f.log.Error("encode hits", "err", err)
				return
			}
			if err := f.pub.Publish(f.topic, false, msg); err != nil {
				return // link down: the next connect resets and resends
			}
			f.mu.Lock()
			f.sent = hits[n-1].Seq
			f.mu.Unlock()
			hits = hits[n:]
		}
	}
}
