package load

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/borderpost/borderpost/simulator/central"
	"github.com/borderpost/borderpost/simulator/rig"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// The head reaches agents at QoS 0 (sync.Link.SubscribeLatest): one lost
// on the way is neither queued nor sent again. An agent that joins after
// central's deltas and loses the retained head its subscribe brought
// does not know it is behind; it still converges on central's digest,
// without a reconnect, because it subscribes to the head again
// (SessionConfig.LatestEvery) and the broker delivers the retained head
// once more. Run on Mosquitto and on NATS, whose MQTT layer must deliver
// retained messages again on a repeated SUBSCRIBE too.
func TestAgentMissingTheHeadConverges(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) string // host:port
	}{
		{"mosquitto", func(t *testing.T) string { return synctest.StartMosquitto(t).Addr() }},
		{"nats", func(t *testing.T) string { return synctest.StartNATS(t).Addr() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			log := slog.New(slog.DiscardHandler)
			addr := tc.start(t)
			pub, priv, _ := ed25519.GenerateKey(rand.Reader)
			c, err := central.Start(central.Config{Broker: "tcp://" + addr, Signer: bpsync.NewSigner(priv), Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			if err := rig.WaitUntil(ctx, 30*time.Second, c.Connected); err != nil {
				t.Fatalf("central: %v", err)
			}
			gen := watchlist.NewGenerator(7, watchlist.DefaultMix)
			for range 2 { // before the agent has a session: these reach it only by a replay
				if _, err := c.Publish(gen.Alerts(50), nil); err != nil {
					t.Fatal(err)
				}
			}
			var heads atomic.Int32
			proxy := synctest.StartDropProxy(t, addr, func(topic string, _ byte) bool {
				return topic == bpsync.TopicHead && heads.Add(1) == 1 // the first head delivered
			})
			key := make(memKey, store.DataKeySize)
			rand.Read(key)
			rep, err := store.Open(ctx, filepath.Join(t.TempDir(), "post.db"), key, store.Options{Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rep.Close() })
			s, err := bpsync.StartSession(ctx, bpsync.SessionConfig{Link: bpsync.LinkConfig{Broker: proxy.URL()}, Agent: "post-missed-head",
				Replica: rep, Verifier: bpsync.NewVerifier(pub), HitKey: c.HitPublicKey(), Logger: log, LatestEvery: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			want := c.Digest()
			if err := rig.WaitUntil(ctx, 30*time.Second, func() bool {
				cur, err := rep.Cursor()
				return err == nil && cur.Digest == want
			}); err != nil {
				cur, _ := rep.Cursor()
				t.Fatalf("agent at delta %d (%s), central at %d (%s); heads dropped: %d: %v", cur.Seq, cur.Digest, c.Seq(), want, len(proxy.Dropped()), err)
			}
			if len(proxy.Dropped()) != 1 {
				t.Fatalf("%d heads dropped, want 1: the agent converged without missing the head", len(proxy.Dropped()))
			}
			if n := s.Connects(); n != 1 {
				t.Errorf("%d connects; the head must come again without a reconnect", n)
			}
		})
	}
}
