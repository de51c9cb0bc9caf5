package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// damageFixture is a real replica: alerts over several pages, checks with
// hits waiting in the outbox, some acknowledged, an audit log.
type damageFixture struct {
	key     staticKey
	data    []byte // the file, up to its high water mark
	size    int64  // the file's size (bbolt grows it ahead, sparse)
	journal []byte // the journal beside it, whole
	wal     []byte // the journal's log
	alerts  map[string]Alert
	pending []Hit
	cursor  Cursor
}

func buildDamageFixture(t testing.TB) *damageFixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "replica.db")
	fx := &damageFixture{key: testKey(7), alerts: map[string]Alert{}}
	r, err := Open(context.Background(), path, fx.key, Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	have := map[string]Alert{}
	var ups []Alert
	for i := range 400 {
		ups = append(ups, plate(fmt.Sprintf("SIS-%04d", i), fmt.Sprintf("HH AB %04d", i), 1))
	}
	if err := r.Apply(ctx, change(Cursor{}, have, ups, nil)); err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		hits := []Hit{{ID: fmt.Sprintf("hit-%03d", i), CheckID: fmt.Sprintf("chk-%03d", i), Time: time.Unix(1700000000+int64(i), 0).UTC(),
			Field: "plate", ItemKind: "plate", Value: "HHAB0001", AlertID: "SIS-0001", AlertVersion: 1, Match: "exact", Score: 1}}
		if _, err := r.Record(ctx, CheckRecord{ID: fmt.Sprintf("chk-%03d", i), Device: "anpr-1", Items: 1}, hits); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Acknowledge(20); err != nil {
		t.Fatal(err)
	}
	fx.alerts = have
	if fx.pending, err = r.Pending(0, 1000); err != nil || len(fx.pending) != 40 {
		t.Fatalf("fixture outbox: %d, %v", len(fx.pending), err)
	}
	fx.cursor, _ = r.Cursor()
	r.Close()
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fx.journal, err = os.ReadFile(JournalPath(path)); err != nil {
		t.Fatal(err)
	}
	if fx.wal, err = os.ReadFile(WALPath(path)); err != nil {
		t.Fatal(err)
	}
	bf, err := openBoltFile(bytes.NewReader(full), int64(len(full)))
	if err != nil {
		t.Fatalf("the fixture itself: %v", err)
	}
	fx.size = int64(len(full))
	fx.data = full[:bf.meta.hwm*uint64(bf.pageSize)]
	return fx
}

// write writes data as a replica file of size bytes (sparse past data).
func writeSparse(t testing.TB, path string, data []byte, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data[:min(int64(len(data)), size)]); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// outcome opens a damaged copy and reads everything in it. It returns
// "refused" or "opened"; it fails the test when the damage went unnoticed
// (data read back that differs from the original without an error) or the
// refusal does not name the file and the remedy. A crash fails the whole
// test binary, which is the point.
func (fx *damageFixture) outcome(t *testing.T, path, what string) string {
	t.Helper()
	if _, err := os.Stat(JournalPath(path)); err != nil {
		writeSparse(t, JournalPath(path), fx.journal, int64(len(fx.journal)))
	}
	// The journal's log goes with it: a journal whose newest meta page is
	// damaged falls back to the transaction before, and the log holds what
	// that one lacks.
	writeSparse(t, WALPath(path), fx.wal, int64(len(fx.wal)))
	defer os.Remove(JournalPath(path))
	defer os.Remove(WALPath(path))
	r, err := Open(context.Background(), path, fx.key, Options{LockTimeout: time.Second})
	if err != nil {
		msg := err.Error()
		switch {
		case errors.Is(err, ErrDamaged) && strings.Contains(msg, path) && strings.Contains(msg, "borderpost replica rebuild"):
		case errors.Is(err, ErrWrongKey) && strings.Contains(msg, "move the replica and its journal aside"):
			// The salt or a key check was hit: the key no longer matches.
		case errors.Is(err, ErrCorrupt) || errors.Is(err, ErrFormat) || errors.Is(err, ErrJournal):
			// A meta value that does not decode: refused, named.
		default:
			t.Errorf("%s: refused without the file and the remedy: %v", what, err)
		}
		// What rebuild would recover from it: never a crash, never a hit
		// the replica did not hold.
		hits, _, _ := SalvageOutbox(context.Background(), path, fx.key)
		for _, h := range hits {
			if !strings.HasPrefix(h.ID, "hit-") {
				t.Errorf("%s: salvage made up entry %+v", what, h)
			}
		}
		return "refused"
	}
	defer r.Close()
	ctx := context.Background()
	got := map[string]Alert{}
	errAlerts := r.Alerts(ctx, func(a Alert) error { got[a.ID] = a; return nil })
	if c, err := r.Cursor(); err == nil && c.Seq == 0 && errAlerts == nil {
		// A damaged meta page makes bbolt take the other one, the
		// transaction before: here the empty replica before the change,
		// consistent with its cursor (central sends the change again).
		if len(got) != 0 {
			t.Errorf("%s: opened before the change, but %d alerts read back", what, len(got))
		}
	} else if errAlerts == nil {
		for id, a := range fx.alerts {
			if g, ok := got[id]; !ok || g.Version != a.Version || g.Subject.Vehicle.Plate != a.Subject.Vehicle.Plate {
				t.Errorf("%s: opened, but alert %s reads back as %+v (%v) without an error", what, id, g, ok)
				break
			}
		}
		if len(got) != len(fx.alerts) {
			t.Errorf("%s: opened, %d alerts read back without an error, want %d", what, len(got), len(fx.alerts))
		}
	}
	pending, errPending := r.Pending(0, 1000)
	if errPending == nil {
		ids := func(hs []Hit) []string {
			var s []string
			for _, h := range hs {
				s = append(s, h.ID)
			}
			return s
		}
		if !slices.Equal(ids(pending), ids(fx.pending)) {
			t.Errorf("%s: opened, outbox reads back as %v without an error", what, ids(pending))
		}
	}
	r.VerifyAudit(ctx)
	// Writing to it must not crash either.
	r.Record(ctx, CheckRecord{ID: "chk-after", Device: "anpr-1", Items: 1}, nil)
	return "opened"
}

// TestDamagedReplicaFilesNeverCrash: copies of a real replica cut short at
// many offsets, and with bits flipped at many positions (fixed seed), are
// each either opened with their data intact (or the damage reported when
// the damaged record is read) or refused with an error naming the file
// and `borderpost replica rebuild`. None crashes the process, as they did
// inside bbolt before (SIGSEGV).
func TestDamagedReplicaFilesNeverCrash(t *testing.T) {
	fx := buildDamageFixture(t)
	dir := t.TempDir()
	used := int64(len(fx.data))
	ps := int64(4096)
	count := map[string]int{}

	// Cut short: every page boundary of the used part, and around it.
	var cuts []int64
	for off := int64(0); off <= used+2*ps; off += ps {
		cuts = append(cuts, off, off+1, off+ps/2)
	}
	cuts = append(cuts, used+ps*100, fx.size-1, fx.size)
	for _, off := range cuts {
		if off <= 0 || off > fx.size {
			continue
		}
		path := filepath.Join(dir, fmt.Sprintf("cut-%d.db", off))
		writeSparse(t, path, fx.data, off)
		count["cut "+fx.outcome(t, path, fmt.Sprintf("cut at %d", off))]++
		os.Remove(path)
	}
	// An empty file (a copy that wrote nothing) is refused, not made a
	// new, empty replica.
	path := filepath.Join(dir, "empty.db")
	writeSparse(t, path, nil, 0)
	if got := fx.outcome(t, path, "empty file"); got != "refused" {
		t.Error("an empty replica file was opened as a new replica")
	}

	// Bits flipped: in the meta pages, and anywhere in the used part.
	rng := rand.New(rand.NewPCG(15, 3))
	for i := range 600 {
		b := bytes.Clone(fx.data)
		var pos int64
		if i < 150 {
			pos = rng.Int64N(2 * ps)
		} else {
			pos = rng.Int64N(used)
		}
		b[pos] ^= 1 << rng.IntN(8)
		path := filepath.Join(dir, fmt.Sprintf("flip-%d.db", i))
		writeSparse(t, path, b, fx.size)
		count["flip "+fx.outcome(t, path, fmt.Sprintf("bit flipped at %d (case %d)", pos, i))]++
		os.Remove(path)
	}
	// The same in the journal, beside an intact replica.
	jused := int64(len(fx.journal))
	for i := range 200 {
		b := bytes.Clone(fx.journal)
		pos := rng.Int64N(jused)
		if i < 60 {
			pos = rng.Int64N(2 * ps)
		}
		b[pos] ^= 1 << rng.IntN(8)
		path := filepath.Join(dir, fmt.Sprintf("jflip-%d.db", i))
		writeSparse(t, path, fx.data, fx.size)
		writeSparse(t, JournalPath(path), b, jused)
		count["journal flip "+fx.outcome(t, path, fmt.Sprintf("journal bit flipped at %d (case %d)", pos, i))]++
		os.Remove(path)
	}
	for _, off := range []int64{jused / 2, jused - ps, 3 * ps} {
		path := filepath.Join(dir, fmt.Sprintf("jcut-%d.db", off))
		writeSparse(t, path, fx.data, fx.size)
		writeSparse(t, JournalPath(path), fx.journal, off)
		count["journal cut "+fx.outcome(t, path, fmt.Sprintf("journal cut at %d", off))]++
		os.Remove(path)
	}
	t.Logf("outcomes: %v", count)
	// The journal is a few pages, mostly sealed values: which random
	// flips land where its pages are checked at open moves with the
	// fixture's size, so both paths are required of its damage as a whole.
	journalRefused := count["journal flip refused"] + count["journal cut refused"]
	journalOpened := count["journal flip opened"] + count["journal cut opened"]
	if count["cut refused"] == 0 || count["flip refused"] == 0 || count["cut opened"] == 0 || journalRefused == 0 || journalOpened == 0 {
		t.Errorf("outcomes %v: the damage did not exercise both paths", count)
	}
}

// TestDamagedReplicaRefusedBeforeMapping: a replica cut short inside its
// data is refused by Open with ErrDamaged naming the file and the remedy;
// VerifyFile says the same without a key.
func TestDamagedReplicaRefusedBeforeMapping(t *testing.T) {
	fx := buildDamageFixture(t)
	path := filepath.Join(t.TempDir(), "replica.db")
	writeSparse(t, path, fx.data, int64(len(fx.data))/2)
	_, err := Open(context.Background(), path, fx.key, Options{LockTimeout: time.Second})
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "borderpost replica rebuild") {
		t.Fatalf("Open of a replica cut in half: %v", err)
	}
	if err := VerifyFile(path); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "file cut short") {
		t.Fatalf("VerifyFile of a replica cut in half: %v", err)
	}
	writeSparse(t, path, fx.data, fx.size)
	if err := VerifyFile(path); err != nil {
		t.Fatalf("VerifyFile of the intact replica: %v", err)
	}
}

// FuzzCheckBoltFile: whatever the bytes, the check before mapping never
// panics, and a file it passes opens, reads and writes without crashing.
func FuzzCheckBoltFile(f *testing.F) {
	fx := buildDamageFixture(f)
	f.Add(fx.data)
	f.Add(fx.data[:len(fx.data)/2])
	f.Add(fx.data[:8192])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkBoltFile(bytes.NewReader(data), int64(len(data))) != nil {
			return
		}
		path := filepath.Join(t.TempDir(), "replica.db")
		writeSparse(t, path, data, int64(len(data)))
		r, err := Open(context.Background(), path, fx.key, Options{LockTimeout: time.Second})
		if err != nil {
			return
		}
		defer r.Close()
		ctx := context.Background()
		r.Alerts(ctx, func(Alert) error { return nil })
		r.Pending(0, 1000)
		r.VerifyAudit(ctx)
		r.Record(ctx, CheckRecord{ID: "chk-fuzz", Device: "anpr-1", Items: 1}, nil)
	})
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r *os.File
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// A replica whose pages deltas have scattered (random keys written in
// many transactions: every split and copy-on-write takes a page wherever
// one is free) is checked reading it about once: the pages are checked a
// level at a time in page order, in runs read together. Walked in key
// order through four windows of 256 KiB, the same file read a window for
// nearly every page (46 s for a 100-million-alert replica, 5 s now).
func TestVerifyReadsAScatteredFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replica.db")
	r := openTest(t, path, testKey(1))
	rng := rand.New(rand.NewPCG(1, 2))
	have := map[string]Alert{}
	for round := range 40 {
		var ups []Alert
		for range 500 {
			ups = append(ups, plate(fmt.Sprintf("S%08d", rng.IntN(1<<30)), fmt.Sprintf("PL%07d", rng.IntN(1<<24)), 1))
		}
		cur, _ := r.Cursor()
		if err := r.Apply(context.Background(), change(cur, have, ups, nil)); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	bf, err := openBoltFile(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	used := int64(bf.meta.hwm) * int64(bf.pageSize)
	cr := &countingReaderAt{r: f}
	if err := checkBoltFile(cr, fi.Size()); err != nil {
		t.Fatal(err)
	}
	if cr.n > 2*used {
		t.Errorf("verifying read %d bytes of a database of %d: want at most twice over", cr.n, used)
	}
	if testing.Verbose() {
		t.Logf("read %d bytes to verify %d (%.2fx)", cr.n, used, float64(cr.n)/float64(used))
	}
}
