package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// singleFile turns the closed replica at path back into the layout of
// format 3 and before, its audit log, outbox and officers' keep inside
// the file and no journal beside it, then runs fn on the file (nil: none).
func singleFile(t testing.TB, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	j, err := bolt.Open(JournalPath(path), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = j.View(func(jtx *bolt.Tx) error {
		return db.Update(func(tx *bolt.Tx) error {
			for _, name := range journalBuckets {
				if tx.Bucket(name) != nil {
					tx.DeleteBucket(name)
				}
				dst, err := tx.CreateBucket(name)
				if err != nil {
					return err
				}
				if err := copyBucket(jtx.Bucket(name), dst); err != nil {
					return err
				}
			}
			meta, jmeta := tx.Bucket(bucketMeta), jtx.Bucket(bucketMeta)
			for _, k := range journalMoved {
				if v := jmeta.Get(k); v != nil {
					if err := meta.Put(k, bytes.Clone(v)); err != nil {
						return err
					}
				}
			}
			if q := tx.Bucket(bucketAuditQueue); q != nil {
				tx.DeleteBucket(bucketAuditQueue)
			}
			meta.Delete(metaJournal)
			return meta.Put(metaFormat, u32(legacyFormat))
		})
	})
	if err == nil && fn != nil {
		err = db.Update(fn)
	}
	j.Close()
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(JournalPath(path)); err != nil {
		t.Fatal(err)
	}
}

// auditSummary lists the log's records as event, reference and chain
// value, in order.
func auditSummary(t testing.TB, r *Replica) []string {
	t.Helper()
	var out []string
	err := r.AuditRecords(context.Background(), func(rec AuditRecord) error {
		out = append(out, fmt.Sprintf("%s %s %s", rec.Event, rec.Ref, rec.Hash))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A check's group commit goes to the journal: it commits, with its hits,
// and an acknowledgement and an officer's outcome commit too, while the
// replica's writer is held (as by a delta's chunk or a snapshot's
// switch). Before the journal, Record waited for that writer.
func TestCheckCommitsWhileReplicaWriterHeld(t *testing.T) {
	ctx := context.Background()
	r := openTest(t, filepath.Join(t.TempDir(), "r.db"), testKey(1))
	defer r.Close()
	held, release := make(chan struct{}), make(chan struct{})
	writer := make(chan error, 1)
	go func() {
		writer <- r.update(func(tx *bolt.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	done := make(chan error, 1)
	go func() {
		_, err := r.Record(ctx, CheckRecord{ID: "chk-held", Device: "lane-1", Items: 1},
			[]Hit{{ID: "hit-held", CheckID: "chk-held", AlertID: "A1", Time: time.Now()}})
		if err == nil {
			_, err = r.Acknowledge(1)
		}
		if err == nil {
			err = r.RecordOutcome(ctx, Outcome{ID: "out-held", HitID: "hit-held", AlertID: "A1", Outcome: "confirmed", Officer: "anna", Role: "officer"})
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // a guard against a hang, not a measurement
		close(release)
		<-writer
		t.Fatal("a check's record waited for the replica's writer")
	}
	close(release)
	if err := <-writer; err != nil {
		t.Fatal(err)
	}
	if p, _ := r.Pending(0, 10); len(p) != 1 || p[0].ID != "out-held" {
		t.Fatalf("outbox after check, acknowledgement and outcome: %+v", p)
	}
	if n, err := r.VerifyAudit(ctx); err != nil || n != 2 {
		t.Fatalf("audit: %d records, %v", n, err)
	}
}

// A journal is its replica's: beside another replica (same key, another
// salt) it is refused, and the replica with it; a missing journal is not
// replaced by an empty one (its hits would be lost); a wrong key opens
// neither, and the journal is left as it was.
func TestJournalBoundToItsReplica(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	ra := openTest(t, a, testKey(1))
	if _, err := ra.Record(ctx, CheckRecord{ID: "chk-a", Device: "lane"}, []Hit{{ID: "hit-a", AlertID: "A1"}}); err != nil {
		t.Fatal(err)
	}
	ra.Close()
	openTest(t, b, testKey(1)).Close()

	copyTestFile(t, JournalPath(a), JournalPath(b))
	if _, err := Open(ctx, b, testKey(1), Options{}); !errors.Is(err, ErrJournal) || !strings.Contains(err.Error(), "another replica") {
		t.Fatalf("another replica's journal: %v, want ErrJournal", err)
	}

	os.Remove(JournalPath(b))
	if _, err := Open(ctx, b, testKey(1), Options{}); !errors.Is(err, ErrJournal) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing journal: %v, want ErrJournal", err)
	}
	if _, err := os.Stat(JournalPath(b)); !os.IsNotExist(err) {
		t.Fatalf("an empty journal was created in place of the missing one: %v", err)
	}

	before, _ := os.ReadFile(JournalPath(a))
	if _, err := Open(ctx, a, testKey(2), Options{}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := Open(ctx, a, nil, Options{}); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: %v", err)
	}
	if after, _ := os.ReadFile(JournalPath(a)); !bytes.Equal(before, after) {
		t.Fatal("the journal changed under a wrong key")
	}
	// The journal's values open with nothing but the replica's keyring:
	// under another salt (another replica, same key) the outbox does not.
	ra = openTest(t, a, testKey(1))
	defer ra.Close()
	other, _ := newKeyring(testKey(1), bytes.Repeat([]byte{9}, 32), 1)
	ra.j.View(func(tx *bolt.Tx) error {
		k, v := tx.Bucket(bucketOutbox).Cursor().First()
		if _, err := other.open(bucketOutbox, k, v); err == nil {
			t.Error("an outbox entry opened under another replica's keyring")
		}
		return nil
	})
}

// A single-file replica (format 3) is upgraded at open: its audit log,
// outbox and officers' keep move into the journal unchanged (same records,
// same chain, same sequences), the file keeps only the alert set. A kill
// between the journal's commit and the replica's leaves the replica as it
// was; the next open copies again over whatever the journal then holds.
func TestUpgradeFromSingleFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "r.db")
	r := openTest(t, path, testKey(1))
	have := map[string]Alert{}
	c0, _ := r.Cursor()
	if err := r.Apply(ctx, change(c0, have, []Alert{plate("A1", "KA123", 1)}, nil)); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		id := fmt.Sprintf("chk-%024x", i)
		if _, err := r.Record(ctx, CheckRecord{ID: id, Device: "lane"}, []Hit{{ID: fmt.Sprintf("hit-%024x", i), CheckID: id, AlertID: "A1", Time: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Acknowledge(5); err != nil {
		t.Fatal(err)
	}
	if err := r.Rotate(ctx, testKey(2), 10, nil); err != nil { // records under two key generations
		t.Fatal(err)
	}
	r.Close()
	r = openTest(t, path, testKey(2))
	wantLog, wantPending := auditSummary(t, r), mustPending(t, r)
	wantOfficer, _ := r.OfficerHits()
	r.Close()
	singleFile(t, path, nil)
	legacy, _ := os.ReadFile(path)

	check := func(when string) {
		t.Helper()
		r := openTest(t, path, testKey(2))
		defer r.Close()
		if n, err := r.VerifyAudit(ctx); err != nil {
			t.Fatalf("%s: audit after %d records: %v", when, n, err)
		}
		if got := auditSummary(t, r); !slices.Equal(got, wantLog) {
			t.Fatalf("%s: log %d records, want the %d of the single file", when, len(got), len(wantLog))
		}
		if got := mustPending(t, r); !slices.EqualFunc(got, wantPending, func(a, b Hit) bool { return a.ID == b.ID && a.Seq == b.Seq }) {
			t.Fatalf("%s: outbox %v, want %v", when, got, wantPending)
		}
		if got, _ := r.OfficerHits(); len(got) != len(wantOfficer) {
			t.Fatalf("%s: %d hits kept for officers, want %d", when, len(got), len(wantOfficer))
		}
		if _, ok, _ := r.Alert("A1"); !ok {
			t.Fatalf("%s: alert lost", when)
		}
		r.db.View(func(tx *bolt.Tx) error {
			for _, b := range journalBuckets {
				if tx.Bucket(b) != nil {
					t.Errorf("%s: bucket %s still in the replica", when, b)
				}
			}
			return nil
		})
		// Writes go on: a check after the upgrade chains to the moved log.
		if _, err := r.Record(ctx, CheckRecord{ID: "chk-after", Device: "lane"}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := r.VerifyAudit(ctx); err != nil {
			t.Fatalf("%s: audit after a new check: %v", when, err)
		}
	}
	// Killed after the journal's commit, before the replica's: the file
	// is the single file still, the journal a copy of its log and outbox.
	openTest(t, path, testKey(2)).Close()
	if err := os.WriteFile(path, legacy, 0o600); err != nil {
		t.Fatal(err)
	}
	check("kill after the journal's commit")
	if st, err := ReadStatus(ctx, path, Options{}); err != nil || st.Format != FormatVersion || st.JournalBytes == 0 {
		t.Fatalf("status after the upgrade: %+v %v", st, err)
	}
	if _, err := os.Stat(BackupPath(path, legacyFormat)); err != nil {
		t.Fatalf("no backup of the single file before its upgrade: %v", err)
	}

	// The single file put back beside a journal written since (check
	// wrote a record): refused, the journal left as it was.
	os.WriteFile(path, legacy, 0o600)
	after, _ := os.ReadFile(JournalPath(path))
	if _, err := Open(ctx, path, testKey(2), Options{}); !errors.Is(err, ErrJournal) {
		t.Fatalf("single file beside a journal written since: %v, want ErrJournal", err)
	}
	if now, _ := os.ReadFile(JournalPath(path)); !bytes.Equal(now, after) {
		t.Fatal("the journal written since was overwritten")
	}

	// Killed before the journal's first commit: an empty file.
	os.WriteFile(path, legacy, 0o600)
	os.Remove(JournalPath(path))
	db, err := bolt.Open(JournalPath(path), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	check("kill before the journal's commit")
}

func mustPending(t testing.TB, r *Replica) []Hit {
	t.Helper()
	p, err := r.Pending(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The audit record of a change is written after the change's commit: a
// kill in between (here the journal closed under the replica, so that the
// move fails as a kill would stop it) leaves it in the replica's queue,
// and the next open moves it into the log, once.
func TestAuditQueueMovedAfterKill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r, err := Open(ctx, path, testKey(1), Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]Alert{}
	c0, _ := r.Cursor()
	r.j.Close()
	if err := r.Apply(ctx, change(c0, have, []Alert{plate("A1", "KA123", 1)}, nil)); err != nil {
		t.Fatal(err)
	}
	r.db.Close()
	count := func(r *Replica) int {
		n := 0
		r.AuditRecords(ctx, func(rec AuditRecord) error {
			if rec.Event == EventDeltaApplied && rec.Ref == "1/1" {
				n++
			}
			return nil
		})
		return n
	}
	r = openTest(t, path, testKey(1))
	if n := count(r); n != 1 {
		t.Fatalf("the change's record is in the log %d times after the kill, want once", n)
	}
	if _, err := r.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	c1, _ := r.Cursor()
	if err := r.Apply(ctx, change(c1, have, []Alert{plate("A2", "KA124", 1)}, nil)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r = openTest(t, path, testKey(1))
	defer r.Close()
	if n := count(r); n != 1 {
		t.Fatalf("the change's record is in the log %d times after the next change, want once", n)
	}
	r.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketAuditQueue).Cursor().First(); k != nil {
			t.Errorf("the queue still holds record %d, which the log holds", binary.BigEndian.Uint64(k))
		}
		return nil
	})
}

// A kill after a rotation's switch and before the journal is re-sealed
// leaves outbox entries under the old key; the old value key, kept sealed
// under the new one, still opens them, the next open (with only the new
// key) re-seals them and then forgets it.
func TestRotationKilledBeforeJournalResealed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r, err := Open(ctx, path, testKey(1), Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Record(ctx, CheckRecord{ID: "chk-1", Device: "lane"}, []Hit{{ID: "hit-1", AlertID: "A1", Time: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	r.j.Close() // the kill comes right after the switch
	if err := r.Rotate(ctx, testKey(2), 10, nil); err == nil || !strings.Contains(err.Error(), "key rotated") {
		t.Fatalf("rotation with the journal gone: %v", err)
	}
	r.db.Close()
	if _, err := Open(ctx, path, testKey(1), Options{}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("old key after the switch: %v", err)
	}
	r = openTest(t, path, testKey(2))
	defer r.Close()
	if p := mustPending(t, r); len(p) != 1 || p[0].ID != "hit-1" {
		t.Fatalf("outbox after the interrupted re-seal: %+v", p)
	}
	if n, err := r.VerifyAudit(ctx); err != nil {
		t.Fatalf("audit after %d: %v", n, err)
	}
	rotated := false
	r.AuditRecords(ctx, func(rec AuditRecord) error { rotated = rotated || rec.Event == EventKeyRotated; return nil })
	if !rotated {
		t.Error("the rotation's record is not in the log")
	}
	r.j.View(func(tx *bolt.Tx) error {
		k, v := tx.Bucket(bucketOutbox).Cursor().First()
		if g, _ := sealedGen(v); g != 2 || k == nil {
			t.Errorf("outbox entry under key generation %d after the re-seal", g)
		}
		return nil
	})
	r.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketMeta).Cursor().Seek(metaJournalRetired); k != nil && bytes.HasPrefix(k, metaJournalRetired) {
			t.Errorf("the old key is still kept (%s) after the re-seal", k)
		}
		return nil
	})
}
