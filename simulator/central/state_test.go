package central

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// A central restarted on its state goes on from the sequence, chain and
// digest it stopped at, still replays its history, and brings a scope
// whose rule changed in step with the next change.
func TestStateSurvivesRestart(t *testing.T) {
	broker := synctest.StartMosquitto(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer := bpsync.NewSigner(priv)
	path := filepath.Join(t.TempDir(), "central.db")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	vehicles := []bpsync.Scope{{Name: "road", Rule: bpsync.ScopeRule{Subjects: []store.SubjectKind{store.SubjectVehicle}}}}
	car := func(id string, v uint64, purposes ...string) store.Alert {
		return store.Alert{ID: id, Version: v, Purposes: purposes,
			Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: id}}}
	}
	c, st := startAgain(t, path, broker.URL(), signer, quiet, vehicles)
	if _, err := c.Publish([]store.Alert{car("V1", 1, "customs"), car("V2", 1, "police")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish([]store.Alert{car("V3", 1, "customs")}, []string{"V2"}); err != nil {
		t.Fatal(err)
	}
	seq, digest, last := c.Seq(), c.Digest(), c.whole.last
	c.Close()
	st.Close()

	// Restart with the road scope narrowed to customs vehicles.
	narrowed := []bpsync.Scope{{Name: "road", Rule: bpsync.ScopeRule{Subjects: []store.SubjectKind{store.SubjectVehicle}, Purposes: []string{"customs"}}}}
	c, st = startAgain(t, path, broker.URL(), signer, quiet, narrowed)
	defer st.Close()
	defer c.Close()
	if c.Seq() != seq || c.Digest() != digest {
		t.Fatalf("restarted at %d %s, stopped at %d %s", c.Seq(), c.Digest(), seq, digest)
	}
	if len(c.whole.history) != 2 {
		t.Errorf("history of %d deltas after restart, want 2", len(c.whole.history))
	}
	d, err := c.Publish([]store.Alert{car("V4", 1, "police")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Seq != seq+1 || d.Prev != hex.EncodeToString(last[:]) {
		t.Errorf("next delta is %d chained to %s; want %d chained to the last one before the restart", d.Seq, d.Prev, seq+1)
	}
	_, _, ids, _ := c.ScopeState("road")
	if !slices.Equal(ids, []string{"V1", "V3"}) {
		t.Errorf("road scope after its rule narrowed holds %v, want [V1 V3]", ids)
	}
	if _, changed, err := c.PublishList([]store.Alert{car("V1", 1, "customs"), car("V3", 1, "customs"), car("V4", 1, "police")}); err != nil || changed {
		t.Errorf("publishing the list held: changed %v, %v; want nothing published", changed, err)
	}
	d, changed, err := c.PublishList([]store.Alert{car("V1", 2, "police"), car("V4", 1, "police")})
	if err != nil || !changed || len(d.Upserts) != 1 || !slices.Equal(d.Deletes, []string{"V3"}) {
		t.Errorf("list diff published as %d upserts, deletes %v (%v, %v)", len(d.Upserts), d.Deletes, changed, err)
	}
}

func startAgain(t *testing.T, path, broker string, signer *bpsync.Signer, log *slog.Logger, scopes []bpsync.Scope) (*Central, *State) {
	t.Helper()
	st, err := OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Start(Config{Broker: broker, Signer: signer, Logger: log, State: st, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !c.Connected() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return c, st
}
