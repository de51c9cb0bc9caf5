package central

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	gosync "sync/atomic"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// TestReplaysLimitedPerAgent: an agent that keeps asking for the same
// replay (it cannot apply it: its disk is full) gets it once per window,
// not once per request, while a request for another range is answered at
// once; the bytes replayed are counted.
func TestReplaysLimitedPerAgent(t *testing.T) {
	broker := synctest.StartMosquitto(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var deltas gosync.Int64
	agent, err := bpsync.Dial(bpsync.LinkConfig{Broker: broker.URL(), ClientID: "post-1", Logger: quiet,
		Subscriptions: map[string]bpsync.Handler{bpsync.AgentTopic("post-1", "deltas"): func(string, []byte) { deltas.Add(1) }}})
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	c, err := Start(Config{Broker: broker.URL(), Signer: bpsync.NewSigner(priv), Logger: quiet, ReplayWindow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !(c.Connected() && agent.Connected()) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // central's subscriptions in place
	for i := range 3 {
		a := store.Alert{ID: "SIS-" + string(rune('A'+i)), Version: 1, Subject: store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU3054383"}}}
		if _, err := c.Publish([]store.Alert{a}, nil); err != nil {
			t.Fatal(err)
		}
	}
	ask := func(seq uint64) {
		b, _ := json.Marshal(bpsync.Resync{Agent: "post-1", Epoch: 1, Seq: seq})
		if err := agent.Publish(bpsync.AgentTopic("post-1", "resync"), false, b); err != nil {
			t.Fatal(err)
		}
	}
	settle := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for deltas.Load() < want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // nothing more arrives
		if got := deltas.Load(); got != want {
			t.Fatalf("%d deltas replayed, want %d", got, want)
		}
	}
	for range 10 {
		ask(0)
	}
	settle(3)
	st := c.Stats()
	if st.ReplaysLimited != 9 || st.Resyncs != 1 || st.ReplayBytes <= 0 {
		t.Fatalf("after 10 requests for the same replay: %+v; want 1 answered, 9 limited, bytes counted", st)
	}
	ask(2) // another range: answered at once
	settle(4)
}
