package sync

import (
	"crypto/ed25519"
	gosync "sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
)

// TestHeadOvertakingItsDeltaAsksNoReplay: central publishes a delta and
// then its head; the head is handled first (it is small, the delta is
// still waiting or being verified). The agent must not ask central to
// replay the delta it is about to apply: with a large delta and a fleet,
// every such replay doubles the fan-out. A head whose delta was really
// lost still brings a resync, once the grace has passed.
func TestHeadOvertakingItsDeltaAsksNoReplay(t *testing.T) {
	f := newFeed()
	pub := f.signer.Key.Public().(ed25519.PublicKey)
	gate := NewApplyGate(1)
	var mu gosync.Mutex
	var resyncs []store.Cursor
	w := NewWatchlist(WatchlistConfig{Replica: openReplica(t), Verifier: NewVerifier(pub), Logger: quiet, Agent: "a1",
		Resync:   func(c store.Cursor) { mu.Lock(); resyncs = append(resyncs, c); mu.Unlock() },
		GapGrace: 100 * time.Millisecond, NextDeltaWait: 100 * time.Millisecond, Gate: gate})
	asked := func() int { mu.Lock(); defer mu.Unlock(); return len(resyncs) }
	w.HandleDelta("t", f.next(t, []store.Alert{container("A", "CSQU3054383", 1)}, nil))
	w.HandleHead("h", f.headMsg(t, 1))

	// Delta 2 waits at the gate (another agent of the process is
	// applying) while its head arrives; then the same with the delta not
	// yet at its handler at all.
	d2 := f.next(t, []store.Alert{container("B", "TCNU7200794", 1)}, nil)
	gate.enter()
	applied := make(chan struct{})
	go func() { w.HandleDelta("t", d2); close(applied) }()
	for w.inflight.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	w.HandleHead("h", f.headMsg(t, 2))
	w.Tick() // the status ticker, while the delta still waits
	time.Sleep(300 * time.Millisecond)
	if n := asked(); n != 0 {
		t.Fatalf("%d resyncs asked while the delta the head follows was being handled, want none", n)
	}
	gate.leave()
	<-applied
	d3 := f.next(t, []store.Alert{container("C", "TOLU4734787", 1)}, nil)
	w.HandleHead("h", f.headMsg(t, 3))
	w.HandleDelta("t", d3)
	time.Sleep(300 * time.Millisecond)
	if n := asked(); n != 0 {
		t.Fatalf("%d resyncs asked for a delta that arrived just after its head, want none", n)
	}
	if cur, _ := w.rep.Cursor(); cur.Seq != 3 {
		t.Fatalf("replica at delta %d, want 3", cur.Seq)
	}

	// Delta 4 is lost: its head alone arrives. The agent asks, after the
	// grace, from its cursor.
	f.next(t, []store.Alert{container("D", "MSKU9070323", 1)}, nil)
	w.HandleHead("h", f.headMsg(t, 4))
	deadline := time.Now().Add(5 * time.Second)
	for asked() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := asked(); n != 1 || resyncs[0].Seq != 3 {
		t.Fatalf("after a head whose delta was lost: %d resyncs (%v), want one from delta 3", n, resyncs)
	}
}

// A head one delta ahead of the replica, whose delta has not reached its
// handler, asks no replay for NextDeltaWait, the status ticker's Ticks
// included: the head comes at QoS 0 and its large delta at QoS 1, and a
// broker fanning that delta out to many agents hands each the head first
// (300 agents on a NATS cluster: 51 replays, 99 MB, of a delta every one
// of them was about to receive). Once the wait is over it asks.
func TestHeadAheadOfItsDeltaWaitsForIt(t *testing.T) {
	f := newFeed()
	var mu gosync.Mutex
	var resyncs []store.Cursor
	w := NewWatchlist(WatchlistConfig{Replica: openReplica(t), Verifier: NewVerifier(f.signer.Key.Public().(ed25519.PublicKey)), Logger: quiet,
		Agent: "a1", Resync: func(c store.Cursor) { mu.Lock(); resyncs = append(resyncs, c); mu.Unlock() }, NextDeltaWait: 3 * time.Second})
	asked := func() int { mu.Lock(); defer mu.Unlock(); return len(resyncs) }
	w.HandleDelta("t", f.next(t, []store.Alert{container("A", "CSQU3054383", 1)}, nil))
	w.HandleHead("h", f.headMsg(t, 1))                              // the head in force
	f.next(t, []store.Alert{container("B", "TCNU7200794", 1)}, nil) // on its way, not here yet
	w.HandleHead("h", f.headMsg(t, 2))
	for range 5 {
		w.Tick() // the status ticker
		time.Sleep(400 * time.Millisecond)
	}
	if n := asked(); n != 0 {
		t.Fatalf("%d replays asked within 2 s of a head one delta ahead, want none before NextDeltaWait", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for asked() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(resyncs) != 1 || resyncs[0].Seq != 1 {
		t.Fatalf("after NextDeltaWait without the delta: %d replays asked (%v), want one from delta 1", len(resyncs), resyncs)
	}
}

// Central re-issues the head in force (a new expiry) from time to time:
// the wait for the head's delta runs from the first head of its
// sequence, so a re-issue does not put the replay of a lost delta off.
func TestReissuedHeadKeepsTheWaitForItsDelta(t *testing.T) {
	f := newFeed()
	var mu gosync.Mutex
	var asked []time.Time
	w := NewWatchlist(WatchlistConfig{Replica: openReplica(t), Verifier: NewVerifier(f.signer.Key.Public().(ed25519.PublicKey)), Logger: quiet,
		Agent: "a1", Resync: func(store.Cursor) { mu.Lock(); asked = append(asked, time.Now()); mu.Unlock() }, NextDeltaWait: 3 * time.Second})
	w.HandleDelta("t", f.next(t, []store.Alert{container("A", "CSQU3054383", 1)}, nil))
	w.HandleHead("h", f.headMsg(t, 1))
	f.next(t, []store.Alert{container("B", "TCNU7200794", 1)}, nil) // lost
	first := time.Now()
	w.HandleHead("h", f.headMsg(t, 2))
	time.Sleep(1500 * time.Millisecond)
	w.HandleHead("h", f.headMsg(t, 2)) // re-issued
	time.Sleep(time.Second)
	w.HandleHead("h", f.headMsg(t, 2)) // and again
	n := func() int { mu.Lock(); defer mu.Unlock(); return len(asked) }
	for deadline := time.Now().Add(6 * time.Second); n() == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) == 0 {
		t.Fatal("no replay asked for the lost delta")
	}
	if after := asked[0].Sub(first); after > 4500*time.Millisecond {
		t.Fatalf("replay asked %v after the first head of its sequence, want NextDeltaWait (3 s) from it, not from the last re-issue", after.Round(time.Millisecond))
	}
}

// A delta refused after a head one delta ahead may have been that very
// delta: the agent asks for a replay at once, not after NextDeltaWait.
func TestRefusedDeltaEndsTheWaitForIt(t *testing.T) {
	f := newFeed()
	var mu gosync.Mutex
	var resyncs []store.Cursor
	w := NewWatchlist(WatchlistConfig{Replica: openReplica(t), Verifier: NewVerifier(f.signer.Key.Public().(ed25519.PublicKey)), Logger: quiet,
		Agent: "a1", Resync: func(c store.Cursor) { mu.Lock(); resyncs = append(resyncs, c); mu.Unlock() }, NextDeltaWait: time.Hour})
	w.HandleDelta("t", f.next(t, []store.Alert{container("A", "CSQU3054383", 1)}, nil))
	w.HandleHead("h", f.headMsg(t, 1))
	d2 := f.next(t, []store.Alert{container("B", "TCNU7200794", 1)}, nil)
	w.HandleHead("h", f.headMsg(t, 2))
	w.Tick()
	mu.Lock()
	if len(resyncs) != 0 {
		t.Fatalf("%d replays asked while the head's delta may be on its way, want none", len(resyncs))
	}
	mu.Unlock()
	w.HandleDelta("t", append(d2[:len(d2)-8:len(d2)-8], "garbage}"...)) // damaged on the way: refused
	w.Tick()
	mu.Lock()
	defer mu.Unlock()
	if len(resyncs) != 1 || resyncs[0].Seq != 1 {
		t.Fatalf("after the delta was refused: %d replays asked (%v), want one from delta 1 at once", len(resyncs), resyncs)
	}
}

// The first head since the agent started waits GapGrace only for its
// delta: whatever the persistent session held came at the connect, so a
// head one delta ahead then means the delta was lost (refused by the run
// before a restart, say) and the agent asks soon.
func TestFirstHeadSinceStartWaitsGapGraceOnly(t *testing.T) {
	f := newFeed()
	rep := openReplica(t)
	key := f.signer.Key.Public().(ed25519.PublicKey)
	first := NewWatchlist(WatchlistConfig{Replica: rep, Verifier: NewVerifier(key), Logger: quiet, Agent: "a1", Resync: func(store.Cursor) {}})
	first.HandleDelta("t", f.next(t, []store.Alert{container("A", "CSQU3054383", 1)}, nil))
	first.Stop()
	f.next(t, []store.Alert{container("B", "TCNU7200794", 1)}, nil) // lost before the restart
	var mu gosync.Mutex
	var resyncs []store.Cursor
	w := NewWatchlist(WatchlistConfig{Replica: rep, Verifier: NewVerifier(key), Logger: quiet, Agent: "a1",
		Resync: func(c store.Cursor) { mu.Lock(); resyncs = append(resyncs, c); mu.Unlock() }, GapGrace: 200 * time.Millisecond, NextDeltaWait: time.Hour})
	w.HandleHead("h", f.headMsg(t, 2)) // retained, at the connect
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(resyncs)
		mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(resyncs) != 1 || resyncs[0].Seq != 1 {
		t.Fatalf("first head since start one delta ahead: %d replays asked within 3 s (%v), want one from delta 1 after GapGrace", len(resyncs), resyncs)
	}
}
