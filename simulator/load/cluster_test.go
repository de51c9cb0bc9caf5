package load

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/simulator/central"
	"github.com/borderpost/borderpost/simulator/rig"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// clusterFleet is central and a few agents on a three-node NATS cluster
// with JetStream: central on the first node, the agents on the other two.
type clusterFleet struct {
	t       *testing.T
	cluster *synctest.NATSCluster
	central *central.Central
	agents  []*Agent
	node    []int // the node each agent connects to

	mu     sync.Mutex
	stored map[string]bool // hit IDs central stored
}

func startClusterFleet(t *testing.T, perNode int) *clusterFleet {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	f := &clusterFleet{t: t, cluster: synctest.StartNATSCluster(t), stored: map[string]bool{}}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	c, err := central.Start(central.Config{Broker: f.cluster.Nodes[0].URL(), Signer: bpsync.NewSigner(priv), Logger: log,
		OnHit: func(_ string, h store.Hit) {
			f.mu.Lock()
			f.stored[h.ID] = true
			f.mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	f.central = c
	t.Cleanup(c.Close)
	if err := rig.WaitUntil(ctx, 30*time.Second, c.Connected); err != nil {
		t.Fatalf("central on node 1: %v", err)
	}
	dir := t.TempDir()
	for node := 1; node < 3; node++ {
		for i := range perNode {
			// A node killed in a delta's fan-out can lose the delta for
			// an agent on it while the head reaches it: the agent then
			// waits NextDeltaWait for the delta before it asks central
			// (5 minutes in the field). The waits below are a minute.
			a, err := startAgent(ctx, dir, fmt.Sprintf("post-n%d-%d", node+1, i), f.cluster.Nodes[node].URL(), pub, c.HitPublicKey(), log, agentOptions{nextDeltaWait: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(a.Close)
			f.agents, f.node = append(f.agents, a), append(f.node, node)
		}
	}
	f.waitFor(30*time.Second, "agents connected", func() bool {
		for _, a := range f.agents {
			if !a.Session.Connected() {
				return false
			}
		}
		return true
	})
	return f
}

func (f *clusterFleet) waitFor(within time.Duration, what string, cond func() bool) {
	f.t.Helper()
	if err := rig.WaitUntil(context.Background(), within, cond); err != nil {
		f.t.Fatalf("%s: %v", what, err)
	}
}

// waitDigest waits until every agent holds central's digest.
func (f *clusterFleet) waitDigest(within time.Duration, what string) {
	f.t.Helper()
	want := f.central.Digest()
	if _, err := waitAll(context.Background(), f.agents, want, within); err != nil {
		for i, a := range f.agents {
			cur, _ := a.Replica.Cursor()
			f.t.Logf("%s (node %d): seq %d digest %s", a.ID, f.node[i]+1, cur.Seq, cur.Digest)
		}
		f.t.Fatalf("%s: %v (central at %d, %s)", what, err, f.central.Seq(), want)
	}
}

// recordHits has every agent record n checks with one hit each, spaced by
// every, and returns the IDs of the hits the agents answered.
func (f *clusterFleet) recordHits(n int, every time.Duration) []string {
	f.t.Helper()
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	for _, a := range f.agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				chk := fmt.Sprintf("chk-%s-%d", a.ID, i)
				h := store.Hit{ID: fmt.Sprintf("hit-%s-%d", a.ID, i), CheckID: chk, AlertID: "A00000001", Time: time.Now(), Field: "plate", Value: "KA123BC"}
				out, err := a.Replica.Record(context.Background(), store.CheckRecord{ID: chk, Device: "lane-1", Items: 1}, []store.Hit{h})
				if err != nil {
					f.t.Error(err)
					return
				}
				a.Session.Notify()
				mu.Lock()
				ids = append(ids, out[0].ID)
				mu.Unlock()
				time.Sleep(every)
			}
		}()
	}
	wg.Wait()
	return ids
}

// reconnected checks that every agent on node lost its link and came
// back: the kill was felt.
func (f *clusterFleet) reconnected(node int) {
	f.t.Helper()
	for i, a := range f.agents {
		if f.node[i] == node && a.Session.Connects() < 2 {
			f.t.Errorf("%s on node %d connected %d times: the node's kill did not reach it", a.ID, node+1, a.Session.Connects())
		}
	}
}

// waitStored waits until central stored every hit and every outbox is
// empty (central's acknowledgements came back).
func (f *clusterFleet) waitStored(ids []string, within time.Duration) {
	f.t.Helper()
	missing := func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		n := 0
		for _, id := range ids {
			if !f.stored[id] {
				n++
			}
		}
		return n
	}
	err := rig.WaitUntil(context.Background(), within, func() bool {
		if missing() > 0 {
			return false
		}
		for _, a := range f.agents {
			if ob, _ := a.Replica.Outbox(); ob.Depth > 0 {
				return false
			}
		}
		return true
	})
	if err != nil {
		for _, a := range f.agents {
			ob, _ := a.Replica.Outbox()
			f.t.Logf("%s: outbox %d, connected %v", a.ID, ob.Depth, a.Session.Connected())
		}
		f.t.Fatalf("%d of %d hits answered to devices never stored at central, or not acknowledged: %v", missing(), len(ids), err)
	}
}

// Agents and central on different nodes of a three-node NATS cluster: a
// delta reaches every agent and hits reach central. Then, with a node
// SIGKILLed and restarted during a stream of hits (the node of half the
// agents) and during a delta's fan-out (the same, then the central's),
// no hit is lost and every agent ends on central's digest.
func TestClusterFleetSurvivesNodeKill(t *testing.T) {
	began := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }
	f := startClusterFleet(t, 3)
	phase("cluster, central and 6 agents up")
	gen := watchlist.NewGenerator(5, watchlist.DefaultMix)
	base := gen.Alerts(2000)
	if _, err := f.central.Publish(base, nil); err != nil {
		t.Fatal(err)
	}
	f.waitDigest(60*time.Second, "first watch list on every agent")
	phase("first watch list on every agent")
	f.waitStored(f.recordHits(20, 0), 30*time.Second)
	phase("first hits stored")

	// A stream of hits, node 2 killed in the middle of it.
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		time.Sleep(300 * time.Millisecond)
		f.cluster.Nodes[1].Kill()
		time.Sleep(1500 * time.Millisecond)
		f.cluster.Nodes[1].Restart()
	}()
	ids := f.recordHits(60, 40*time.Millisecond)
	<-killed
	f.waitStored(ids, 60*time.Second)
	f.reconnected(1)
	phase("hits recorded across node 2's kill stored")

	// A delta's fan-out, node 3 killed right after central published it.
	ups := gen.Alerts(3000)
	var dels []string
	for _, a := range base[:1000] {
		dels = append(dels, a.ID)
	}
	if _, err := f.central.Publish(ups, dels); err != nil {
		t.Fatal(err)
	}
	f.cluster.Nodes[2].Kill()
	time.Sleep(1500 * time.Millisecond)
	f.cluster.Nodes[2].Restart()
	f.waitDigest(60*time.Second, "delta published while node 3 died")
	f.reconnected(2)
	phase("delta across node 3's kill held by every agent")

	// Central's own node killed during a delta's fan-out.
	if _, err := f.central.Publish(gen.Alerts(1000), nil); err != nil {
		t.Fatal(err)
	}
	f.cluster.Nodes[0].Kill()
	time.Sleep(1500 * time.Millisecond)
	f.cluster.Nodes[0].Restart()
	f.waitDigest(60*time.Second, "delta published while central's node died")
	phase("delta across central's node's kill held by every agent")
	f.waitStored(f.recordHits(10, 0), 30*time.Second)
}

// Central's node is down when central publishes a delta: Publish keeps
// trying until the node is back (it used to fail at once), the delta goes
// out, then its head, and every agent, on the other nodes, holds it
// without having to ask central for a replay.
func TestClusterCentralPublishSurvivesItsNodeRestart(t *testing.T) {
	f := startClusterFleet(t, 1)
	gen := watchlist.NewGenerator(7, watchlist.DefaultMix)
	if _, err := f.central.Publish(gen.Alerts(200), nil); err != nil {
		t.Fatal(err)
	}
	f.waitDigest(60*time.Second, "first watch list on every agent")
	resyncs := f.central.Stats().Resyncs

	f.cluster.Nodes[0].Kill()
	f.waitFor(10*time.Second, "central sees its node down", func() bool { return !f.central.Connected() })
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		time.Sleep(2 * time.Second)
		f.cluster.Nodes[0].Restart()
	}()
	d, err := f.central.Publish(gen.Alerts(300), nil)
	if err != nil {
		t.Fatalf("delta published while central's node restarts: %v", err)
	}
	<-restarted
	if d.Seq != 2 || f.central.Seq() != 2 {
		t.Fatalf("published delta %d, central at %d; want 2", d.Seq, f.central.Seq())
	}
	f.waitDigest(60*time.Second, "delta published across central's node restart")
	for _, a := range f.agents {
		if h := a.Session.Head(); h.Seq != 2 || h.Digest != f.central.Digest().String() {
			t.Errorf("%s holds head %d %s, want central's head 2 %s", a.ID, h.Seq, h.Digest, f.central.Digest())
		}
	}
	if n := f.central.Stats().Resyncs - resyncs; n != 0 {
		t.Errorf("%d agents had to ask for the delta again: it was not delivered before its head", n)
	}
}
