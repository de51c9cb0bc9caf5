package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func hitIDs(hs []Hit) map[string]bool {
	m := map[string]bool{}
	for _, h := range hs {
		m[h.ID] = true
	}
	return m
}

// TestRebuildKeepsUnsentHits: a replica whose tree is damaged is refused;
// Rebuild moves it aside, recovers every hit still waiting for central by
// scanning its pages, and leaves a new, empty replica holding them,
// numbered from 1, with the rebuild in its audit log. The agent then
// fetches the watch list (its cursor is zero).
func TestRebuildKeepsUnsentHits(t *testing.T) {
	fx := buildDamageFixture(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "replica.db")
	b := bytes.Clone(fx.data)
	bf, _ := openBoltFile(bytes.NewReader(b), int64(len(b)))
	root := bf.meta.root * uint64(bf.pageSize)
	le.PutUint64(b[root:], 0xDEAD) // the root page no longer says it is itself
	writeSparse(t, path, b, fx.size)
	writeSparse(t, JournalPath(path), fx.journal, int64(len(fx.journal)))
	if _, err := Open(context.Background(), path, fx.key, Options{LockTimeout: time.Second}); !errors.Is(err, ErrDamaged) {
		t.Fatalf("damaged root opened: %v", err)
	}
	now := time.Date(2026, 12, 7, 1, 30, 0, 0, time.UTC)
	res, err := Rebuild(context.Background(), path, fx.key, false, Options{LockTimeout: time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Aside != path+".damaged-20261207T013000Z" || res.Salvage.Exact {
		t.Fatalf("rebuild report %+v", res)
	}
	if aside, err := os.ReadFile(res.Aside); err != nil || !bytes.Equal(aside[:len(b)], b) {
		t.Fatalf("the damaged file was not kept as it was: %v", err)
	}
	r := openTest(t, path, fx.key)
	defer r.Close()
	got, err := r.Pending(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ids := hitIDs(got)
	for _, h := range fx.pending {
		if !ids[h.ID] {
			t.Errorf("unsent hit %s lost in the rebuild", h.ID)
		}
	}
	for i, h := range got {
		if !strings.HasPrefix(h.ID, "hit-") || h.Seq != uint64(i+1) || h.AlertID != "SIS-0001" {
			t.Fatalf("recovered entry %d: %+v", i, h)
		}
	}
	if res.Restored != len(got) {
		t.Errorf("report says %d restored, outbox holds %d", res.Restored, len(got))
	}
	if c, _ := r.Cursor(); c.Seq != 0 {
		t.Errorf("rebuilt replica at sequence %d, want empty (the agent fetches a snapshot)", c.Seq)
	}
	rebuilt := false
	r.AuditRecords(context.Background(), func(a AuditRecord) error {
		rebuilt = rebuilt || a.Event == EventReplicaRebuilt && a.Ref == res.Aside
		return nil
	})
	if !rebuilt {
		t.Error("the rebuild is not in the new audit log")
	}
}

// TestRebuildIntactAndInUse: an intact replica is rebuilt only with force,
// and then its outbox is read exactly through its tree; a replica an agent
// holds open is not touched.
func TestRebuildIntactAndInUse(t *testing.T) {
	fx := buildDamageFixture(t)
	path := filepath.Join(t.TempDir(), "replica.db")
	writeSparse(t, path, fx.data, fx.size)
	writeSparse(t, JournalPath(path), fx.journal, int64(len(fx.journal)))
	opt := Options{LockTimeout: time.Second}
	if _, err := Rebuild(context.Background(), path, fx.key, false, opt); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("intact replica rebuilt without force: %v", err)
	}
	held := openTest(t, path, fx.key)
	if _, err := Rebuild(context.Background(), path, fx.key, true, opt); err == nil || !strings.Contains(err.Error(), "stop the agent") {
		t.Fatalf("replica in use rebuilt: %v", err)
	}
	held.Close()
	res, err := Rebuild(context.Background(), path, fx.key, true, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Salvage.Exact || res.Restored != len(fx.pending) {
		t.Fatalf("intact rebuild: %+v, want exactly the %d pending hits", res, len(fx.pending))
	}
	r := openTest(t, path, fx.key)
	defer r.Close()
	got, _ := r.Pending(0, 1000)
	for i, h := range got {
		if h.ID != fx.pending[i].ID {
			t.Fatalf("entry %d is %s, want %s (order kept)", i, h.ID, fx.pending[i].ID)
		}
	}
}

// TestRebuildKeepsUnsentHitsOfDamagedJournal: a journal whose tree is
// damaged makes Open refuse the replica, naming the journal; Rebuild,
// without force, moves both files aside and recovers every unsent hit by
// scanning the journal's pages.
func TestRebuildKeepsUnsentHitsOfDamagedJournal(t *testing.T) {
	fx := buildDamageFixture(t)
	path := filepath.Join(t.TempDir(), "replica.db")
	writeSparse(t, path, fx.data, fx.size)
	j := bytes.Clone(fx.journal)
	bf, err := openBoltFile(bytes.NewReader(j), int64(len(j)))
	if err != nil {
		t.Fatal(err)
	}
	le.PutUint64(j[bf.meta.root*uint64(bf.pageSize):], 0xDEAD)
	writeSparse(t, JournalPath(path), j, int64(len(j)))
	if _, err := Open(context.Background(), path, fx.key, Options{LockTimeout: time.Second}); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), JournalPath(path)) {
		t.Fatalf("damaged journal opened, or not named: %v", err)
	}
	res, err := Rebuild(context.Background(), path, fx.key, false, Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(JournalPath(res.Aside)); err != nil {
		t.Fatalf("the damaged journal was not kept beside the old replica: %v", err)
	}
	r := openTest(t, path, fx.key)
	defer r.Close()
	got, _ := r.Pending(0, 1000)
	ids := hitIDs(got)
	for _, h := range fx.pending {
		if !ids[h.ID] {
			t.Errorf("unsent hit %s lost in the rebuild", h.ID)
		}
	}
}
