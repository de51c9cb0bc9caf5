package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/simulator/central"
	"github.com/borderpost/borderpost/simulator/rig"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// TestAgentsRefuseUnvouchedDeltas: running agents refuse, and audit, a
// delta signed by a working key whose delegation expired and one signed by
// a key the root never vouched for; the replica stays as it was, and a
// properly signed delta still applies after them.
func TestAgentsRefuseUnvouchedDeltas(t *testing.T) {
	root, rootPriv, _ := ed25519.GenerateKey(rand.Reader)
	signer := newDelegated(t, rootPriv, -time.Minute, time.Hour)
	broker := synctest.StartMosquitto(t)
	c := startCentral(t, central.Config{Broker: broker.URL(), Signer: signer})
	gen := watchlist.NewGenerator(31, watchlist.DefaultMix)
	first, err := c.Publish(gen.Alerts(50), nil)
	if err != nil {
		t.Fatal(err)
	}
	var agents []*rig.Agent
	for i := range 2 {
		a := startAgent(t, rig.AgentOptions{ID: fmt.Sprintf("post-keys-%d", i+1), Broker: broker.URL(), CentralKey: root, HitKey: c.HitPublicKey()})
		agents = append(agents, a)
		waitFor(t, 30*time.Second, a.Opts.ID+" holds delta 1", func() bool { s, err := a.Status(); return err == nil && s.Seq == 1 })
	}

	// The forger has central's broker access but not the root's blessing:
	// a delegation that expired yesterday, and a key vouched for by a root
	// the posts do not trust.
	_, otherRoot, _ := ed25519.GenerateKey(rand.Reader) // not the posts' root
	expired, unvouched := newDelegated(t, rootPriv, -48*time.Hour, -24*time.Hour), newDelegated(t, otherRoot, -time.Hour, time.Hour)
	forged := gen.Alerts(5)
	var d store.Digest
	d.Add("unused", 1)
	link, err := bpsync.Dial(bpsync.LinkConfig{Broker: broker.URL(), ClientID: "forger", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	waitFor(t, 10*time.Second, "forger connected", link.Connected)
	for _, s := range []*bpsync.Signer{expired, unvouched} {
		msg, _, err := s.Seal(bpsync.Delta{Binding: bpsync.Binding{Kind: bpsync.KindDelta, Stream: bpsync.StreamWhole}, Epoch: first.Epoch, Seq: 2, Prev: hex.EncodeToString(make([]byte, 32)), Digest: d.String(),
			Issued: time.Now().UTC(), Upserts: forged})
		if err != nil {
			t.Fatal(err)
		}
		if err := link.Publish(bpsync.TopicDelta, false, msg); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	// A genuine delta still applies.
	if _, err := c.Publish(gen.Alerts(3), nil); err != nil {
		t.Fatal(err)
	}
	want := c.Digest().String()
	for _, a := range agents {
		waitFor(t, 30*time.Second, a.Opts.ID+" holds central's list", func() bool { s, err := a.Status(); return err == nil && s.Digest == want })
		a.Stop()
		rep, err := a.OpenReplica(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range forged {
			if _, ok, _ := rep.Alert(f.ID); ok {
				t.Errorf("%s holds forged alert %s", a.Opts.ID, f.ID)
			}
		}
		var refusals []string
		rep.AuditRecords(context.Background(), func(r store.AuditRecord) error {
			if r.Event == store.EventDeltaRefused && strings.Contains(r.Detail, bpsync.ErrUntrustedKey.Error()) {
				refusals = append(refusals, r.Detail)
			}
			return nil
		})
		rep.Close()
		if len(refusals) != 2 {
			t.Errorf("%s audited %d refusals of untrusted keys, want 2: %v", a.Opts.ID, len(refusals), refusals)
		} else {
			t.Logf("%s refused: %s | %s", a.Opts.ID, refusals[0], refusals[1])
		}
	}
}

// newDelegated returns a fresh working key vouched for by rootPriv over
// the window from now+from to now+to.
func newDelegated(t *testing.T, rootPriv ed25519.PrivateKey, from, to time.Duration) *bpsync.Signer {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	s := bpsync.NewSigner(priv)
	cert, err := bpsync.Delegate(bpsync.NewSigner(rootPriv), pub, time.Now().Add(from), time.Now().Add(to))
	if err != nil {
		t.Fatal(err)
	}
	s.Cert = cert
	return s
}
