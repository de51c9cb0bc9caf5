package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests of chunked deltas use the crash test's model: change 1 loads
// about 900 alerts, each later change touches a window of 1,200 IDs. With
// chunks of 100 operations a change takes 12 transactions.
const testDeltaChunk = 100

const chunkRoleEnv = "BORDERPOST_STORE_CHUNK_CHILD"

func openChunked(t testing.TB, path string) *Replica {
	t.Helper()
	r, err := Open(context.Background(), path, crashKey1, Options{LockTimeout: 2 * time.Second, Logger: discardLogger(),
		Terms: testTerms, TermsVersion: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	r.deltaChunk = testDeltaChunk
	return r
}

// chunkedAt returns a replica at path holding the model at seq, changes
// applied in chunks.
func chunkedAt(t *testing.T, path string, seq uint64) *Replica {
	t.Helper()
	r := openChunked(t, path)
	s := crashState{}
	for n := uint64(1); n <= seq; n++ {
		var ch Change
		ch, s = crashNext(s, n)
		if err := r.Apply(context.Background(), ch); err != nil {
			t.Fatalf("apply %d: %v", n, err)
		}
	}
	return r
}

// wantModel fails unless r holds exactly the model at seq, with the cursor
// of change seq, a consistent expiry and term index, and a sound audit log.
func wantModel(t *testing.T, r *Replica, seq uint64, when string) {
	t.Helper()
	state := crashModel(seq)
	h := heldBy(t, r)
	if h.cur.Seq != seq || h.cur.Hash != crashHash(seq) || h.cur.Digest != state.digest() {
		t.Fatalf("%s: cursor %d/%d digest %s, want %d with %s", when, h.cur.Epoch, h.cur.Seq, h.cur.Digest, seq, state.digest())
	}
	if h.digest != state.digest() || h.alerts != len(state) {
		t.Fatalf("%s: replica holds %d alerts with digest %s, model %d with %s", when, h.alerts, h.digest, len(state), state.digest())
	}
	checkTermIndex(t, r, when)
	for _, id := range slices.Sorted(maps.Keys(state))[:50] {
		a := crashAlert(crashIndex(id), state[id])
		var term string
		switch a.Subject.Kind {
		case SubjectVehicle:
			term = "plate\x00" + a.Subject.Vehicle.Plate
		case SubjectDocument:
			term = "doc\x00" + a.Subject.Document.Number
		default:
			continue
		}
		got, err := r.AlertsByTerm(term)
		if err != nil || len(got) != 1 || got[0].ID != id || got[0].Version != state[id] {
			t.Fatalf("%s: term of %s finds %v (%v), want version %d", when, id, got, err, state[id])
		}
	}
	if n, err := r.VerifyAudit(context.Background()); err != nil {
		t.Fatalf("%s: audit after %d records: %v", when, n, err)
	}
}

// TestChunkChild applies change 2 in chunks of 100 and stops after the
// third chunk's commit, waiting to be killed.
func TestChunkChild(t *testing.T) {
	path := os.Getenv(chunkRoleEnv)
	if path == "" {
		t.Skip("runs only as the chunked delta kill test's child")
	}
	r := openChunked(t, path)
	ch, _ := crashNext(crashModel(1), 2)
	r.chunkCommitted = func(done, total int) {
		if done >= 3*testDeltaChunk {
			fmt.Printf("committed %d of %d\n", done, total)
			time.Sleep(time.Hour) // wait for the kill
		}
	}
	err := r.Apply(context.Background(), ch)
	fmt.Println("error: apply returned", err)
	os.Exit(2)
}

// A process killed between two chunks of a change leaves the old cursor
// and a pending record that Status reports; sent again, the same change
// resumes and leaves the cursor, digest, alerts and term index of an
// apply that was not interrupted.
func TestDeltaChunksResumeAfterKill(t *testing.T) {
	if os.Getenv(chunkRoleEnv) != "" {
		t.Skip("child")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "killed.db")
	chunkedAt(t, path, 1).Close()

	cmd := exec.Command(exe, "-test.run=^TestChunkChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), chunkRoleEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	line := ""
	for sc.Scan() {
		if line = sc.Text(); strings.HasPrefix(line, "committed") || strings.HasPrefix(line, "error") {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if !strings.HasPrefix(line, "committed 300 of ") {
		t.Fatalf("child said %q, want it stopped after three chunks", line)
	}

	ch, _ := crashNext(crashModel(1), 2)
	st, err := ReadStatus(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := DeltaProgress{Epoch: 1, Seq: 2, Done: 300, Total: len(ch.Upserts) + len(ch.Deletes)}
	if st.DeltaPending == nil || *st.DeltaPending != want || st.Cursor.Seq != 1 {
		t.Fatalf("status after the kill: pending %+v, cursor %d; want %+v at cursor 1", st.DeltaPending, st.Cursor.Seq, want)
	}

	r := openChunked(t, path)
	defer r.Close()
	var resumedAt []int
	r.chunkCommitted = func(done, _ int) { resumedAt = append(resumedAt, done) }
	if err := r.Apply(ctx, ch); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if len(resumedAt) == 0 || resumedAt[0] != 400 {
		t.Fatalf("resumed chunks end at %v, want the first at 400 (after the 300 done)", resumedAt)
	}
	if p, err := r.DeltaPending(); p != nil || err != nil {
		t.Fatalf("pending after the resume: %+v, %v", p, err)
	}
	wantModel(t, r, 2, "resumed")

	// The same as an apply that was not interrupted.
	whole := chunkedAt(t, filepath.Join(dir, "whole.db"), 2)
	defer whole.Close()
	a, b := heldBy(t, r), heldBy(t, whole)
	if a.cur.Seq != b.cur.Seq || a.cur.Hash != b.cur.Hash || a.cur.Digest != b.cur.Digest || a.digest != b.digest || a.alerts != b.alerts {
		t.Fatalf("resumed: cursor %d %s, %d alerts; uninterrupted: cursor %d %s, %d alerts", a.cur.Seq, a.cur.Digest, a.alerts, b.cur.Seq, b.cur.Digest, b.alerts)
	}
	applied := 0
	r.AuditRecords(ctx, func(rec AuditRecord) error {
		if rec.Event == EventDeltaApplied && rec.Ref == "1/2" {
			applied++
		}
		return nil
	})
	if applied != 1 {
		t.Fatalf("%d delta.applied records for 1/2, want 1", applied)
	}
	// And it goes on: the next change applies.
	ch3, _ := crashNext(crashModel(2), 3)
	if err := r.Apply(ctx, ch3); err != nil {
		t.Fatal(err)
	}
	wantModel(t, r, 3, "after the next change")
}

// A large change with a wrong digest or an invalid alert is refused before
// any chunk is written.
func TestDeltaChunksRefusedWriteNothing(t *testing.T) {
	ctx := context.Background()
	r := chunkedAt(t, filepath.Join(t.TempDir(), "r.db"), 1)
	defer r.Close()
	r.chunkCommitted = func(done, _ int) { t.Errorf("a chunk of a refused change was committed (%d operations)", done) }

	ch, _ := crashNext(crashModel(1), 2)
	bad := ch
	bad.Digest[0] ^= 1
	if err := r.Apply(ctx, bad); !errors.Is(err, ErrDigest) {
		t.Fatalf("wrong digest: %v, want ErrDigest", err)
	}
	invalid := ch
	invalid.Upserts = slices.Clone(ch.Upserts)
	invalid.Upserts[len(invalid.Upserts)-1].Version = 0
	if err := r.Apply(ctx, invalid); !errors.Is(err, ErrInvalidAlert) {
		t.Fatalf("invalid last alert: %v, want ErrInvalidAlert", err)
	}
	if p, err := r.DeltaPending(); p != nil || err != nil {
		t.Fatalf("pending after refusals: %+v, %v", p, err)
	}
	wantModel(t, r, 1, "after refusals")
	refused := 0
	r.AuditRecords(ctx, func(rec AuditRecord) error {
		if rec.Event == EventDeltaRefused {
			refused++
		}
		return nil
	})
	if refused != 2 {
		t.Fatalf("%d delta.refused records, want 2", refused)
	}
	r.chunkCommitted = nil
	if err := r.Apply(ctx, ch); err != nil {
		t.Fatal(err)
	}
	wantModel(t, r, 2, "after the right change")
}

// While a change is applied in part, another change is refused with
// ErrDigest, small or large, and so the agent asks for a snapshot; the
// snapshot's commit clears the pending change and changes apply again.
func TestDeltaPendingRefusesOtherChange(t *testing.T) {
	ctx := context.Background()
	r := chunkedAt(t, filepath.Join(t.TempDir(), "r.db"), 1)
	defer r.Close()
	ch, state2 := crashNext(crashModel(1), 2)
	stop, cancel := context.WithCancel(ctx)
	r.chunkCommitted = func(done, _ int) {
		if done == 2*testDeltaChunk {
			cancel()
		}
	}
	if err := r.Apply(stop, ch); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled apply: %v", err)
	}
	r.chunkCommitted = nil
	if p, _ := r.DeltaPending(); p == nil || p.Seq != 2 || p.Done != 200 {
		t.Fatalf("pending after the cancel: %+v", p)
	}

	other := ch
	other.Hash[0] ^= 1
	small := ch
	small.Upserts, small.Deletes = ch.Upserts[:10], nil
	for name, c := range map[string]Change{"another large change": other, "a small change": small} {
		if err := r.Apply(ctx, c); !errors.Is(err, ErrDigest) {
			t.Fatalf("%s while 1/2 is pending: %v, want ErrDigest", name, err)
		}
	}
	snap, err := r.BeginSnapshot(1, 2, crashHash(2))
	if err != nil {
		t.Fatal(err)
	}
	var alerts []Alert
	for _, id := range slices.Sorted(maps.Keys(state2)) {
		alerts = append(alerts, crashAlert(crashIndex(id), state2[id]))
	}
	if err := snap.Add(ctx, alerts); err != nil {
		t.Fatal(err)
	}
	if err := snap.Commit(ctx, state2.digest()); err != nil {
		t.Fatal(err)
	}
	if p, err := r.DeltaPending(); p != nil || err != nil {
		t.Fatalf("pending after the snapshot: %+v, %v", p, err)
	}
	wantModel(t, r, 2, "after the snapshot")
	ch3, _ := crashNext(state2, 3)
	if err := r.Apply(ctx, ch3); err != nil {
		t.Fatalf("change after the snapshot: %v", err)
	}
	wantModel(t, r, 3, "after the next change")
}

// Checks' records commit between the chunks of a large change: a Record
// issued after the first chunk's commit completes before the last chunk
// commits, and its audit record precedes the change's. A snapshot or key
// rotation asked for meanwhile is refused with ErrBusy.
func TestDeltaChunksLetChecksCommit(t *testing.T) {
	ctx := context.Background()
	r := chunkedAt(t, filepath.Join(t.TempDir(), "r.db"), 1)
	defer r.Close()
	ch, _ := crashNext(crashModel(1), 2)
	recorded := make(chan error, 1)
	chunks := 0
	r.chunkCommitted = func(done, total int) {
		chunks++
		if chunks == 1 {
			if _, err := r.BeginSnapshot(1, 2, crashHash(2)); !errors.Is(err, ErrBusy) {
				t.Errorf("snapshot during a chunked change: %v, want ErrBusy", err)
			}
			go func() {
				_, err := r.Record(ctx, CheckRecord{ID: "chk-during-delta", Device: "lane-1", Items: 1}, nil)
				recorded <- err
			}()
		}
		if done < total && done+testDeltaChunk >= total { // the next chunk is the last
			select {
			case err := <-recorded:
				if err != nil {
					t.Errorf("record during the change: %v", err)
				}
			case <-time.After(time.Minute): // a guard against a hang, not a measurement
				t.Errorf("a check's record did not commit while the change was applied")
			}
		}
	}
	if err := r.Apply(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if chunks < 3 {
		t.Fatalf("the change took %d chunk commits, want it applied in chunks", chunks)
	}
	var order []string
	r.AuditRecords(ctx, func(rec AuditRecord) error {
		if rec.Ref == "chk-during-delta" || rec.Event == EventDeltaApplied && rec.Ref == "1/2" {
			order = append(order, rec.Ref)
		}
		return nil
	})
	if !slices.Equal(order, []string{"chk-during-delta", "1/2"}) {
		t.Fatalf("audit order %v, want the check before the change", order)
	}
	wantModel(t, r, 2, "after the change")
}

// A chunk ends early, once it has worked deltaYieldAfter, when a check
// waits to commit its record; with none waiting it runs to its size.
func TestDeltaChunkYieldsToWaitingChecks(t *testing.T) {
	ctx := context.Background()
	r := chunkedAt(t, filepath.Join(t.TempDir(), "r.db"), 1)
	defer r.Close()
	r.deltaChunk, r.deltaYieldAfter = 1000, time.Nanosecond
	ch, _ := crashNext(crashModel(1), 2)
	n := len(ch.Upserts) + len(ch.Deletes)
	if n <= 1008 {
		t.Fatalf("change 2 has %d operations; the test needs more than 1008", n)
	}
	// A check waiting for the next group commit, as Record leaves it while
	// a writer holds the lock.
	waiting := &checkCommit{done: make(chan struct{})}
	r.commits.pending = []*checkCommit{waiting}
	var ends []int
	r.chunkCommitted = func(done, _ int) {
		ends = append(ends, done)
		r.commits.mu.Lock()
		r.commits.pending = nil // it committed between the chunks
		r.commits.mu.Unlock()
	}
	if err := r.Apply(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if want := []int{8, 1008, n}; !slices.Equal(ends, want) {
		t.Fatalf("chunks ended at %v, want %v: the first after 8 operations for the waiting check, then full ones", ends, want)
	}
	wantModel(t, r, 2, "after the change")
}

// A chunk's work yields the processor every 8 operations, so that on a
// post with two cores a check ready to run does not wait for the
// runtime's 10 ms time slice behind a chunk's 100 ms of work.
func TestDeltaChunkYieldsTheProcessor(t *testing.T) {
	ctx := context.Background()
	r := chunkedAt(t, filepath.Join(t.TempDir(), "r.db"), 1)
	defer r.Close()
	r.deltaChunk = 500
	ch, _ := crashNext(crashModel(1), 2)
	n := len(ch.Upserts) + len(ch.Deletes)
	yields, chunks := 0, 0
	r.yield = func() { yields++ }
	r.chunkCommitted = func(int, int) { chunks++ }
	if err := r.Apply(ctx, ch); err != nil {
		t.Fatal(err)
	}
	// A chunk of m operations yields after its 8th, 16th, ... operation.
	if want := n/8 - chunks; yields < want {
		t.Fatalf("%d operations in %d chunks yielded %d times, want at least %d (every 8 operations)", n, chunks, yields, want)
	}
	wantModel(t, r, 2, "after the change")
}
