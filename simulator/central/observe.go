package central

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
)

// ObserveConfig configures Observe.
type ObserveConfig struct {
	Broker   string
	ClientID string // default "central-observer-<random>"; needs read access to bp/v1/#
	TLS      *tls.Config
	// Verifier, if set, checks central's heads and assignments; a message
	// it refuses is left out of the view.
	Verifier *bpsync.Verifier
	// Wait is how long retained messages are gathered; default 2s.
	Wait        time.Duration
	SilentAfter time.Duration
	Logger      *slog.Logger
}

// Observe builds the fleet view from the broker's retained messages
// alone: every agent's status, central's heads (whole list and scopes) and
// the scope assignments. It publishes nothing, so an operator can run it
// anywhere beside a running central.
func Observe(ctx context.Context, cfg ObserveConfig) ([]AgentView, error) {
	if cfg.ClientID == "" {
		// Unique, so that two operators looking at once do not take each
		// other's session.
		b := make([]byte, 4)
		rand.Read(b)
		cfg.ClientID = "central-observer-" + hex.EncodeToString(b)
	}
	if cfg.Wait == 0 {
		cfg.Wait = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Central{log: cfg.Logger, whole: newStream("", bpsync.ScopeRule{}, 0), scopes: make(map[string]*stream),
		assign: make(map[string][]string), statuses: make(map[string]bpsync.Status)}
	// open decodes a signed body of the kind, stream and recipient the
	// topic carries; without a Verifier the signature is not checked.
	open := func(payload []byte, want bpsync.Binding, body bpsync.Bound) bool {
		if cfg.Verifier != nil {
			_, err := cfg.Verifier.Open(payload, want, body)
			return err == nil
		}
		var env bpsync.Envelope
		return json.Unmarshal(payload, &env) == nil && json.Unmarshal(env.Body, body) == nil
	}
	head := func(st *stream, payload []byte) {
		var h bpsync.Head
		if !open(payload, bpsync.Binding{Kind: bpsync.KindHead, Stream: st.stream()}, &h) || h.Kind != bpsync.KindHead || h.Stream != st.stream() {
			cfg.Logger.Warn("head refused", "scope", st.scope)
			return
		}
		d, err := store.ParseDigest(h.Digest)
		if err != nil {
			return
		}
		c.mu.Lock()
		st.epoch, st.seq, st.digest = h.Epoch, h.Seq, d
		c.mu.Unlock()
	}
	link, err := bpsync.Dial(bpsync.LinkConfig{Broker: cfg.Broker, ClientID: cfg.ClientID, TLS: cfg.TLS, Logger: cfg.Logger, Transient: true,
		Subscriptions: map[string]bpsync.Handler{
			"bp/v1/agents/+/status": c.handleStatus,
			bpsync.TopicHead:        func(_ string, p []byte) { head(c.whole, p) },
			bpsync.ScopeTopic("+", "head"): func(topic string, p []byte) {
				name := strings.Split(topic, "/")[3]
				c.mu.Lock()
				st := c.scopes[name]
				if st == nil {
					st = newStream(name, bpsync.ScopeRule{}, 0)
					c.scopes[name] = st
				}
				c.mu.Unlock()
				head(st, p)
			},
			"bp/v1/agents/+/scopes": func(topic string, p []byte) {
				agent := agentOf(topic)
				var as bpsync.Assignment
				if !open(p, bpsync.Binding{Kind: bpsync.KindAssignment, To: agent}, &as) || as.Check(agent) != nil {
					cfg.Logger.Warn("scope assignment refused", "topic", topic)
					return
				}
				c.mu.Lock()
				if as.Whole {
					delete(c.assign, agent)
				} else {
					c.assign[agent] = as.Scopes
				}
				c.mu.Unlock()
			},
		}})
	if err != nil {
		return nil, err
	}
	defer link.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !link.Connected() {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("cannot reach the broker at %s", cfg.Broker)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(cfg.Wait):
	}
	c.mu.Lock()
	// A scope assigned but never headed yet is an empty stream at epoch 0.
	for _, names := range c.assign {
		for _, n := range names {
			if c.scopes[n] == nil {
				c.scopes[n] = newStream(n, bpsync.ScopeRule{}, 0)
			}
		}
	}
	c.mu.Unlock()
	return c.Fleet(time.Now(), cfg.SilentAfter), nil
}
