package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A hit stays for the officers after central acknowledged it, until its
// outcome is recorded or it is a day old, and survives a key rotation.
func TestOfficerHitsKeptUntilOutcome(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	var mu sync.Mutex
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r, err := Open(ctx, path, testKey(1), Options{LockTimeout: time.Second, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	hit := func(id string) Hit {
		return Hit{ID: id, CheckID: "chk-" + id, Time: clock(), ItemKind: "plate", Value: "BAB123", AlertID: "A1", AlertVersion: 1}
	}
	if _, err := r.Record(ctx, CheckRecord{ID: "chk-1"}, []Hit{hit("h1"), hit("h2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Acknowledge(1 << 40); err != nil {
		t.Fatal(err)
	}
	ids := func() []string {
		t.Helper()
		hs, err := r.OfficerHits()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, h := range hs {
			out = append(out, h.ID)
		}
		return out
	}
	if got := ids(); len(got) != 2 || got[0] != "h1" || got[1] != "h2" {
		t.Fatalf("after central acknowledged: %v, want h1 h2", got)
	}
	if err := r.RecordOutcome(ctx, Outcome{ID: "o1", HitID: "h1", AlertID: "A1", Outcome: "confirmed", Officer: "anna", Time: clock()}); err != nil {
		t.Fatal(err)
	}
	if got := ids(); len(got) != 1 || got[0] != "h2" {
		t.Fatalf("after h1's outcome: %v, want h2", got)
	}
	if err := r.Rotate(ctx, testKey(2), 10, nil); err != nil {
		t.Fatal(err)
	}
	r.Close() // reopen with the new key only: the old one is gone
	if r, err = Open(ctx, path, testKey(2), Options{LockTimeout: time.Second, Now: clock}); err != nil {
		t.Fatal(err)
	}
	if got := ids(); len(got) != 1 || got[0] != "h2" {
		t.Fatalf("after a key rotation: %v, want h2", got)
	}
	mu.Lock()
	now = now.Add(OfficerKeep + time.Minute)
	mu.Unlock()
	if got := ids(); len(got) != 0 {
		t.Fatalf("a day later: %v, want none", got)
	}
	if _, err := r.Record(ctx, CheckRecord{ID: "chk-3"}, []Hit{hit("h3")}); err != nil {
		t.Fatal(err)
	}
	if got := ids(); len(got) != 1 || got[0] != "h3" {
		t.Fatalf("after the next hit: %v, want h3 (h2 dropped)", got)
	}
}

// BenchmarkRecordHit records a check with one hit: the outbox entry, the
// copy kept for officers and the audit record, in one synced transaction.
func BenchmarkRecordHit(b *testing.B) {
	ctx := context.Background()
	r, err := Open(ctx, filepath.Join(b.TempDir(), "r.db"), testKey(1), Options{LockTimeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	h := Hit{ID: "h", CheckID: "c", Time: time.Now(), ItemKind: "plate", Value: "BAB123", AlertID: "A1", AlertVersion: 1,
		Explanation: `plate "BAB123" (DE) equals the alert's plate`}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		h.ID = fmt.Sprintf("h%d", i)
		if _, err := r.Record(ctx, CheckRecord{ID: h.ID}, []Hit{h}); err != nil {
			b.Fatal(err)
		}
	}
}

// The memory of false matches is kept with its audit record and read back
// without the audit log; forgetting removes it and is audited too.
func TestFalseMatchMemory(t *testing.T) {
	ctx := context.Background()
	r := openTest(t, filepath.Join(t.TempDir(), "r.db"), testKey(1))
	defer r.Close()
	ref, err := r.Ref("terminal.read\x00plate\x00DE\x00BAB123")
	if err != nil || len(ref) != 64 {
		t.Fatalf("ref %q: %v", ref, err)
	}
	f := FalseMatch{Ref: ref, AlertID: "A1", Version: 2, Officer: "anna"}
	rec := AuditRecord{Event: "terminal.false_match", Ref: ref, Alerts: []string{"A1"}}
	if err := r.RememberFalseMatch(ctx, f, false, rec); err != nil {
		t.Fatal(err)
	}
	var got []FalseMatch
	r.FalseMatches(func(f FalseMatch) { got = append(got, f) })
	if len(got) != 1 || got[0].Ref != ref || got[0].Version != 2 || got[0].Officer != "anna" || got[0].Time.IsZero() {
		t.Fatalf("remembered %+v", got)
	}
	rec.Event = "terminal.false_match_forgotten"
	if err := r.RememberFalseMatch(ctx, f, true, rec); err != nil {
		t.Fatal(err)
	}
	got = nil
	r.FalseMatches(func(f FalseMatch) { got = append(got, f) })
	if len(got) != 0 {
		t.Fatalf("after forgetting: %+v", got)
	}
	n := 0
	r.AuditRecords(ctx, func(a AuditRecord) error {
		if a.Ref == ref {
			n++
		}
		return nil
	})
	if n != 2 {
		t.Fatalf("%d audit records of the memory, want 2", n)
	}
}

// The officers' keep holds the newest OfficerKeepMax hits without an
// outcome, however young the older ones: a post hitting faster than its
// officers settle does not grow the journal by a day of hits.
func TestOfficerKeepBounded(t *testing.T) {
	ctx := context.Background()
	r, err := Open(ctx, filepath.Join(t.TempDir(), "r.db"), testKey(1), Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	r.officerKeepMax = 5
	for i := range 12 {
		h := Hit{ID: fmt.Sprintf("h%02d", i), CheckID: fmt.Sprintf("chk-%d", i), Time: time.Now(), ItemKind: "plate", Value: "BAB123", AlertID: "A1", AlertVersion: 1}
		if _, err := r.Record(ctx, CheckRecord{ID: h.CheckID}, []Hit{h}); err != nil {
			t.Fatal(err)
		}
	}
	hs, err := r.OfficerHits()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hs {
		got = append(got, h.ID)
	}
	if fmt.Sprint(got) != "[h07 h08 h09 h10 h11]" {
		t.Errorf("officers' keep holds %v, want the newest five h07-h11", got)
	}
	// The dropped hits' ID entries went with them: an outcome for one is
	// refused or ignored, never resurrects it.
	r.RecordOutcome(ctx, Outcome{ID: "o1", HitID: "h01", AlertID: "A1", Outcome: "confirmed", Officer: "anna", Time: time.Now()})
	if hs, _ := r.OfficerHits(); len(hs) != 5 {
		t.Errorf("after an outcome for a dropped hit: %d kept, want 5", len(hs))
	}
	var n int
	r.j.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketOfficer).Bucket(bucketOffIDs).Stats().KeyN
		return nil
	})
	if n != 5 {
		t.Errorf("%d hit IDs indexed, want the 5 kept", n)
	}
}
