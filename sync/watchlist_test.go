package sync

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type staticKey []byte

func (k staticKey) DataKey(context.Context) ([]byte, error) { return k, nil }

func openReplica(t *testing.T) *store.Replica {
	t.Helper()
	key := make(staticKey, store.DataKeySize)
	rand.Read(key)
	r, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "r.db"), key, store.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// feed plays central: it builds a chain of signed deltas.
type feed struct {
	signer *Signer
	digest store.Digest
	prev   [32]byte
	seq    uint64
	have   map[string]store.Alert
}

func newFeed() *feed {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	return &feed{signer: NewSigner(priv), have: map[string]store.Alert{}}
}

func container(id, number string, v uint64) store.Alert {
	return store.Alert{ID: id, Version: v, Subject: store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: number}}}
}

func (f *feed) next(t *testing.T, ups []store.Alert, dels []string) []byte {
	t.Helper()
	for _, a := range ups {
		if old, ok := f.have[a.ID]; ok {
			f.digest.Remove(old.ID, old.Version)
		}
		f.digest.Add(a.ID, a.Version)
		f.have[a.ID] = a
	}
	for _, id := range dels {
		if old, ok := f.have[id]; ok {
			f.digest.Remove(old.ID, old.Version)
			delete(f.have, id)
		}
	}
	f.seq++
	msg, hash, err := f.signer.Seal(Delta{Binding: Binding{Kind: KindDelta, Stream: StreamWhole}, Epoch: 1, Seq: f.seq, Prev: hex.EncodeToString(f.prev[:]), Digest: f.digest.String(),
		Issued: time.Now().UTC(), Upserts: ups, Deletes: dels})
	if err != nil {
		t.Fatal(err)
	}
	f.prev = hash
	return msg
}

type watch struct {
	*Watchlist
	applied []uint64
	resyncs []store.Cursor
}

func newWatch(t *testing.T, rep *store.Replica, trusted ed25519.PublicKey) *watch {
	w := &watch{}
	w.Watchlist = NewWatchlist(WatchlistConfig{Replica: rep, Verifier: NewVerifier(trusted), Logger: quiet, Agent: "a1",
		Applied:  func(ch store.Change) { w.applied = append(w.applied, ch.Seq) },
		Resync:   func(c store.Cursor) { w.resyncs = append(w.resyncs, c) },
		GapGrace: 50 * time.Millisecond, NextDeltaWait: 50 * time.Millisecond})
	return w
}

func refusals(t *testing.T, rep *store.Replica) int {
	n := 0
	rep.AuditRecords(context.Background(), func(r store.AuditRecord) error {
		if r.Event == store.EventDeltaRefused {
			n++
		}
		return nil
	})
	return n
}

func TestDeltasOutOfOrderTwiceAndWithGap(t *testing.T) {
	rep := openReplica(t)
	f := newFeed()
	w := newWatch(t, rep, f.signer.Key.Public().(ed25519.PublicKey))
	d1 := f.next(t, []store.Alert{container("A", "CSQU3054383", 1)}, nil)
	d2 := f.next(t, []store.Alert{container("B", "TCNU7200794", 1)}, nil)
	d3 := f.next(t, []store.Alert{container("A", "CSQU3054383", 2)}, []string{"B"})

	// Out of order: 1, 3, 2. Delta 3 waits for 2, then both apply.
	w.HandleDelta("t", d1)
	w.HandleDelta("t", d3)
	if c, _ := rep.Cursor(); c.Seq != 1 {
		t.Fatalf("delta 3 applied before 2: cursor %d", c.Seq)
	}
	w.HandleDelta("t", d2)
	c, _ := rep.Cursor()
	if c.Seq != 3 || c.Digest != f.digest || len(w.applied) != 3 {
		t.Fatalf("after 1,3,2: cursor %d, applied %v, digest match %v", c.Seq, w.applied, c.Digest == f.digest)
	}
	// Delivered twice: ignored, audited, nothing changes.
	before := refusals(t, rep)
	w.HandleDelta("t", d2)
	w.HandleDelta("t", d3)
	if c2, _ := rep.Cursor(); c2 != c || refusals(t, rep) != before+2 {
		t.Fatalf("duplicates changed the replica or were not audited")
	}
	// A gap that does not close asks for a resync after the grace period.
	f.next(t, []store.Alert{container("C", "TOLU4734787", 1)}, nil) // 4, lost
	d5 := f.next(t, []store.Alert{container("D", "GYOU4047990", 1)}, nil)
	w.HandleDelta("t", d5)
	if len(w.resyncs) != 0 {
		t.Fatal("resync before the grace period")
	}
	time.Sleep(80 * time.Millisecond)
	w.Tick()
	if len(w.resyncs) != 1 || w.resyncs[0].Seq != 3 {
		t.Fatalf("resyncs %+v, want one from seq 3", w.resyncs)
	}
}

func TestForgedDeltasRefused(t *testing.T) {
	rep := openReplica(t)
	f := newFeed()
	w := newWatch(t, rep, f.signer.Key.Public().(ed25519.PublicKey))
	w.HandleDelta("t", f.next(t, []store.Alert{container("A", "CSQU3054383", 1)}, nil))
	good, _ := rep.Cursor()

	// A valid signature from a key the agent does not trust.
	rogue := newFeed()
	rogue.seq, rogue.prev, rogue.digest, rogue.have = f.seq, f.prev, f.digest, map[string]store.Alert{"A": f.have["A"]}
	w.HandleDelta("t", rogue.next(t, nil, []string{"A"}))
	// A trusted signature over a body that was changed afterwards.
	msg := f.next(t, []store.Alert{container("B", "TCNU7200794", 1)}, nil)
	tampered := []byte(string(msg))
	for i := range tampered {
		if tampered[i] == 'T' && string(tampered[i:i+4]) == "TCNU" {
			tampered[i+1] = 'X'
			break
		}
	}
	w.HandleDelta("t", tampered)
	// Garbage and an oversized message.
	w.HandleDelta("t", []byte("{not json"))
	w.HandleDelta("t", make([]byte, MaxMessage+1))

	if c, _ := rep.Cursor(); c != good {
		t.Fatalf("replica changed by refused deltas: %+v", c)
	}
	if n := refusals(t, rep); n != 4 {
		t.Fatalf("%d refusals audited, want 4", n)
	}
	// The genuine delta still applies afterwards.
	w.HandleDelta("t", msg)
	if c, _ := rep.Cursor(); c.Seq != 2 {
		t.Fatalf("genuine delta after refusals: cursor %d", c.Seq)
	}
}

func TestDigestMismatchRollsBackAndResyncs(t *testing.T) {
	rep := openReplica(t)
	f := newFeed()
	w := newWatch(t, rep, f.signer.Key.Public().(ed25519.PublicKey))
	f.digest.Add("phantom", 1) // central's state differs from what the delta carries
	w.HandleDelta("t", f.next(t, []store.Alert{container("A", "CSQU3054383", 1)}, nil))
	if c, _ := rep.Cursor(); c.Seq != 0 {
		t.Fatal("a delta with the wrong digest was applied")
	}
	if _, ok, _ := rep.Alert("A"); ok {
		t.Fatal("part of a refused delta was written")
	}
	if len(w.resyncs) != 1 {
		t.Fatalf("resyncs %d, want 1", len(w.resyncs))
	}
}

func TestFreshness(t *testing.T) {
	rep := openReplica(t)
	f := newFeed()
	w := newWatch(t, rep, f.signer.Key.Public().(ed25519.PublicKey))
	now := time.Now()
	if fr := w.Freshness(now, time.Hour); !fr.Stale {
		t.Fatal("an empty replica is not reported stale")
	}
	w.HandleDelta("t", f.next(t, []store.Alert{container("A", "CSQU3054383", 1)}, nil))
	if fr := w.Freshness(now, time.Hour); fr.Stale {
		t.Fatalf("fresh replica reported stale: %s", fr.Reason)
	}
	if fr := w.Freshness(now.Add(2*time.Hour), time.Hour); !fr.Stale {
		t.Fatal("replica unconfirmed for 2h with a 1h limit not reported stale")
	}
	head := func(seq uint64, expires time.Time) []byte {
		msg, _, _ := f.signer.Seal(Head{Binding: Binding{Kind: KindHead, Stream: StreamWhole}, Epoch: 1, Seq: seq, Digest: f.digest.String(), Issued: time.Now(), Expires: expires})
		return msg
	}
	// A head that names the replica's own sequence confirms it current.
	w.HandleHead("h", head(1, now.Add(3*time.Hour)))
	if fr := w.Freshness(now.Add(30*time.Minute), time.Hour); fr.Stale || fr.Confirmed.IsZero() {
		t.Fatalf("confirmed replica reported stale: %+v", fr)
	}
	// An expired head raises the alarm whatever the replica's age.
	w.HandleHead("h", head(1, now.Add(-time.Minute)))
	if fr := w.Freshness(now, time.Hour); !fr.Stale || fr.Reason == "" {
		t.Fatalf("expired head not reported: %+v", fr)
	}
	// A forged head is ignored.
	rogue := newFeed()
	msg, _, _ := rogue.signer.Seal(Head{Binding: Binding{Kind: KindHead, Stream: StreamWhole}, Epoch: 1, Seq: 1, Expires: now.Add(time.Hour)})
	w.HandleHead("h", msg)
	if w.Head().Expires.After(now) {
		t.Fatal("forged head accepted")
	}
}

// A head is taken only as a head of this stream and newer than the one in
// force: the one in force delivered again is ignored silently; an older
// one, one of another stream, an assignment or a head of the old protocol
// are refused, one audit record each, and leave the head in force.
func TestHeadsRefusedAreAudited(t *testing.T) {
	rep := openReplica(t)
	f := newFeed()
	w := newWatch(t, rep, f.signer.Key.Public().(ed25519.PublicKey))
	w.HandleDelta("d", f.next(t, []store.Alert{container("A", "CSQU3054383", 1)}, nil))
	now := time.Now()
	head := func(b Binding, issued time.Time) []byte {
		msg, _, err := f.signer.Seal(Head{Binding: b, Epoch: 1, Seq: 1, Digest: f.digest.String(), Issued: issued, Expires: issued.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	whole := Binding{Kind: KindHead, Stream: StreamWhole}
	older, current := head(whole, now.Add(-time.Minute)), head(whole, now)
	w.HandleHead("h", current)
	w.HandleHead("h", current) // retained, at the next connect
	assignment, _, _ := f.signer.Seal(Assignment{Binding: Binding{Kind: KindAssignment, To: "a1"}, Seq: 9, Scopes: []string{"road"}})
	for _, m := range [][]byte{older, head(Binding{Kind: KindHead, Stream: ScopeStream("road")}, now.Add(time.Second)), assignment, []byte(`{"epoch":1}`)} {
		w.HandleHead("h", m)
	}
	if got := w.Head(); !got.Issued.Equal(now) {
		t.Errorf("head in force issued %s, want %s", got.Issued, now)
	}
	if n := audited(rep, store.EventHeadRefused); n != 4 {
		t.Errorf("%d heads refused in the audit log, want 4", n)
	}
}
