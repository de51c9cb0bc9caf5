package store

import (
	"bytes"
	"context"
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

// holdJournal holds the journal's writer, as a slow commit under a
// delta's load would: the mover cannot move anything until release.
func holdJournal(t *testing.T, r *Replica) (release func()) {
	t.Helper()
	held, done := make(chan struct{}), make(chan struct{})
	rel := make(chan struct{})
	go func() {
		defer close(done)
		r.j.Update(func(*bolt.Tx) error {
			close(held)
			<-rel
			return nil
		})
	}()
	<-held
	once := false
	return func() {
		if !once {
			once = true
			close(rel)
			<-done
		}
	}
}

// killCopy copies the replica's files as they are on disk now, as a kill
// of the process would leave them, to dir, and returns the copy's path.
func killCopy(t *testing.T, path, dir string) string {
	t.Helper()
	dst := filepath.Join(dir, filepath.Base(path))
	for _, p := range []string{path, JournalPath(path), WALPath(path)} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+strings.TrimPrefix(p, path), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func walHit(i int) Hit {
	return Hit{ID: fmt.Sprintf("hit-%03d", i), CheckID: fmt.Sprintf("chk-%03d", i), AlertID: "A1", Time: time.Unix(1700000000+int64(i), 0).UTC(), Score: 1}
}

// A check is answered once its group is in the journal's log, before the
// journal holds it (here the journal's writer is held throughout): a kill
// then loses nothing. The next Open moves the checks in with the outbox
// sequences they were answered with, their audit records chained, and
// an acknowledgement logged after them applied after them.
func TestJournalLogReplaysAnsweredChecks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(1))
	defer r.Close()
	for i := range 3 { // in the journal before the kill
		if _, err := r.Record(ctx, CheckRecord{ID: fmt.Sprintf("chk-%03d", i), Device: "lane"}, []Hit{walHit(i)}); err != nil {
			t.Fatal(err)
		}
	}
	before := auditSummary(t, r)
	release := holdJournal(t, r)
	defer release()
	var answered []uint64
	for i := 3; i < 8; i++ {
		out, err := r.Record(ctx, CheckRecord{ID: fmt.Sprintf("chk-%03d", i), Device: "lane"}, []Hit{walHit(i)})
		if err != nil {
			t.Fatal(err)
		}
		answered = append(answered, out[0].Seq)
	}
	if _, err := r.Record(ctx, CheckRecord{ID: "chk-nohit", Device: "lane", Items: 2}, nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(answered, []uint64{4, 5, 6, 7, 8}) {
		t.Fatalf("outbox sequences answered %v, want 4-8 after the three in the journal", answered)
	}
	// An acknowledgement is logged too, but answered once moved: ask for
	// it and copy the files while it waits.
	logged := r.wal.loggedNow()
	acked := make(chan error, 1)
	go func() { _, err := r.Acknowledge(4); acked <- err }()
	waitFor(t, func() bool { return r.wal.loggedNow() == logged+1 }, "the acknowledgement in the log")
	copyPath := killCopy(t, path, t.TempDir())
	release()
	if err := <-acked; err != nil {
		t.Fatal(err)
	}

	c := openTest(t, copyPath, testKey(1))
	defer c.Close()
	if n, err := c.VerifyAudit(ctx); err != nil || n != len(before)+6 {
		t.Fatalf("audit after the replay: %d records, %v; want %d chained", n, err, len(before)+6)
	}
	log := auditSummary(t, c)
	if !slices.Equal(log[:len(before)], before) {
		t.Fatalf("records before the kill changed: %v, want %v", log[:len(before)], before)
	}
	for i, want := range []string{"chk-003", "chk-004", "chk-005", "chk-006", "chk-007", "chk-nohit"} {
		if got := log[len(before)+i]; !strings.HasPrefix(got, "check "+want+" ") {
			t.Fatalf("record %d after the kill: %q, want the check %s", len(before)+i, got, want)
		}
	}
	var got []string
	for _, h := range mustPending(t, c) {
		got = append(got, fmt.Sprintf("%s@%d", h.ID, h.Seq))
	}
	if want := []string{"hit-004@5", "hit-005@6", "hit-006@7", "hit-007@8"}; !slices.Equal(got, want) {
		t.Fatalf("outbox after the replay: %v, want %v (acknowledged up to 4)", got, want)
	}
	// The copy goes on from there: the next sequence follows the last
	// one answered, and a second start replays nothing twice.
	out, err := c.Record(ctx, CheckRecord{ID: "chk-after", Device: "lane"}, []Hit{walHit(9)})
	if err != nil || out[0].Seq != 9 {
		t.Fatalf("check after the replay: %+v %v, want sequence 9", out, err)
	}
	c.Close()
	c = openTest(t, copyPath, testKey(1))
	if n, err := c.VerifyAudit(ctx); err != nil || n != len(before)+7 {
		t.Fatalf("audit after a second start: %d records, %v; want %d", n, err, len(before)+7)
	}
	if p := mustPending(t, c); len(p) != 5 {
		t.Fatalf("outbox after a second start: %d entries, want 5", len(p))
	}
}

// An append a kill cut short is not replayed, whatever its bytes, and
// checks after the restart are recorded past it and found at the next
// start, never mixed with the torn bytes.
func TestJournalLogCutsATornTail(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(1))
	defer r.Close()
	release := holdJournal(t, r)
	defer release()
	var ends []int64
	for i := range 4 {
		if _, err := r.Record(ctx, CheckRecord{ID: fmt.Sprintf("chk-%03d", i), Device: "lane"}, []Hit{walHit(i)}); err != nil {
			t.Fatal(err)
		}
		r.wal.mu.Lock()
		ends = append(ends, r.wal.end)
		r.wal.mu.Unlock()
	}
	for _, cut := range []struct {
		name string
		tear func(b []byte)
	}{
		{"last frame half written", func(b []byte) { clear(b[(ends[2]+ends[3])/2 : ends[3]]) }},
		{"a byte of the last frame changed", func(b []byte) { b[ends[3]-5] ^= 0x40 }},
	} {
		t.Run(cut.name, func(t *testing.T) {
			dir := t.TempDir()
			cp := killCopy(t, path, dir)
			b, err := os.ReadFile(WALPath(cp))
			if err != nil {
				t.Fatal(err)
			}
			cut.tear(b)
			if err := os.WriteFile(WALPath(cp), b, 0o600); err != nil {
				t.Fatal(err)
			}
			c := openTest(t, cp, testKey(1))
			if p := mustPending(t, c); len(p) != 3 || p[2].ID != "hit-002" {
				t.Fatalf("outbox after a torn append: %v, want the three whole ones", p)
			}
			for i := 10; i < 12; i++ {
				if _, err := c.Record(ctx, CheckRecord{ID: fmt.Sprintf("chk-%03d", i), Device: "lane"}, []Hit{walHit(i)}); err != nil {
					t.Fatal(err)
				}
			}
			c.Close()
			c = openTest(t, cp, testKey(1))
			defer c.Close()
			var got []string
			for _, h := range mustPending(t, c) {
				got = append(got, h.ID)
			}
			if want := []string{"hit-000", "hit-001", "hit-002", "hit-010", "hit-011"}; !slices.Equal(got, want) {
				t.Fatalf("outbox after restarts: %v, want %v", got, want)
			}
			if _, err := c.VerifyAudit(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A log much smaller than the checks written through it starts new
// epochs as the mover catches up, and waits for it when full: nothing is
// lost or written twice, and a kill at any point of it replays only what
// the journal lacks.
func TestJournalLogWrapsAround(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openSmallLog(t, path)
	defer r.Close()
	const n = 1500 // about 400 bytes a frame: several times the log
	errs := make(chan error, 4)
	for lane := range 4 {
		go func() {
			for i := lane; i < n; i += 4 {
				if err := recordPadded(ctx, r, i); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	r.wal.mu.Lock()
	epochs := r.wal.epoch
	r.wal.mu.Unlock()
	if epochs < 5 {
		t.Fatalf("log in epoch %d after %d checks: it did not wrap", epochs, n)
	}
	cp := killCopy(t, path, t.TempDir())
	c := openTest(t, cp, testKey(1))
	defer c.Close()
	p := mustPending(t, c)
	if len(p) != n {
		t.Fatalf("outbox %d entries after %d checks", len(p), n)
	}
	for i, h := range p {
		if h.Seq != uint64(i+1) {
			t.Fatalf("outbox entry %d has sequence %d: sequences are not dense", i, h.Seq)
		}
	}
	if k, err := c.VerifyAudit(ctx); err != nil || k != n {
		t.Fatalf("audit: %d records, %v; want %d", k, err, n)
	}
}

// A log beside a journal that does not name it (left by a journal made
// afresh, or copied from another post) is never replayed: it is made
// again, and the replica opens with its own journal intact.
func TestJournalLogOfAnotherJournalIsNotReplayed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	ra := openTest(t, a, testKey(1))
	rb := openTest(t, b, testKey(1))
	if _, err := rb.Record(ctx, CheckRecord{ID: "chk-b", Device: "lane"}, []Hit{walHit(1)}); err != nil {
		t.Fatal(err)
	}
	release := holdJournal(t, ra)
	if _, err := ra.Record(ctx, CheckRecord{ID: "chk-a", Device: "lane"}, []Hit{walHit(2)}); err != nil {
		t.Fatal(err)
	}
	foreign, err := os.ReadFile(WALPath(a))
	if err != nil {
		t.Fatal(err)
	}
	release()
	ra.Close()
	rb.Close()
	if err := os.WriteFile(WALPath(b), foreign, 0o600); err != nil {
		t.Fatal(err)
	}
	rb = openTest(t, b, testKey(1))
	defer rb.Close()
	if p := mustPending(t, rb); len(p) != 1 || p[0].ID != "hit-001" {
		t.Fatalf("outbox of b with a's log beside it: %v", p)
	}
	if got, _ := os.ReadFile(WALPath(b)); string(got[:walHeaderLen]) == string(foreign[:walHeaderLen]) {
		t.Fatal("a's log was kept beside b")
	}
}

// openSmallLog opens a replica whose journal log is as small as a log
// may be (68 KiB), so that a test's checks go round it.
func openSmallLog(t *testing.T, path string) *Replica {
	t.Helper()
	r, err := Open(context.Background(), path, testKey(1), Options{LockTimeout: time.Second, WALSize: walMinSize})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// recordPadded records check i with one hit of about 400 bytes sealed.
func recordPadded(ctx context.Context, r *Replica, i int) error {
	h := walHit(i)
	h.Value = strings.Repeat("x", 200)
	_, err := r.Record(ctx, CheckRecord{ID: fmt.Sprintf("chk-%04d", i), Device: "lane"}, []Hit{h})
	return err
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// The log is a ring: with the mover held, appends run past the file's
// end into the next lap (up to the first entry still to move), and a
// kill then replays both laps' entries, in order.
func TestJournalLogReplaysAcrossAWrap(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openSmallLog(t, path)
	defer r.Close()
	record := func(i int) {
		if err := recordPadded(ctx, r, i); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	for ; r.wal.end < walMinSize*2/3; i++ { // moved as they go
		record(i)
	}
	release := holdJournal(t, r)
	defer release()
	epoch := r.wal.epoch
	held := i
	for ; r.wal.epoch == epoch || r.wal.end < walHeaderSize+4096; i++ {
		record(i)
	}
	cp := killCopy(t, path, t.TempDir())
	c := openTest(t, cp, testKey(1))
	defer c.Close()
	p := mustPending(t, c)
	if len(p) != i {
		t.Fatalf("outbox %d entries after %d checks (%d of them while the mover was held, across a wrap)", len(p), i, i-held)
	}
	for k, h := range p {
		if h.ID != fmt.Sprintf("hit-%03d", k) || h.Seq != uint64(k+1) {
			t.Fatalf("outbox entry %d is %s at %d", k, h.ID, h.Seq)
		}
	}
	if n, err := c.VerifyAudit(ctx); err != nil || n != i {
		t.Fatalf("audit: %d records, %v; want %d", n, err, i)
	}
}

// FuzzJournalLogScan: whatever bytes the log holds (a damaged disk, a
// file put there), scanning it (at Open, and frame by frame as rebuild's
// salvage does) never panics, and what it returns is
// sound: entries in order within the data, or an ErrCorrupt for a whole
// frame that does not open. The seeds are a real log of a few checks
// across a wrap, under the fuzz keyring.
func FuzzJournalLogScan(f *testing.F) {
	ring, err := newKeyring(testKey(3), []byte("fuzz salt"), 1)
	if err != nil {
		f.Fatal(err)
	}
	ks := keyset{1: ring}
	data := make([]byte, walHeaderSize+2048)
	off := int64(walHeaderSize)
	for i := range 3 {
		h := walHit(i)
		frame, err := appendFrame(nil, ring, 7, off, &walBody{Time: h.Time, Check: &CheckRecord{ID: h.CheckID, Device: "lane"}, Hits: []Hit{h}})
		if err != nil {
			f.Fatal(err)
		}
		off += int64(copy(data[off:], frame))
	}
	frame, _ := appendFrame(nil, ring, 8, walHeaderSize, &walBody{Ack: 2})
	wrapped := bytes.Clone(data)
	copy(wrapped[walHeaderSize:], frame)
	f.Add(data, uint64(7), int64(walHeaderSize))
	f.Add(wrapped, uint64(7), off)
	f.Add(data[:walHeaderSize+30], uint64(7), int64(walHeaderSize))
	f.Add([]byte{}, uint64(0), int64(1<<62))
	f.Fuzz(func(t *testing.T, data []byte, epoch uint64, off int64) {
		for _, fr := range salvageWAL(data) { // what rebuild reads
			if fr.off < walHeaderSize || fr.off+walFrameHead+int64(len(fr.body)) > int64(len(data)) {
				t.Fatalf("salvaged a frame at %d of %d bytes past the data's %d", fr.off, len(fr.body), len(data))
			}
		}
		entries, _, end, err := scanWAL(data, epoch, off, ks)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("scan failed with %v, not ErrCorrupt", err)
			}
			return
		}
		for i, e := range entries {
			if e.end > int64(len(data)) || e.end <= walHeaderSize || (i > 0 && e.epoch == entries[i-1].epoch && e.end <= entries[i-1].end) {
				t.Fatalf("entry %d ends at %d (epoch %d) in %d bytes", i, e.end, e.epoch, len(data))
			}
		}
		if len(entries) > 0 && end != entries[len(entries)-1].end {
			t.Fatalf("scan ends at %d, its last entry at %d", end, entries[len(entries)-1].end)
		}
	})
}

// `replica rebuild` salvages the hits of checks answered from the log
// that the journal did not yet hold when the files were damaged (here:
// copied as a kill leaves them, the replica's file then cut short).
func TestSalvageFindsHitsOnlyInTheLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(1))
	defer r.Close()
	if _, err := r.Record(ctx, CheckRecord{ID: "chk-000", Device: "lane"}, []Hit{walHit(0)}); err != nil {
		t.Fatal(err)
	}
	release := holdJournal(t, r)
	defer release()
	for i := 1; i < 4; i++ {
		if _, err := r.Record(ctx, CheckRecord{ID: fmt.Sprintf("chk-%03d", i), Device: "lane"}, []Hit{walHit(i)}); err != nil {
			t.Fatal(err)
		}
	}
	cp := killCopy(t, path, t.TempDir())
	release()
	fi, err := os.Stat(cp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(cp, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	hits, _, err := SalvageOutbox(ctx, cp, testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hits {
		got = append(got, fmt.Sprintf("%s@%d", h.ID, h.Seq))
	}
	if want := []string{"hit-000@1", "hit-001@2", "hit-002@3", "hit-003@4"}; !slices.Equal(got, want) {
		t.Fatalf("salvaged %v, want %v (the last three only in the log)", got, want)
	}
}
