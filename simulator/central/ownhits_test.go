package central

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
)

// Central started without a HitStore stores and acknowledges hits through
// one of its own on disk, the same code as with a configured one, and
// removes it when it closes.
func TestCentralWithoutHitStoreUsesOneOnDisk(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	c, err := Start(Config{Broker: "tcp://127.0.0.1:1", Signer: bpsync.NewSigner(priv),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if c.hits == nil || c.ownHits == "" {
		t.Fatal("central without a configured HitStore has none of its own")
	}
	dir := c.ownHits
	msg := func(floor uint64, hits ...store.Hit) {
		m, err := bpsync.SealHits(c.HitPublicKey(), "post-1", floor, hits)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(m)
		c.handleHit(bpsync.AgentTopic("post-1", "hits"), b)
	}
	msg(1, store.Hit{ID: "h1", Seq: 1, AlertID: "A"}, store.Hit{ID: "h3", Seq: 3, AlertID: "A"})
	msg(1, store.Hit{ID: "h1", Seq: 1, AlertID: "A"}) // sent again
	if got := c.Hits("post-1"); len(got) != 2 || got[0].ID != "h1" || got[1].ID != "h3" {
		t.Fatalf("hits %+v; want h1 and h3 once each", got)
	}
	st := c.Stats()
	if st.Stored != 2 || st.Duplicates != 1 {
		t.Errorf("stats %+v; want 2 stored, 1 duplicate", st)
	}
	// The acknowledgement cursor is the store's, on disk: up to 1, as 2
	// is missing.
	_, _, _, upto, err := c.hits.Store("post-1", 0, []store.Hit{{ID: "h1", Seq: 1}})
	if err != nil || upto != 1 {
		t.Errorf("store's cursor %d, %v; want 1", upto, err)
	}
	c.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("central's own hit store %s is still on disk after Close (%v)", dir, err)
	}
}
