package sync

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
	"github.com/borderpost/borderpost/sync/synctest"
)

// headMsg is a signed head naming seq, valid for an hour.
func (f *feed) headMsg(t *testing.T, seq uint64) []byte {
	t.Helper()
	msg, _, err := f.signer.Seal(Head{Binding: Binding{Kind: KindHead, Stream: StreamWhole}, Epoch: 1, Seq: seq, Digest: f.digest.String(), Issued: time.Now(), Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// simulateTicks runs the watch list's Tick once a second for d of
// simulated time, moving its last request and its head's arrival back
// instead of sleeping, and returns the number of resync requests made.
func simulateTicks(w *watch, d time.Duration) int {
	before := len(w.resyncs)
	for range int(d / time.Second) {
		w.mu.Lock()
		w.lastResync = w.lastResync.Add(-time.Second)
		w.headAt = w.headAt.Add(-time.Second)
		w.mu.Unlock()
		w.Tick()
	}
	return len(w.resyncs) - before
}

// TestResyncBacksOffWithoutProgress: a replica behind central's head that
// cannot catch up asks for a resync with a growing, capped, jittered
// interval (not every 5 seconds for ever), and asks promptly again once
// its cursor moves.
func TestResyncBacksOffWithoutProgress(t *testing.T) {
	rep := openReplica(t)
	f := newFeed()
	w := newWatch(t, rep, f.signer.Key.Public().(ed25519.PublicKey))
	w.HandleDelta("t", f.next(t, []store.Alert{container("A", "CSQU3054383", 1)}, nil))
	d2 := f.next(t, []store.Alert{container("B", "TCNU7200794", 1)}, nil)
	f.next(t, []store.Alert{container("C", "TOLU4734787", 1)}, nil)
	w.HandleHead("h", f.headMsg(t, 3)) // behind: asks at once
	if len(w.resyncs) != 1 {
		t.Fatalf("%d resyncs after a head ahead of the replica, want 1", len(w.resyncs))
	}
	// Central's replays never arrive (or never apply): 30 minutes.
	n := simulateTicks(w, 30*time.Minute)
	if n > 16 || n < 6 {
		t.Fatalf("%d resync requests in 30 minutes without progress; want the backoff's 6 to 16 (a request every 5s is 360)", n)
	}
	if w.resyncWait > resyncMax || w.resyncWait < resyncMax/2 {
		t.Fatalf("backoff at %s after 30 minutes, want capped near %s", w.resyncWait, resyncMax)
	}
	// Jitter: two posts that failed together do not ask together.
	other := newWatch(t, openReplica(t), f.signer.Key.Public().(ed25519.PublicKey))
	other.HandleHead("h", f.headMsg(t, 3))
	simulateTicks(other, 3*time.Minute)
	w2 := newWatch(t, openReplica(t), f.signer.Key.Public().(ed25519.PublicKey))
	w2.HandleHead("h", f.headMsg(t, 3))
	simulateTicks(w2, 3*time.Minute)
	if other.resyncWait == w2.resyncWait {
		t.Errorf("two posts backed off to the same %s: no jitter", w2.resyncWait)
	}
	// Progress resets the backoff.
	w.HandleDelta("t", d2)
	before := len(w.resyncs)
	simulateTicks(w, 6*time.Second)
	if len(w.resyncs) == before {
		t.Fatal("no resync within 6s of progress: the backoff was not reset")
	}
}

// TestBehindWithoutProgressIsStale: a replica behind central's head that
// cannot apply what central sends is stale after a short grace, whatever
// the cause, and the reason names it; catching up clears the alarm.
func TestBehindWithoutProgressIsStale(t *testing.T) {
	rep := openReplica(t)
	f := newFeed()
	w := newWatch(t, rep, f.signer.Key.Public().(ed25519.PublicKey))
	w.HandleDelta("t", f.next(t, []store.Alert{container("A", "CSQU3054383", 1)}, nil))
	good := &feed{signer: f.signer, digest: f.digest, prev: f.prev, seq: f.seq, have: maps.Clone(f.have)}
	f.digest.Add("phantom", 1) // delta 2 announces a digest the replica cannot reach
	bad := f.next(t, []store.Alert{container("B", "TCNU7200794", 1)}, nil)
	w.HandleHead("h", f.headMsg(t, 2))
	w.HandleDelta("t", bad)
	now := time.Now()
	if fr := w.Freshness(now, time.Hour); fr.Stale {
		t.Fatalf("stale within the grace: %s", fr.Reason)
	}
	fr := w.Freshness(now.Add(31*time.Second), time.Hour)
	if !fr.Stale || !strings.Contains(fr.Reason, "behind central (delta 1 of 2)") || !strings.Contains(fr.Reason, "digest") {
		t.Fatalf("replica behind the head for 31s without progress: %+v", fr)
	}
	// The genuine delta 2 arrives: current again.
	w.HandleDelta("t", good.next(t, []store.Alert{container("B", "TCNU7200794", 1)}, nil))
	if fr := w.Freshness(time.Now().Add(31*time.Second), time.Hour); fr.Stale {
		t.Fatalf("caught-up replica still stale: %s", fr.Reason)
	}
}

// TestFullDiskReplicaIsStaleAndBacksOff: on a full disk the replica
// cannot apply central's deltas; it is reported stale with the disk named
// as the cause, and it does not ask for the same replay every 5 seconds.
func TestFullDiskReplicaIsStaleAndBacksOff(t *testing.T) {
	disk := synctest.SmallDisk(t, "8m")
	key := make(staticKey, store.DataKeySize)
	rep, err := store.Open(context.Background(), filepath.Join(disk, "r.db"), key, store.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rep.Close() })
	f := newFeed()
	w := newWatch(t, rep, f.signer.Key.Public().(ed25519.PublicKey))
	w.HandleDelta("t", f.next(t, []store.Alert{container("A", "CSQU3054383", 1)}, nil))
	synctest.FillDisk(t, disk)
	var many []store.Alert
	for i := range 3000 {
		many = append(many, container(fmt.Sprint("C", i), "CSQU3054383", 1))
	}
	w.HandleHead("h", f.headMsg(t, 2))
	w.HandleDelta("t", f.next(t, many, nil))
	if c, _ := rep.Cursor(); c.Seq != 1 {
		t.Fatalf("a 3000-alert delta applied on a full disk (cursor %d): the test did not fill it", c.Seq)
	}
	fr := w.Freshness(time.Now().Add(time.Minute), 24*time.Hour)
	if !fr.Stale || !strings.Contains(fr.Reason, "no space left on device") {
		t.Fatalf("replica stuck behind on a full disk: %+v", fr)
	}
	if n := simulateTicks(w, 10*time.Minute); n > 10 {
		t.Fatalf("%d resync requests in 10 minutes on a full disk", n)
	}
}
