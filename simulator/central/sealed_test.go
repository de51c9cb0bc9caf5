package central

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

type memKey []byte

func (k memKey) DataKey(context.Context) ([]byte, error) { return bytes.Clone(k), nil }

// While central is offline the broker queues an agent's hits, on disk:
// neither its persistence file nor anyone reading the hits topic sees a
// plate, container, name or document number. Central opens them with its
// hit key once back; with only a newer key (a rotation) it leaves them
// unacknowledged, so the agent keeps them, and opens them once given the
// previous key as well.
func TestHitsSealedEndToEnd(t *testing.T) {
	broker := synctest.StartMosquitto(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	oldKey, _ := bpsync.GenerateHitKey()
	newKey, _ := bpsync.GenerateHitKey()
	waitFor := func(what string, within time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(within)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	start := func(keys ...*bpsync.HitKey) *Central {
		c, err := Start(Config{Broker: broker.URL(), Signer: bpsync.NewSigner(priv), Logger: quiet, HitKeys: keys})
		if err != nil {
			t.Fatal(err)
		}
		waitFor("central connected", 10*time.Second, c.Connected)
		time.Sleep(200 * time.Millisecond) // its subscriptions in place
		return c
	}
	// Central's persistent session exists, then central goes offline.
	start(oldKey).Close()

	var mu gosync.Mutex
	var captured [][]byte
	spy, err := bpsync.Dial(bpsync.LinkConfig{Broker: broker.URL(), ClientID: "spy", Logger: quiet, Transient: true,
		Subscriptions: map[string]bpsync.Handler{"bp/v1/agents/+/hits": func(_ string, p []byte) {
			mu.Lock()
			captured = append(captured, bytes.Clone(p))
			mu.Unlock()
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer spy.Close()
	waitFor("spy connected", 10*time.Second, spy.Connected)

	rep, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "post.db"), memKey(bytes.Repeat([]byte{7}, store.DataKeySize)), store.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	s, err := bpsync.StartSession(context.Background(), bpsync.SessionConfig{Link: bpsync.LinkConfig{Broker: broker.URL()},
		Agent: "post-1", Replica: rep, Verifier: bpsync.NewVerifier(pub), HitKey: oldKey.Public(), ResendAfter: 500 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFor("agent connected", 10*time.Second, s.Connected)

	// Planted identifiers, one kind per hit.
	planted := []struct{ field, kind, value string }{
		{"plate", "vehicle", "B-MW4711"}, {"container", "container", "MSCU1234565"},
		{"name", "person", "Jovanka Petrovic"}, {"document", "person", "X4RTBPFW4"},
	}
	var hits []store.Hit
	for i, p := range planted {
		hits = append(hits, store.Hit{ID: fmt.Sprintf("hit-%d", i), CheckID: "chk-1", Time: time.Now(), Field: p.field, ItemKind: p.kind,
			Raw: p.value, Value: p.value, AlertID: fmt.Sprintf("AL-%d", i), AlertVersion: 1, Match: "exact", Score: 1,
			Explanation: "matched " + p.value})
	}
	if _, err := rep.Record(context.Background(), store.CheckRecord{ID: "chk-1", Device: "lane-1", Items: 4}, hits); err != nil {
		t.Fatal(err)
	}
	s.Notify()
	waitFor("hits published", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(captured) > 0 })
	time.Sleep(1500 * time.Millisecond) // the broker saves every second and on changes

	db, err := os.ReadFile(filepath.Join(broker.Dir, "data", "mosquitto.db"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(db, []byte("bp/v1/agents/post-1/hits")) {
		t.Fatalf("the broker's persistence file (%d bytes) holds no queued hit message: the test would prove nothing", len(db))
	}
	mu.Lock()
	wire := bytes.Join(captured, []byte("\n"))
	mu.Unlock()
	for _, p := range planted {
		if bytes.Contains(db, []byte(p.value)) {
			t.Errorf("%s %q is in clear in the broker's persistence file", p.field, p.value)
		}
		if bytes.Contains(wire, []byte(p.value)) {
			t.Errorf("%s %q is in clear on the hits topic", p.field, p.value)
		}
	}
	var m bpsync.HitMessage
	if err := json.Unmarshal(captured[0], &m); err != nil || m.Agent != "post-1" || m.KeyID != oldKey.ID() || m.First != 1 || m.Last != 4 || len(m.Hits) != 0 {
		t.Fatalf("hit message header: %+v %v", m, err)
	}

	// Rotated: central holds only the new key. Nothing is acknowledged.
	c := start(newKey)
	time.Sleep(1500 * time.Millisecond) // queued messages and a resend arrive
	if got := len(c.Hits("post-1")); got != 0 {
		t.Fatalf("central stored %d hits sealed to a key it does not hold", got)
	}
	if st, _ := rep.Outbox(); st.Depth != 4 {
		t.Fatalf("agent's outbox holds %d hits, want all 4 kept", st.Depth)
	}
	c.Close()

	// Given the previous key too, central opens and stores them.
	c = start(newKey, oldKey)
	defer c.Close()
	waitFor("hits stored and acknowledged", 15*time.Second, func() bool {
		st, _ := rep.Outbox()
		return len(c.Hits("post-1")) == 4 && st.Depth == 0
	})
	got := map[string]string{}
	for _, h := range c.Hits("post-1") {
		got[h.Field] = h.Value
	}
	for _, p := range planted {
		if got[p.field] != p.value {
			t.Errorf("central holds %s %q, want %q", p.field, got[p.field], p.value)
		}
	}
}
