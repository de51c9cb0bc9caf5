package sync

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/borderpost/borderpost/sync/synctest"
)

// An agent's session asks QoS 0 for the retained latest-value topics (the
// heads, its scope assignment) and QoS 1 for everything that must not be
// lost (deltas, replays, snapshots, acks), at the first connect, at every
// reconnect, and when it refreshes its latest values: on a NATS cluster
// each QoS 1 subscription is a replicated JetStream consumer, and six of
// them per agent kept a thousand agents from connecting.
func TestSessionSubscribesEachTopicWithItsQoS(t *testing.T) {
	m := synctest.StartMosquitto(t)
	rec := startSubscribeRecorder(t, m.Addr())
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	hk, err := GenerateHitKey()
	if err != nil {
		t.Fatal(err)
	}
	const agent = "post-qos"
	s, err := StartSession(context.Background(), SessionConfig{Link: LinkConfig{Broker: rec.URL()},
		Agent: agent, Replica: openReplica(t), Verifier: NewVerifier(pub), HitKey: hk.Public(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	waitSeen := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for len(rec.seenQoS()) < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		got := rec.seenQoS()
		if len(got) < n {
			t.Fatalf("%d SUBSCRIBE filters seen, want %d: %q", len(got), n, got)
		}
		return got
	}
	whole := []string{AgentTopic(agent, "acks") + "@1", AgentTopic(agent, "scopes") + "@0", TopicDelta + "@1",
		AgentTopic(agent, "deltas") + "@1", AgentTopic(agent, "snapshot") + "@1", TopicHead + "@0"}
	if got := waitSeen(len(whole)); !slices.Equal(got, whole) {
		t.Fatalf("subscriptions of a whole-list agent:\n got %q\nwant %q", got, whole)
	}

	s.AddScope(ScopeReplica{Name: "eu", Replica: openReplica(t)})
	scope := []string{ScopeTopic("eu", "delta") + "@1", AgentScopeTopic(agent, "eu", "deltas") + "@1",
		AgentScopeTopic(agent, "eu", "snapshot") + "@1"}
	scopeHead := ScopeTopic("eu", "head") + "@0"
	got := waitSeen(len(whole) + len(scope) + 1)[len(whole):]
	if !slices.Equal(got[len(scope):], []string{scopeHead}) || !sameSet(got[:len(scope)], scope) {
		t.Fatalf("subscriptions of a scope:\n got %q\nwant %q in any order, then %q", got, scope, scopeHead)
	}
	all := len(whole) + len(scope) + 1

	// A refresh asks again for the latest values alone, at QoS 0.
	s.link.RefreshLatest()
	latest := []string{AgentTopic(agent, "scopes") + "@0", TopicHead + "@0", scopeHead}
	if got := waitSeen(all + len(latest))[all:]; !slices.Equal(got, latest) {
		t.Fatalf("subscriptions of a refresh:\n got %q\nwant %q", got, latest)
	}
	all += len(latest)

	rec.CloseConnections() // the link reconnects and subscribes again, each with its QoS
	want := append(append(slices.Clone(whole), scope...), scopeHead)
	if got := waitSeen(all + len(want))[all:]; !sameSet(got, want) || got[len(got)-1] != scopeHead {
		t.Fatalf("subscriptions at the reconnect:\n got %q\nwant %q", got, want)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
