package sync

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/borderpost/borderpost/store"
)

// snapshotOf builds a transfer of the feed's current state.
func (f *feed) snapshotOf(t *testing.T, id string, chunk int) [][]byte {
	t.Helper()
	var alerts []store.Alert
	for _, a := range f.have {
		alerts = append(alerts, a)
	}
	msgs, err := BuildSnapshot(f.signer, SnapshotManifest{Binding: Binding{Kind: KindSnapshot, Stream: StreamWhole, To: "a1"}, ID: id, Epoch: 1, Seq: f.seq, Hash: hex.EncodeToString(f.prev[:]),
		Digest: f.digest.String()}, alerts, chunk)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func manyContainers(n int) []store.Alert {
	var out []store.Alert
	for i := range n {
		out = append(out, store.Alert{ID: fmt.Sprintf("S%04d", i), Version: 1,
			Subject: store.Subject{Kind: store.SubjectPhone, Phone: fmt.Sprintf("+4930%07d", i)}})
	}
	return out
}

func TestSnapshotOutOfOrderThenDeltasFollow(t *testing.T) {
	rep := openReplica(t)
	f := newFeed()
	f.next(t, manyContainers(50), nil) // deltas 1..2 the agent never saw
	f.next(t, nil, []string{"S0003"})
	w := newWatch(t, rep, f.signer.Key.Public().(ed25519.PublicKey))
	reloads := 0
	w.reloaded = func() { reloads++ }
	msgs := f.snapshotOf(t, "snap-1", 7) // 49 alerts in 7 chunks
	// Manifest, then chunks in a shuffled order, one of them twice.
	w.HandleSnapshot("s", msgs[0])
	for _, i := range []int{3, 1, 2, 7, 5, 4, 6, 5} {
		w.HandleSnapshot("s", msgs[i])
	}
	c, _ := rep.Cursor()
	if c.Seq != 2 || c.Digest != f.digest || reloads != 1 {
		t.Fatalf("after snapshot: cursor %d, digest match %v, reloads %d", c.Seq, c.Digest == f.digest, reloads)
	}
	n := 0
	rep.Alerts(context.Background(), func(store.Alert) error { n++; return nil })
	if n != 49 {
		t.Fatalf("replica holds %d alerts, want 49", n)
	}
	// The next delta applies on top of the snapshot.
	w.HandleDelta("d", f.next(t, []store.Alert{container("A", "CSQU3054383", 1)}, nil))
	if c, _ := rep.Cursor(); c.Seq != 3 || c.Digest != f.digest {
		t.Fatalf("delta after snapshot: cursor %d", c.Seq)
	}
}

func TestSnapshotForgedOrCorruptChangesNothing(t *testing.T) {
	rep := openReplica(t)
	f := newFeed()
	w := newWatch(t, rep, f.signer.Key.Public().(ed25519.PublicKey))
	w.HandleDelta("d", f.next(t, manyContainers(5), nil))
	before, _ := rep.Cursor()
	f.next(t, manyContainers(20), nil)

	// A manifest signed by an untrusted key starts nothing.
	rogue := newFeed()
	rogue.seq, rogue.prev, rogue.digest, rogue.have = f.seq, f.prev, f.digest, f.have
	forged := rogue.snapshotOf(t, "forged", 5)
	for _, m := range forged {
		w.HandleSnapshot("s", m)
	}
	// A genuine manifest with a chunk altered in transit aborts the transfer.
	msgs := f.snapshotOf(t, "snap-2", 5)
	var chunk SnapshotMessage
	json.Unmarshal(msgs[2], &chunk)
	chunk.Chunk.Alerts = json.RawMessage(string(chunk.Chunk.Alerts[:len(chunk.Chunk.Alerts)-1]) + `,{"id":"EVIL","version":1,"subject":{"kind":"phone","phone":"+4930999"}}]`)
	bad, _ := json.Marshal(chunk)
	w.HandleSnapshot("s", msgs[0])
	w.HandleSnapshot("s", msgs[1])
	w.HandleSnapshot("s", bad)
	for _, m := range msgs[3:] {
		w.HandleSnapshot("s", m)
	}
	if c, _ := rep.Cursor(); c != before {
		t.Fatalf("replica changed by a forged or corrupt snapshot: %+v", c)
	}
	if _, ok, _ := rep.Alert("EVIL"); ok {
		t.Fatal("an alert from a corrupt chunk was stored")
	}
	if len(w.resyncs) == 0 {
		t.Fatal("a corrupt chunk did not ask for the snapshot again")
	}
	// A manifest whose digest does not match what the chunks hold.
	f.digest.Add("phantom", 1)
	lying := f.snapshotOf(t, "snap-3", 5)
	for _, m := range lying {
		w.HandleSnapshot("s", m)
	}
	if c, _ := rep.Cursor(); c != before {
		t.Fatalf("a snapshot with the wrong digest was committed: %+v", c)
	}
	// The genuine transfer, sent again whole, succeeds.
	f.digest.Remove("phantom", 1)
	w.lastResync = w.lastResync.Add(-resyncEvery)
	for _, m := range f.snapshotOf(t, "snap-4", 5) {
		w.HandleSnapshot("s", m)
	}
	if c, _ := rep.Cursor(); c.Seq != 2 || c.Digest != f.digest {
		t.Fatalf("genuine snapshot after refusals: %+v", c)
	}
	if n := audited(rep, store.EventSnapshotRefused); n < 3 {
		t.Errorf("%d refusals audited, want forged manifest, corrupt chunk and digest mismatch", n)
	}
}

// audited counts the audit records of an event.
func audited(rep *store.Replica, event store.AuditEvent) int {
	n := 0
	rep.AuditRecords(context.Background(), func(r store.AuditRecord) error {
		if r.Event == event {
			n++
		}
		return nil
	})
	return n
}

// A snapshot only moves the replica forward: its manifest replayed after
// the transfer committed, and its chunks, are refused and audited once
// each; a manifest for another agent or stream starts nothing.
func TestSnapshotReplayedIsRefused(t *testing.T) {
	rep := openReplica(t)
	f := newFeed()
	f.next(t, manyContainers(10), nil)
	w := newWatch(t, rep, f.signer.Key.Public().(ed25519.PublicKey))
	msgs := f.snapshotOf(t, "snap-1", 4)
	for _, m := range msgs {
		w.HandleSnapshot("s", m)
	}
	before, _ := rep.Cursor()
	if before.Seq != 1 {
		t.Fatalf("snapshot not applied: %+v", before)
	}
	f.next(t, nil, []string{"S0001"})
	w.HandleDelta("d", f.next(t, nil, []string{"S0002"})) // parked: seq 3 after 1
	start := audited(rep, store.EventSnapshotRefused)
	for _, m := range msgs {
		w.HandleSnapshot("s", m)
	}
	other, _ := BuildSnapshot(f.signer, SnapshotManifest{Binding: Binding{Kind: KindSnapshot, Stream: StreamWhole, To: "a2"},
		ID: "for-a2", Epoch: 1, Seq: 3, Hash: hex.EncodeToString(f.prev[:]), Digest: f.digest.String()}, nil, 4)
	scope, _ := BuildSnapshot(f.signer, SnapshotManifest{Binding: Binding{Kind: KindSnapshot, Stream: ScopeStream("road"), To: "a1"},
		ID: "road", Epoch: 1, Seq: 3, Hash: hex.EncodeToString(f.prev[:]), Digest: f.digest.String()}, nil, 4)
	w.HandleSnapshot("s", other[0])
	w.HandleSnapshot("s", scope[0])
	if c, _ := rep.Cursor(); c != before || w.snap != nil {
		t.Fatalf("replayed snapshot changed the replica: %+v, transfer %v", c, w.snap != nil)
	}
	if n := audited(rep, store.EventSnapshotRefused) - start; n != len(msgs)+2 {
		t.Errorf("%d snapshot messages refused in the audit log, want %d", n, len(msgs)+2)
	}
}
