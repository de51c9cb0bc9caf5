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
	open := func(payload []byte) ([]byte, bool) {
		if cfg.Verifier != nil {
			body, _, err := cfg.Verifier.Open(payload)
			return body, err == nil
		}
		var env bpsync.Envelope
		return env.Body, json.Unmarshal(payload, &env) == nil
	}
	head := func(st *stream, payload []byte) {
		body, ok := open(payload)
		var h bpsync.Head
		if !ok || json.Unmarshal(body, &h) != nil {
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
				body, ok := open(p)
				var as bpsync.Assignment
				if !ok || json.Unmarshal(body, &as) != nil || as.Check(agentOf(topic)) != nil {
					cfg.Logger.Warn("scope assignment refused", "topic", topic)
					return
				}
				c.mu.Lock()
				if as.Whole {
					delete(c.assign, as.Agent)
				} else {
					c.assign[as.Agent] = as.Scopes
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
