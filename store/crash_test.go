package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash test runs this test binary as a child (the environment
// variable crashRoleEnv selects the role), lets it start an import, a
// delta or a key rotation, and kills it with SIGKILL at a random moment.
// After each kill the parent opens the replica, verifies the audit chain,
// and checks that it holds exactly the model state before or after the
// interrupted operation.

const (
	crashRoleEnv = "BORDERPOST_STORE_CRASH_CHILD"
	crashUniv    = 3000 // alert IDs in play
	crashWindow  = 1200 // IDs a delta touches
	// crashDeltaChunk is the operations per chunk of a delta, so that a
	// delta takes several transactions.
	crashDeltaChunk = 200
)

var (
	crashKey1 = testKey(0x11)
	crashKey2 = testKey(0x22)
)

// crashState is the model: alert ID -> version at a cursor sequence.
type crashState map[string]uint64

// crashAlert makes the alert with the given ID and version; the subject
// varies with the ID so the values look like the real mix.
func crashAlert(i int, v uint64) Alert {
	id := fmt.Sprintf("CR-%05d", i)
	a := Alert{ID: id, Version: v, Source: "SIS", Category: "art36-check", Action: "discreet check",
		Issued: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if i%2 == 0 { // far in the future: indexed, never purged here
		a.Expires = time.Date(2040, 1, 1, 0, 0, i, 0, time.UTC).Add(time.Duration(v) * time.Hour)
	}
	switch i % 3 {
	case 0:
		a.Subject = Subject{Kind: SubjectPerson, Person: &Person{Surname: fmt.Sprintf("Surname%d", i), Forenames: "Anna", BirthDate: "1980"}}
	case 1:
		a.Subject = Subject{Kind: SubjectVehicle, Vehicle: &Vehicle{Plate: fmt.Sprintf("PL%05d", i), PlateCountry: "PL"}}
	default:
		a.Subject = Subject{Kind: SubjectDocument, Document: &Document{Number: fmt.Sprintf("D%07d", i), Country: "DE"}}
	}
	return a
}

func crashIndex(id string) int { n, _ := strconv.Atoi(strings.TrimPrefix(id, "CR-")); return n }

func crashHash(seq uint64) [32]byte { return sha256.Sum256(binary.BigEndian.AppendUint64(nil, seq)) }

// crashNext returns the change from seq-1 to seq of the model, and the
// state it makes: IDs in a window that moves with seq are re-issued at
// version seq or deleted.
func crashNext(s crashState, seq uint64) (Change, crashState) {
	next := crashState{}
	for id, v := range s {
		next[id] = v
	}
	var ch Change
	start := int(seq*457) % crashUniv
	for j := range crashWindow {
		i := (start + j) % crashUniv
		id := fmt.Sprintf("CR-%05d", i)
		h := sha256.Sum256(fmt.Appendf(nil, "%d/%d", i, seq))
		if h[0]%4 == 0 {
			if _, ok := next[id]; ok {
				ch.Deletes = append(ch.Deletes, id)
				delete(next, id)
			}
			continue
		}
		ch.Upserts = append(ch.Upserts, crashAlert(i, seq))
		next[id] = seq
	}
	ch.Epoch, ch.Seq, ch.PrevHash, ch.Hash, ch.Digest = 1, seq, crashHash(seq-1), crashHash(seq), next.digest()
	if seq == 1 {
		ch.PrevHash = [32]byte{}
	}
	return ch, next
}

func (s crashState) digest() Digest {
	var d Digest
	for id, v := range s {
		d.Add(id, v)
	}
	return d
}

// crashModel returns the model state at seq.
func crashModel(seq uint64) crashState {
	s := crashState{}
	for n := uint64(1); n <= seq; n++ {
		_, s = crashNext(s, n)
	}
	return s
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func crashOpen(path string, nextKey bool) (*Replica, error) {
	opt := Options{LockTimeout: 2 * time.Second, Logger: discardLogger()}
	if nextKey {
		opt.NextKey = crashKey2
	}
	return Open(context.Background(), path, crashKey1, opt)
}

// activeKey returns which of the two keys is the replica's active one,
// and the other.
func activeKey(t testing.TB, r *Replica) (active, other staticKey) {
	ks, err := r.KeyStatus()
	if err != nil {
		t.Fatal(err)
	}
	k1, _ := newKeyring(crashKey1, r.salt, 0)
	if fmt.Sprintf("%x", k1.check()[:8]) == ks.Check {
		return crashKey1, crashKey2
	}
	return crashKey2, crashKey1
}

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	role := os.Getenv(crashRoleEnv)
	if role == "" {
		t.Skip("runs only as the crash test's child")
	}
	op, path, _ := strings.Cut(role, ":")
	ctx := context.Background()
	r, err := crashOpen(path, true)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	cur, _ := r.Cursor()
	_, other := activeKey(t, r)
	if ks, _ := r.KeyStatus(); ks.Rotating && op != "rotate" {
		// An earlier kill left a rotation half-done: finish it first, as
		// an agent would, before the operation under test.
		if err := r.Rotate(ctx, other, 100, nil); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		_, other = activeKey(t, r)
	}
	// Prepare everything first, so the kill lands in the operation.
	var run func() error
	switch op {
	case "apply":
		ch, _ := crashNext(crashModel(cur.Seq), cur.Seq+1)
		r.deltaChunk = crashDeltaChunk // so that kills land between chunks too
		run = func() error { return r.Apply(ctx, ch) }
	case "import":
		_, next := crashNext(crashModel(cur.Seq), cur.Seq+1)
		var buf bytes.Buffer
		h := crashHash(cur.Seq + 1)
		fmt.Fprintf(&buf, `{"snapshot":{"epoch":1,"seq":%d,"hash":"%x","digest":%q,"count":%d}}`+"\n", cur.Seq+1, h, next.digest().String(), len(next))
		enc := json.NewEncoder(&buf)
		for _, id := range slices.Sorted(maps.Keys(next)) {
			enc.Encode(crashAlert(crashIndex(id), next[id]))
		}
		run = func() error { _, err := importChunked(ctx, &buf, r, 500); return err }
	case "rotate":
		run = func() error { return r.Rotate(ctx, other, 100, nil) }
	}
	fmt.Println("ready")
	// Checks go on meanwhile, as at a post: each answered one must be in
	// the journal's log after the kill.
	var outMu sync.Mutex
	go func() {
		for i := 0; ; i++ {
			id := fmt.Sprintf("chk-%s-%d-%d", op, os.Getpid(), i)
			if _, err := r.Record(ctx, CheckRecord{ID: id, Device: "lane", Items: 1}, []Hit{{ID: "hit-" + id[4:], CheckID: id, AlertID: "CR-00001"}}); err != nil {
				outMu.Lock()
				fmt.Println("error", err)
				os.Exit(2)
			}
			outMu.Lock()
			fmt.Println("answered", id)
			outMu.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()
	start := time.Now()
	err = run()
	outMu.Lock()
	defer outMu.Unlock()
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	fmt.Printf("done %d\n", time.Since(start).Milliseconds())
	time.Sleep(time.Hour) // wait for the kill
}

func TestCrashKillAtRandomPoints(t *testing.T) {
	if os.Getenv(crashRoleEnv) != "" {
		t.Skip("child")
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	r, err := crashOpen(path, false)
	if err != nil {
		t.Fatal(err)
	}
	ch, state := crashNext(crashState{}, 1)
	if err := r.Apply(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	r.Close()
	seq := uint64(1)
	ops := []string{"import", "apply", "rotate"}
	est := map[string]time.Duration{"import": 100 * time.Millisecond, "apply": 50 * time.Millisecond, "rotate": 100 * time.Millisecond}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	stats := map[string][2]int{} // op -> {interrupted, completed}
	resumed := 0                 // changes killed between chunks
	totalAnswered := 0           // checks answered by the children before their kill
	for i := range crashKills {
		op := ops[i%len(ops)]
		cmd := exec.Command(exe, "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashRoleEnv+"="+op+":"+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1<<16)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		if l := <-lines; l != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("kill %d (%s): child said %q", i, op, l)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(est[op]) + 1)))
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		completed := false
		answered := map[string]bool{}
		for l := range lines {
			if id, ok := strings.CutPrefix(l, "answered "); ok {
				answered[id] = true
				continue
			}
			if strings.HasPrefix(l, "error") {
				t.Fatalf("kill %d (%s): child %s", i, op, l)
			}
			if ms, ok := strings.CutPrefix(l, "done "); ok {
				completed = true
				// Aim the next kill of this kind within its duration.
				d, _ := strconv.Atoi(ms)
				est[op] = max(time.Duration(d)*time.Millisecond*11/10, 5*time.Millisecond)
			}
		}
		s := stats[op]
		if completed {
			s[1]++
		} else {
			s[0]++
		}
		stats[op] = s

		// Every other kill is reopened without the next key, so an
		// interrupted rotation is rolled back rather than kept.
		resume := i%2 == 0
		r, err := crashOpen(path, resume)
		if errors.Is(err, ErrWrongKey) && !resume {
			// The rotation finished: only the new key opens it now.
			r, err = Open(context.Background(), path, crashKey2, Options{Logger: discardLogger()})
		}
		if err != nil {
			t.Fatalf("kill %d (%s): open: %v", i, op, err)
		}
		if n, err := r.VerifyAudit(context.Background()); err != nil {
			t.Fatalf("kill %d (%s): audit after %d records: %v", i, op, n, err)
		}

		// A change killed between its chunks is pending: central sends it
		// again, and it resumes.
		if p, err := r.DeltaPending(); err != nil {
			t.Fatalf("kill %d (%s): %v", i, op, err)
		} else if p != nil {
			if op != "apply" || p.Seq != seq+1 {
				t.Fatalf("kill %d (%s): change %d pending at sequence %d", i, op, p.Seq, seq)
			}
			ch, _ := crashNext(state, seq+1)
			r.deltaChunk = crashDeltaChunk
			if err := r.Apply(context.Background(), ch); err != nil {
				t.Fatalf("kill %d (%s): resume change %d after %d of %d operations: %v", i, op, p.Seq, p.Done, p.Total, err)
			}
			resumed++
		}
		audited := map[string]bool{}
		r.AuditRecords(context.Background(), func(rec AuditRecord) error {
			audited[string(rec.Event)+" "+rec.Ref] = true
			return nil
		})
		totalAnswered += len(answered)
		for id := range answered {
			if !audited[string(EventCheck)+" "+id] {
				t.Fatalf("kill %d (%s): check %s was answered but is not in the audit log", i, op, id)
			}
		}
		ks, _ := r.KeyStatus()
		h := heldBy(t, r)
		switch {
		case h.cur.Seq == seq:
		case h.cur.Seq == seq+1 && op != "rotate":
			_, state = crashNext(state, seq+1)
			seq++
			// The change's record, written after its commit, survived
			// the kill (moved from the replica's queue at open).
			ev := EventDeltaApplied
			if op == "import" {
				ev = EventSnapshotApplied
			}
			if !audited[fmt.Sprintf("%s 1/%d", ev, seq)] {
				t.Fatalf("kill %d (%s): the cursor moved to %d but the log has no %s record of it", i, op, seq, ev)
			}
		default:
			t.Fatalf("kill %d (%s): cursor at %d, before the operation %d", i, op, h.cur.Seq, seq)
		}
		if h.cur.Digest != state.digest() || h.digest != h.cur.Digest || h.alerts != len(state) {
			t.Fatalf("kill %d (%s): replica holds %d alerts with digest %s (cursor says %s), model %d alerts %s",
				i, op, h.alerts, h.digest, h.cur.Digest, len(state), state.digest())
		}
		wantGens := 1
		if ks.Rotating {
			wantGens = 2
		}
		if h.gens != wantGens {
			t.Fatalf("kill %d (%s): %d generations in the file (rotating %v)", i, op, h.gens, ks.Rotating)
		}
		r.Close()
	}
	r, err = crashOpen(path, true)
	if err != nil {
		t.Fatal(err)
	}
	events := map[AuditEvent]int{}
	r.AuditRecords(context.Background(), func(rec AuditRecord) error { events[rec.Event]++; return nil })
	r.Close()
	t.Logf("%d changes killed between chunks resumed", resumed)
	t.Logf("%d checks answered during the operations, every one in the log after its kill", totalAnswered)
	if totalAnswered == 0 {
		t.Error("no check was answered during the operations: the test proves nothing about the journal")
	}
	t.Logf("%d kills; interrupted/completed per operation: %v; final sequence %d; audit: %d snapshots applied, %d abandoned, %d deltas, %d rotations finished, %d rolled back",
		crashKills, stats, seq, events[EventSnapshotApplied], events[EventSnapshotRefused], events[EventDeltaApplied], events[EventKeyRotated], events[EventKeyRotationRolledBack])
	interrupted := 0
	for _, s := range stats {
		interrupted += s[0]
	}
	if interrupted < crashKills/3 {
		t.Errorf("only %d of %d kills interrupted an operation; the timing estimate is off", interrupted, crashKills)
	}
}

// importChunked is Import with a smaller chunk, so a kill lands between
// chunks of a small test set as it would in a large one.
func importChunked(ctx context.Context, r *bytes.Buffer, rep *Replica, chunk int) (ImportResult, error) {
	return importWith(ctx, r, rep, nil, chunk)
}
