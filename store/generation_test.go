package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// held is what a replica holds, read from disk and recomputed.
type held struct {
	cur    Cursor
	digest Digest // recomputed from the live alerts and the tombstones
	alerts int
	tombs  int
	gens   int // generation buckets in the file
}

func heldBy(t *testing.T, r *Replica) held {
	t.Helper()
	<-r.droppingDone() // as the file is once the stray generations are dropped
	var h held
	err := r.db.View(func(tx *bolt.Tx) error {
		var err error
		if h.cur, err = readCursor(tx); err != nil {
			return err
		}
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		withExpiry := 0
		if err := st.gen.alerts.ForEach(func(k, v []byte) error {
			a, err := decodeAlert(st.ks, k, v)
			if err != nil {
				return err
			}
			if !bytes.Equal(k, st.ring.recordKey("alert", a.ID)) {
				return fmt.Errorf("alert %s stored under a foreign key", a.ID)
			}
			h.digest.Add(a.ID, a.Version)
			h.alerts++
			if !a.Expires.IsZero() {
				withExpiry++
				if st.gen.expiry.Get(expiryKey(a.Expires, k)) == nil {
					return fmt.Errorf("alert %s missing from the expiry index", a.ID)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if n := st.gen.expiry.Stats().KeyN; n != withExpiry {
			return fmt.Errorf("expiry index holds %d entries for %d alerts with an expiry", n, withExpiry)
		}
		if err := st.gen.tombs.ForEach(func(k, v []byte) error {
			tb, err := decodeTomb(st.ks, k, v)
			if err != nil {
				return err
			}
			h.digest.Add(tb.ID, tb.Version)
			h.tombs++
			return nil
		}); err != nil {
			return err
		}
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if _, ok := parseGenName(name); ok {
				h.gens++
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func person(id, surname string, v uint64, expires time.Time) Alert {
	return Alert{ID: id, Version: v, Action: "arrest", Expires: expires,
		Subject: Subject{Kind: SubjectPerson, Person: &Person{Surname: surname, Aliases: []string{surname + "ski"}}}}
}

func seed(t *testing.T, r *Replica, have map[string]Alert, n int) {
	t.Helper()
	var ups []Alert
	for i := range n {
		a := plate(fmt.Sprintf("S%04d", i), fmt.Sprintf("PL%05d", i), 1)
		if i%3 == 0 {
			a.Expires = time.Now().Add(time.Duration(24+i) * time.Hour)
		}
		ups = append(ups, a)
	}
	cur, _ := r.Cursor()
	if err := r.Apply(context.Background(), change(cur, have, ups, nil)); err != nil {
		t.Fatal(err)
	}
}

func TestRotateWhileChecksAndDeltasContinue(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(1))
	have := map[string]Alert{}
	seed(t, r, have, 600)
	before := heldBy(t, r)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	var recorded int
	wg.Add(1)
	go func() { // checks go on during the rotation
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := r.Record(ctx, CheckRecord{ID: fmt.Sprintf("c%d", i)}, []Hit{{ID: fmt.Sprintf("h%d", i), AlertID: "S0001"}}); err != nil {
				t.Error(err)
				return
			}
			if _, ok, err := r.Alert("S0002"); err != nil || !ok {
				t.Errorf("alert unreadable during rotation: %v %v", ok, err)
				return
			}
			recorded++
		}
	}()
	chunks := 0
	err := r.Rotate(ctx, testKey(2), 50, func(done, total int) {
		chunks++
		if chunks == 3 { // a delta lands mid-rotation, on both sides of the mark
			cur, _ := r.Cursor()
			ups := []Alert{plate("S0599", "NEW2", 3)}
			var dels []string
			for i := range 30 {
				ups = append(ups, plate(fmt.Sprintf("S%04d", 10+i), "UPD", 2), plate(fmt.Sprintf("N%d", i), "NEW", 1))
				dels = append(dels, fmt.Sprintf("S%04d", 100+i))
			}
			ch := change(cur, have, ups, append(dels, "S0001"))
			if err := r.Apply(ctx, ch); err != nil {
				t.Error(err)
			}
		}
	})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	after := heldBy(t, r)
	if after.digest != after.cur.Digest || after.alerts != len(have) || after.gens != 1 {
		t.Fatalf("after rotation: %+v (want %d alerts)", after, len(have))
	}
	if after.cur.Seq != before.cur.Seq+1 {
		t.Fatalf("cursor %d", after.cur.Seq)
	}
	if a, ok, _ := r.Alert("S0599"); !ok || a.Version != 3 {
		t.Fatalf("delta during rotation lost: %+v", a)
	}
	if _, ok, _ := r.Alert("S0001"); ok {
		t.Fatal("delete during rotation lost")
	}
	ob, _ := r.Outbox()
	if p, err := r.Pending(0, ob.Depth+1); err != nil || len(p) != recorded {
		t.Fatalf("outbox after rotation: %d of %d, %v", len(p), recorded, err)
	}
	ks, _ := r.KeyStatus()
	if ks.Generation != 2 || ks.Rotating {
		t.Fatalf("key status %+v", ks)
	}
	r.Close()
	if _, err := Open(ctx, path, testKey(1), Options{}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("old key still opens: %v", err)
	}
	r = openTest(t, path, testKey(2))
	defer r.Close()
	if h := heldBy(t, r); h.digest != after.digest || h.alerts != after.alerts {
		t.Fatal("reopened replica differs")
	}
	if _, err := r.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	// Finished rotation, old key configured, new key as NextKey: opens.
	r.Close()
	r, err = Open(ctx, path, testKey(1), Options{NextKey: testKey(2)})
	if err != nil {
		t.Fatal(err)
	}
}

// A rotation stopped half-way (here by its context, as a kill would stop
// it) resumes when the new key is supplied and rolls back when it is not.
func TestRotationResumesOrRollsBack(t *testing.T) {
	for _, mode := range []string{"resume", "rollback"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "r.db")
			r := openTest(t, path, testKey(1))
			have := map[string]Alert{}
			seed(t, r, have, 300)
			r.Record(ctx, CheckRecord{ID: "c1"}, []Hit{{ID: "h1", AlertID: "S0001"}})
			before := heldBy(t, r)
			// The order is sorted in runs spilled beside the file, as at
			// 100 million alerts, where it does not fit in memory.
			r.rotationMemory = 2 << 10
			runs := 0
			cctx, cancel := context.WithCancel(ctx)
			err := r.Rotate(cctx, testKey(2), 40, func(done, total int) {
				if runs == 0 {
					ents, _ := os.ReadDir(rotationRunDir(path))
					runs = len(ents)
				}
				if done >= 120 {
					cancel()
				}
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("rotation not paused: %v", err)
			}
			if runs < 5 {
				t.Errorf("the rotation's order of 300 alerts spilled %d runs with 2 KiB of memory, want several", runs)
			}
			if _, err := os.Stat(rotationRunDir(path)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the order's runs left beside the file after the pause: %v", err)
			}
			if ks, _ := r.KeyStatus(); !ks.Rotating || ks.Done != 120 || ks.Total != 400 { // 300 alerts, 100 expiry entries
				t.Fatalf("status mid-rotation %+v", ks)
			}
			r.Close()
			if st, err := ReadStatus(ctx, path, Options{}); err != nil || !st.Key.Rotating || st.Key.Done != 120 || st.Key.Generation != 1 {
				t.Fatalf("read-only status mid-rotation: %+v %v", st, err)
			}
			opt := Options{}
			if mode == "resume" {
				opt.NextKey = testKey(2)
			}
			r, err = Open(ctx, path, testKey(1), opt)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if mode == "rollback" {
				// Open forgot the rotation and left its partial copy to be
				// dropped once it returned (at 100M, minutes of a start).
				if len(r.strays) != 1 {
					t.Fatalf("Open left %d stray generations to drop after it, want the rotation's one", len(r.strays))
				}
				ks, _ := r.KeyStatus()
				h := heldBy(t, r)
				if due, _ := r.CompactDue(); !due {
					t.Error("the dropped copy's space is not marked for the next start's compaction")
				}
				if ks.Rotating || ks.Generation != 1 || h.gens != 1 || h.digest != before.digest {
					t.Fatalf("not rolled back: %+v %+v", ks, h)
				}
				if p, _ := r.Pending(0, 10); len(p) != 1 {
					t.Fatal("outbox lost in rollback")
				}
				return
			}
			if err := r.Rotate(ctx, testKey(3), 40, nil); !errors.Is(err, ErrBusy) {
				t.Fatalf("rotation to another key while one is pending: %v", err)
			}
			r.rotationMemory = 2 << 10
			if err := r.Rotate(ctx, testKey(2), 40, nil); err != nil {
				t.Fatal(err)
			}
			h := heldBy(t, r)
			if h.digest != before.digest || h.alerts != before.alerts || h.gens != 1 {
				t.Fatalf("after resumed rotation %+v", h)
			}
			if p, err := r.Pending(0, 10); err != nil || len(p) != 1 || p[0].ID != "h1" {
				t.Fatalf("outbox after rotation %v %v", p, err)
			}
		})
	}
}

func TestSnapshotCommitAbortAndKill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(1))
	seed(t, r, map[string]Alert{}, 50)
	before := heldBy(t, r)

	// A wrong digest leaves the active set alone.
	s, err := r.BeginSnapshot(2, 10, [32]byte{7})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.BeginSnapshot(2, 10, [32]byte{7}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second snapshot: %v", err)
	}
	s.Add(ctx, []Alert{plate("X1", "XX1", 1)})
	if err := s.Commit(ctx, Digest{}); !errors.Is(err, ErrDigest) {
		t.Fatalf("bad digest: %v", err)
	}
	if h := heldBy(t, r); h.digest != before.digest || h.gens != 1 {
		t.Fatalf("refused snapshot changed the replica: %+v", h)
	}

	// A good one replaces the set and moves the cursor.
	s, err = r.BeginSnapshot(2, 10, [32]byte{7})
	if err != nil {
		t.Fatal(err)
	}
	var want Digest
	for c := range 3 {
		var chunk []Alert
		for i := range 100 {
			a := plate(fmt.Sprintf("Z%d-%d", c, i), fmt.Sprintf("Q%d%d", c, i), 1)
			chunk = append(chunk, a)
			want.Add(a.ID, a.Version)
		}
		if err := s.Add(ctx, chunk); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := r.Alert("Z0-1"); ok {
		t.Fatal("snapshot visible before commit")
	}
	if err := s.Commit(ctx, want); err != nil {
		t.Fatal(err)
	}
	h := heldBy(t, r)
	if h.alerts != 300 || h.digest != want || h.cur.Digest != want || h.cur.Seq != 10 || h.cur.Epoch != 2 || h.gens != 1 {
		t.Fatalf("after snapshot %+v", h)
	}
	if _, ok, _ := r.Alert("S0001"); ok {
		t.Fatal("old generation still readable")
	}

	// A snapshot left half-loaded (as by a kill) is gone at the next open.
	s, _ = r.BeginSnapshot(3, 1, [32]byte{})
	s.Add(ctx, []Alert{plate("K1", "KK1", 1)})
	r.db.Close() // no Commit, no Abort
	r.j.Close()
	r = openTest(t, path, testKey(1))
	if h2 := heldBy(t, r); h2.digest != want || h2.gens != 1 {
		t.Fatalf("partial snapshot survived: %+v", h2)
	}
	if _, err := r.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	r.Close()

	// Compaction at open reclaims the dropped generations.
	fi, _ := os.Stat(path)
	r, err = Open(ctx, path, testKey(1), Options{Compact: true})
	if err != nil {
		t.Fatal(err)
	}
	fi2, _ := os.Stat(path)
	if h3 := heldBy(t, r); h3.digest != want || h3.alerts != 300 {
		t.Fatalf("compaction lost data: %+v", h3)
	}
	t.Logf("compacted %d -> %d bytes", fi.Size(), fi2.Size())
	if fi2.Size() >= fi.Size() {
		t.Errorf("compaction did not shrink the file: %d -> %d", fi.Size(), fi2.Size())
	}
	r.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(metaCompact) != nil {
			t.Error("compact flag left set")
		}
		return nil
	})
	r.Close()
}

func TestExpiredAlertsPurgedAuditedDigestKept(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	clock := now
	r, err := Open(ctx, filepath.Join(t.TempDir(), "r.db"), testKey(1), Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	have := map[string]Alert{}
	cur, _ := r.Cursor()
	ups := []Alert{
		person("P1", "Kowalczyk", 1, now.Add(30*time.Second)),
		person("P2", "Nowak", 1, now.Add(90*time.Second)),
		person("P3", "Zielinski", 1, time.Time{}), // no expiry
		person("P4", "Already", 1, now.Add(-time.Hour)),
	}
	if err := r.Apply(ctx, change(cur, have, ups, nil)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := r.Alert("P4"); ok {
		t.Fatal("alert expired on arrival is readable")
	}
	clock = now.Add(31 * time.Second)
	if _, ok, _ := r.Alert("P1"); ok {
		t.Fatal("expired alert still returned before the purge")
	}
	n, err := r.PurgeExpired(ctx, clock)
	if err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
	h := heldBy(t, r)
	if h.alerts != 2 || h.tombs != 2 || h.digest != h.cur.Digest {
		t.Fatalf("after purge %+v", h)
	}
	// Central deletes P1 later and re-issues P4 with a new expiry: the
	// tombstones make the digest come out as central's.
	cur, _ = r.Cursor()
	if err := r.Apply(ctx, change(cur, have, []Alert{person("P4", "Already", 2, now.Add(time.Hour))}, []string{"P1"})); err != nil {
		t.Fatal(err)
	}
	if a, ok, _ := r.Alert("P4"); !ok || a.Version != 2 {
		t.Fatal("re-issued alert not held")
	}
	clock = now.Add(2 * time.Minute)
	if n, err := r.PurgeExpired(ctx, clock); err != nil || n != 1 {
		t.Fatalf("second purge: %d %v", n, err)
	}
	expired := []string{}
	r.AuditRecords(ctx, func(rec AuditRecord) error {
		if rec.Event == EventAlertExpired {
			expired = append(expired, rec.Ref)
		}
		return nil
	})
	if strings.Join(expired, ",") != "P1,P2" {
		t.Fatalf("purges audited: %v", expired)
	}
	n = 0
	r.Alerts(ctx, func(Alert) error { n++; return nil })
	if n != 2 {
		t.Fatalf("%d live alerts, want 2 (P3, P4)", n)
	}
}

func TestRetentionKeepsChainVerifiable(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r, err := Open(ctx, filepath.Join(t.TempDir(), "r.db"), testKey(1), Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range 20 {
		clock = clock.Add(24 * time.Hour)
		r.Record(ctx, CheckRecord{ID: fmt.Sprintf("c%d", i)}, nil)
	}
	res, err := r.PurgeRetention(ctx, time.Date(2026, 1, 11, 12, 0, 0, 0, time.UTC))
	if err != nil || res.Audit != 10 {
		t.Fatalf("retention: %+v %v", res, err)
	}
	n, err := r.VerifyAudit(ctx)
	if err != nil || n != 11 {
		t.Fatalf("verify after retention: %d %v", n, err)
	}
	// Removing the oldest remaining record is still caught.
	r.j.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketAudit).Delete(u64(11)) })
	if _, err := r.VerifyAudit(ctx); !errors.Is(err, ErrAuditChain) || !strings.Contains(err.Error(), "11") {
		t.Fatalf("removal after the anchor: %v", err)
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	r := openTest(t, filepath.Join(t.TempDir(), "r.db"), testKey(1))
	defer r.Close()
	var d Digest
	var lines []string
	for i := range 25 {
		id := fmt.Sprintf("I%d", i)
		lines = append(lines, fmt.Sprintf(`{"id":%q,"version":2,"source":"SIS","category":"art38-seizure","action":"seize","issued":"2026-01-01T00:00:00Z","subject":{"kind":"container","container":{"number":"CSQU305438%d"}}}`, id, i%10))
		d.Add(id, 2)
	}
	hdr := fmt.Sprintf(`{"snapshot":{"epoch":4,"seq":77,"hash":"%064x","digest":%q,"count":25}}`, 1, d.String())
	var calls []ImportProgress
	res, err := Import(ctx, strings.NewReader(hdr+"\n"+strings.Join(lines, "\n")+"\n"), r, func(p ImportProgress) { calls = append(calls, p) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Alerts != 25 || res.Cursor.Seq != 77 || res.Cursor.Epoch != 4 || res.Cursor.Digest != d {
		t.Fatalf("import result %+v", res)
	}
	if len(calls) == 0 || calls[len(calls)-1].Records != 25 || calls[len(calls)-1].Total != 25 {
		t.Fatalf("progress %+v", calls)
	}
	// A bad line anywhere leaves the replica as it was, and names the line
	// without quoting it.
	for name, bad := range map[string]string{
		"unknown field": `{"id":"B1","version":1,"subject":{"kind":"phone","phone":"+4930123"},"nmae":"x"}`,
		"no subject":    `{"id":"B1","version":1,"subject":{"kind":"person","person":{"surname":""}}}`,
		"bad json":      `{"id":"B1","version":1,"subject":{"kind":"person","person":{"surname":"Secretname"`,
		"bad time":      `{"id":"B1","version":1,"issued":"Secretname","subject":{"kind":"phone","phone":"+4930123"}}`,
	} {
		_, err := Import(ctx, strings.NewReader(lines[0]+"\n"+bad+"\n"+lines[1]), r, nil)
		if err == nil || !strings.Contains(err.Error(), "line 2") || strings.Contains(err.Error(), "Secretname") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A header whose digest does not match refuses the import.
	badHdr := fmt.Sprintf(`{"snapshot":{"epoch":5,"seq":1,"digest":"%064x"}}`, 9)
	if _, err := Import(ctx, strings.NewReader(badHdr+"\n"+lines[0]), r, nil); !errors.Is(err, ErrDigest) {
		t.Fatalf("digest mismatch: %v", err)
	}
	if _, err := Import(ctx, strings.NewReader(strings.Join(lines[:5], "\n")+"\n"+lines[2]), r, nil); !errors.Is(err, ErrInvalidAlert) {
		t.Fatalf("repeated ID: %v", err)
	}
	if _, err := Import(ctx, strings.NewReader("\n"), r, nil); !errors.Is(err, ErrImportFormat) {
		t.Fatalf("empty file: %v", err)
	}
	if h := heldBy(t, r); h.digest != d || h.alerts != 25 || h.cur.Seq != 77 || h.gens != 1 {
		t.Fatalf("refused imports changed the replica: %+v", h)
	}
}

func TestNoPlaintextAfterEveryOperation(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	clock := time.Now()
	r, err := Open(ctx, path, testKey(1), Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"Wisniewska", "Wisniewskaski", "MZK4471", "MSCU1234565", "XJ8812345"}
	s, _ := r.BeginSnapshot(1, 1, [32]byte{})
	ups := []Alert{
		person("A1", secrets[0], 1, clock.Add(time.Minute)),
		plate("A2", secrets[2], 1),
		{ID: "A3", Version: 1, Subject: Subject{Kind: SubjectContainer, Container: &Container{Number: secrets[3]}}},
		{ID: "A4", Version: 1, Subject: Subject{Kind: SubjectDocument, Document: &Document{Number: secrets[4], Country: "PL"}}},
	}
	s.Add(ctx, ups)
	if err := s.Commit(ctx, s.Digest()); err != nil {
		t.Fatal(err)
	}
	if err := r.Rotate(ctx, testKey(2), 2, nil); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Minute)
	if n, _ := r.PurgeExpired(ctx, clock); n != 1 {
		t.Fatal("nothing purged")
	}
	r.Close()
	raw, _ := os.ReadFile(path)
	for _, sec := range secrets {
		if bytes.Contains(raw, []byte(sec)) {
			t.Errorf("%q in clear in the file", sec)
		}
	}
}

func TestMaintainPurgesExpiredAndOldAudit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := start
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	r, err := Open(ctx, filepath.Join(t.TempDir(), "r.db"), testKey(1), Options{Now: now, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cur, _ := r.Cursor()
	if err := r.Apply(ctx, change(cur, map[string]Alert{}, []Alert{person("M1", "Expiring", 1, start.Add(time.Minute))}, nil)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	clock = start.Add(400 * 24 * time.Hour)
	mu.Unlock()
	done := make(chan struct{})
	go func() { r.Maintain(ctx, 5*time.Millisecond, 365*24*time.Hour); close(done) }()
	var events []AuditEvent
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		events = events[:0]
		r.AuditRecords(ctx, func(rec AuditRecord) error { events = append(events, rec.Event); return nil })
		if len(events) > 0 && events[len(events)-1] == EventAuditPurged {
			break
		}
	}
	cancel()
	<-done
	// The delta's record is past retention and gone; the purge of M1 and
	// the retention run remain, and the chain verifies.
	if len(events) != 2 || events[0] != EventAlertExpired || events[1] != EventAuditPurged {
		t.Fatalf("audit after maintenance: %v", events)
	}
	if _, err := r.VerifyAudit(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Deltas keep applying while a snapshot loads; the snapshot then replaces
// the whole set. A snapshot and a rotation exclude each other.
func TestSnapshotWhileDeltasAndRotationExclusion(t *testing.T) {
	ctx := context.Background()
	r := openTest(t, filepath.Join(t.TempDir(), "r.db"), testKey(1))
	defer r.Close()
	have := map[string]Alert{}
	seed(t, r, have, 20)
	s, err := r.BeginSnapshot(1, 50, [32]byte{5})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Rotate(ctx, testKey(2), 10, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("rotation during a snapshot: %v", err)
	}
	s.Add(ctx, []Alert{plate("SN1", "SNAP1", 1)})
	cur, _ := r.Cursor()
	if err := r.Apply(ctx, change(cur, have, []Alert{plate("D1", "DELTA1", 1)}, nil)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := r.Alert("D1"); !ok {
		t.Fatal("delta during snapshot not visible")
	}
	if err := s.Commit(ctx, s.Digest()); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := r.Alert("D1"); ok {
		t.Fatal("snapshot did not replace the set")
	}
	if err := s.Add(ctx, nil); !errors.Is(err, ErrSnapshotDone) {
		t.Fatalf("add after commit: %v", err)
	}
	// A paused rotation blocks snapshots until it is finished.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	r.Rotate(cctx, testKey(2), 10, nil)
	if _, err := r.BeginSnapshot(1, 51, [32]byte{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("snapshot during a rotation: %v", err)
	}
	if err := r.Rotate(ctx, testKey(2), 10, nil); err != nil {
		t.Fatal(err)
	}
	s, err = r.BeginSnapshot(1, 51, [32]byte{})
	if err != nil {
		t.Fatal(err)
	}
	s.Abort()
	if h := heldBy(t, r); h.alerts != 1 || h.gens != 1 || h.cur.Seq != 50 {
		t.Fatalf("after abort %+v", h)
	}
}

// deleteSome deletes at most its budget of entries, nested buckets' first,
// deletes a nested bucket once emptied, and says when the bucket is empty:
// a stray generation is dropped a chunk per transaction, and a kill between
// two leaves a smaller one for the next start.
func TestDeleteSomeKeepsToItsBudget(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "x.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func() (n int) {
		db.View(func(tx *bolt.Tx) error {
			var walk func(b *bolt.Bucket)
			walk = func(b *bolt.Bucket) {
				b.ForEach(func(k, v []byte) error {
					if v == nil {
						walk(b.Bucket(k))
					} else {
						n++
					}
					return nil
				})
			}
			if g := tx.Bucket([]byte("gen.9")); g != nil {
				walk(g)
			}
			return nil
		})
		return n
	}
	err = db.Update(func(tx *bolt.Tx) error {
		g, _ := tx.CreateBucket([]byte("gen.9"))
		for _, name := range []string{"alerts", "expiry"} {
			b, _ := g.CreateBucket([]byte(name))
			for i := range 25 {
				b.Put([]byte{byte(i)}, []byte("v"))
			}
		}
		return g.Put([]byte("zz"), []byte("plain"))
	})
	if err != nil {
		t.Fatal(err)
	}
	for left, round := 51, 0; left > 0; round++ {
		var empty bool
		err := db.Update(func(tx *bolt.Tx) error {
			budget := 7
			var err error
			empty, err = deleteSome(tx.Bucket([]byte("gen.9")), &budget)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := max(left-7, 0)
		if got := count(); got != want || empty != (want == 0) {
			t.Fatalf("round %d: %d entries left (empty %v), want %d", round, got, empty, want)
		}
		left = want
	}
}
