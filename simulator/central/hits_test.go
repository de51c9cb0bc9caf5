package central

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// Central with a hit store acknowledges hits once they are on disk, keeps
// them across a restart (a hit sent again is a duplicate, acknowledged
// again), and exports them with the officers' outcomes joined.
func TestDurableHitsAcrossRestart(t *testing.T) {
	broker := synctest.StartMosquitto(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	verifier := bpsync.NewVerifier(pub)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	path := filepath.Join(t.TempDir(), "hits.db")
	hitKey, err := bpsync.GenerateHitKey()
	if err != nil {
		t.Fatal(err)
	}
	var mu gosync.Mutex
	var acks []uint64
	agent, err := bpsync.Dial(bpsync.LinkConfig{Broker: broker.URL(), ClientID: "post-1", Logger: quiet,
		Subscriptions: map[string]bpsync.Handler{bpsync.AgentTopic("post-1", "acks"): func(_ string, p []byte) {
			var a bpsync.Ack
			if _, err := verifier.Open(p, bpsync.Binding{Kind: bpsync.KindAck, To: "post-1"}, &a); err != nil || a.Outbox != "run-1" {
				t.Errorf("ack refused (%v) or for outbox %q, want run-1", err, a.Outbox)
				return
			}
			mu.Lock()
			acks = append(acks, a.Upto)
			mu.Unlock()
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	lastAck := func(want uint64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			// Acknowledgements of concurrent messages may cross; the
			// agent keeps the highest.
			mu.Lock()
			got := uint64(0)
			for _, a := range acks {
				got = max(got, a)
			}
			mu.Unlock()
			if got == want {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no acknowledgement up to %d (got %v)", want, acks)
	}
	start := func() (*Central, *HitStore) {
		hs, err := OpenHitStore(path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Start(Config{Broker: broker.URL(), Signer: bpsync.NewSigner(priv), Logger: quiet, Hits: hs, HitKeys: []*bpsync.HitKey{hitKey}})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !(c.Connected() && agent.Connected()) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // central's subscriptions in place
		return c, hs
	}
	send := func(floor uint64, hits ...store.Hit) {
		m, err := bpsync.SealHits(hitKey.Public(), "post-1", floor, hits)
		if err != nil {
			t.Fatal(err)
		}
		m.Outbox = "run-1"
		b, _ := json.Marshal(m)
		if err := agent.Publish(bpsync.AgentTopic("post-1", "hits"), false, b); err != nil {
			t.Fatal(err)
		}
	}
	hit := func(seq uint64, id string) store.Hit {
		return store.Hit{ID: id, Seq: seq, CheckID: "chk-" + id, AlertID: "SIS-1", AlertVersion: 1, Field: "plate", Match: "exact", Score: 1}
	}

	c, hs := start()
	send(1, hit(1, "h1"), hit(2, "h2"))
	lastAck(2)
	c.Close()
	hs.Close()

	c, hs = start()
	defer hs.Close()
	defer c.Close()
	// The agent did not see the ack, and sends again; then more.
	send(1, hit(1, "h1"), hit(2, "h2"))
	lastAck(2)
	send(1, hit(3, "h3"), store.Hit{ID: "o1", Seq: 4, Outcome: &store.Outcome{ID: "o1", HitID: "h2", Outcome: "confirmed", Officer: "anna"}})
	lastAck(4)
	if st := c.Stats(); st.Duplicates != 2 || st.Stored != 1 || st.Outcomes != 1 {
		t.Errorf("after restart: %+v; want 2 duplicates, 1 new hit, 1 outcome", st)
	}
	if got := len(c.Hits("post-1")); got != 3 {
		t.Errorf("%d hits stored for post-1, want 3", got)
	}
	var out bytes.Buffer
	n, err := hs.Export(context.Background(), &out, "")
	if err != nil || n != 3 {
		t.Fatalf("export: %d lines, %v", n, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.Contains(lines[1], `"h2"`) || !strings.Contains(lines[1], `"confirmed"`) {
		t.Errorf("h2's line does not carry its outcome: %s", lines[1])
	}
}
