package post

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// syncBuffer is a log the agent's goroutines write to while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A delta applied while the agent runs makes the files its match index
// loads from stale; a clean shutdown writes them again, so that the next
// start loads the term table and the name index (no walk of the term
// index, no person decrypted) and finds the delta's name and plate.
func TestShutdownPersistsTheIndexAfterDeltas(t *testing.T) {
	ctx := context.Background()
	person := store.Alert{ID: "P1", Version: 1, Subject: store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Lindqvist", Forenames: "Sven"}}}
	car := store.Alert{ID: "CAR", Version: 1, Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "MAB1234", PlateCountry: "DE"}}}
	// No central: the delta is applied below as the session would.
	cfg := runnable(t, seedReplica(t, person, car))
	start := func() (*Agent, *syncBuffer) {
		t.Helper()
		var log syncBuffer
		a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(&log, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return a, &log
	}
	a, _ := start()
	late := store.Alert{ID: "P2", Version: 1, Subject: store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Adeyemi-Bakare", Forenames: "Oluwaseun"}}}
	plate := store.Alert{ID: "CAR2", Version: 1, Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "XY4242", PlateCountry: "DE"}}}
	cur, err := a.rep.Cursor()
	if err != nil {
		t.Fatal(err)
	}
	d := cur.Digest
	d.Add(late.ID, late.Version)
	d.Add(plate.ID, plate.Version)
	ch := store.Change{Epoch: 1, Seq: 2, PrevHash: cur.Hash, Hash: [32]byte{2}, Digest: d, Upserts: []store.Alert{late, plate}}
	if err := a.rep.Apply(ctx, ch); err != nil {
		t.Fatal(err)
	}
	a.index.Apply(ch) // what the session does once the replica committed it
	// While deltas keep coming (the last one just now) nothing is written.
	a.persistStale(ctx, indexQuiet)
	if stale, _ := a.index.Stale(); !stale {
		t.Fatal("the files were written although the last delta is not indexQuiet old")
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	deadline := time.Now().Add(20 * time.Second)
	for !a.ready.Load() {
		select {
		case err := <-done:
			t.Fatalf("Run ended before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent is not ready after 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	b, log := start()
	defer b.Close()
	if s := log.String(); strings.Contains(s, "walking the term index") || !strings.Contains(s, "name index loaded") {
		t.Fatalf("the start after the shutdown did not load the files written at it:\n%s", s)
	}
	for _, q := range []struct {
		it   devices.Item
		want string
	}{
		{devices.Item{Kind: devices.KindPerson, Value: "Oluwaseun Adeyemi Bakare"}, "P2"},
		{devices.Item{Kind: devices.KindPerson, Value: "Sven Lindqvist"}, "P1"},
		{devices.Item{Kind: devices.KindPlate, Country: "DE", Value: "XY4242", Raw: "XY4242"}, "CAR2"},
		{devices.Item{Kind: devices.KindPlate, Country: "DE", Value: "MAB1234", Raw: "MAB1234"}, "CAR"},
	} {
		got, err := b.index.Lookup(q.it, time.Now())
		if err != nil || len(got) == 0 || got[0].Alert.ID != q.want {
			t.Errorf("%s %q: %+v, %v; want %s", q.it.Kind, q.it.Value, got, err, q.want)
		}
	}
}

// After a snapshot the rebuilt index is swapped in at once and its files
// are written in the background right after, not at the next tick nor
// after indexQuiet: the term table is current within seconds while the
// agent runs, and a start after it loads both files and finds the
// snapshot's alerts.
func TestSnapshotPersistsTheIndexAtOnce(t *testing.T) {
	ctx := context.Background()
	person := store.Alert{ID: "P1", Version: 1, Subject: store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Lindqvist", Forenames: "Sven"}}}
	cfg := runnable(t, seedReplica(t, person))
	var log syncBuffer
	a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	deadline := time.Now().Add(20 * time.Second)
	for !a.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the agent is not ready after 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// What the session does with a snapshot from central: commit, reload.
	snap, err := a.rep.BeginSnapshot(2, 7, [32]byte{7})
	if err != nil {
		t.Fatal(err)
	}
	p2 := store.Alert{ID: "P2", Version: 1, Subject: store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Adeyemi-Bakare", Forenames: "Oluwaseun"}}}
	car := store.Alert{ID: "CAR2", Version: 1, Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "XY4242", PlateCountry: "DE"}}}
	if err := snap.Add(ctx, []store.Alert{p2, car}); err != nil {
		t.Fatal(err)
	}
	if err := snap.Commit(ctx, snap.Digest()); err != nil {
		t.Fatal(err)
	}
	a.reloadIndex(runCtx)
	if got, err := a.index.Lookup(devices.Item{Kind: devices.KindPlate, Country: "DE", Value: "XY4242", Raw: "XY4242"}, time.Now()); err != nil || len(got) == 0 {
		t.Fatalf("the snapshot's plate right after the reload: %+v, %v", got, err)
	}
	deadline = time.Now().Add(indexPersistEvery / 3)
	for {
		stale, _ := a.index.Stale()
		if _, err := a.rep.LoadTermTable(ctx); err == nil && !stale {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the match index's files are not written %v after the snapshot:\n%s", indexPersistEvery/3, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	var log2 syncBuffer
	b, err := New(ctx, cfg, slog.New(slog.NewTextHandler(&log2, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if s := log2.String(); strings.Contains(s, "walking the term index") || !strings.Contains(s, "name index loaded") {
		t.Fatalf("the start after the snapshot did not load the files written after it:\n%s", s)
	}
	for _, q := range []struct {
		it   devices.Item
		want string
	}{
		{devices.Item{Kind: devices.KindPerson, Value: "Oluwaseun Adeyemi Bakare"}, "P2"},
		{devices.Item{Kind: devices.KindPlate, Country: "DE", Value: "XY4242", Raw: "XY4242"}, "CAR2"},
	} {
		got, err := b.index.Lookup(q.it, time.Now())
		if err != nil || len(got) == 0 || got[0].Alert.ID != q.want {
			t.Errorf("%s %q: %+v, %v; want %s", q.it.Kind, q.it.Value, got, err, q.want)
		}
	}
	if got, _ := b.index.Lookup(devices.Item{Kind: devices.KindPerson, Value: "Sven Lindqvist"}, time.Now()); len(got) != 0 {
		t.Errorf("the alert the snapshot removed is still found: %+v", got)
	}
}
