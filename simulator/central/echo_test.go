package central

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	gosync "sync/atomic"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// After a delta central publishes its head again at each delay of
// HeadEchoes, so that agents whose broker node lost the delta and its
// head (QoS 0) with it learn that they are behind within seconds, not
// at the next periodic refresh; a newer delta starts the echoes again.
func TestHeadEchoedAfterADelta(t *testing.T) {
	broker := synctest.StartMosquitto(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var heads gosync.Int64
	watcher, err := bpsync.Dial(bpsync.LinkConfig{Broker: broker.URL(), ClientID: "watcher", Logger: quiet,
		Subscriptions: map[string]bpsync.Handler{bpsync.TopicHead: func(string, []byte) { heads.Add(1) }}})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	c, err := Start(Config{Broker: broker.URL(), Signer: bpsync.NewSigner(priv), Logger: quiet,
		HeadEchoes: []time.Duration{time.Second, 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !(c.Connected() && watcher.Connected()) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // the connect's own echoes are over
	heads.Store(0)
	a := store.Alert{ID: "SIS-A", Version: 1, Subject: store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU3054383"}}}
	if _, err := c.Publish([]store.Alert{a}, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if n := heads.Load(); n != 1 {
		t.Fatalf("%d heads half a second after the delta, want 1", n)
	}
	time.Sleep(2200 * time.Millisecond)
	if n := heads.Load(); n != 3 {
		t.Fatalf("%d heads within 2.7 s of the delta, want 3 (the head and two echoes)", n)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := heads.Load(); n != 3 {
		t.Fatalf("%d heads after the echoes, want 3: echoes only follow a delta or a connect", n)
	}
}
