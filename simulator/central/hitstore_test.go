package central

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
	bolt "go.etcd.io/bbolt"
)

func openTestHitStore(t *testing.T, path string) *HitStore {
	t.Helper()
	s, err := OpenHitStore(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testHit(id string, seq uint64) store.Hit {
	return store.Hit{ID: id, Seq: seq, CheckID: "chk-" + id, Time: time.Date(2025, 3, 1, 12, 0, int(seq), 0, time.UTC),
		Field: "plate", ItemKind: "plate", Value: "MAB1234", AlertID: "alert-" + id, AlertVersion: 3, Match: "normalised",
		Score: 1, Action: "seize", Explanation: "plate matched after normalisation"}
}

func testOutcome(id, hitID string, seq uint64) store.Hit {
	o := store.Outcome{ID: id, HitID: hitID, AlertID: "alert-" + hitID, Outcome: "confirmed", Officer: "officer-7",
		Role: "officer", Time: time.Date(2025, 3, 1, 13, 0, int(seq), 0, time.UTC)}
	return store.Hit{ID: id, Seq: seq, AlertID: o.AlertID, Time: o.Time, Outcome: &o}
}

// mustStore stores a batch and checks upto.
func mustStore(t *testing.T, s *HitStore, agent string, floor uint64, wantUpto uint64, hits ...store.Hit) (fresh []store.Hit, dups, outcomes int) {
	t.Helper()
	fresh, dups, stored, upto, err := s.Store(agent, floor, hits)
	if err != nil {
		t.Fatal(err)
	}
	if upto != wantUpto {
		t.Fatalf("store %d entries (floor %d): upto %d, want %d", len(hits), floor, upto, wantUpto)
	}
	return fresh, dups, len(stored)
}

func hitIDs(hits []store.Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.ID)
	}
	return out
}

func TestHitStoreDeduplicates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hits.db")
	s := openTestHitStore(t, path)

	fresh, dups, _ := mustStore(t, s, "a", 0, 2, testHit("h1", 1), testHit("h2", 2), testHit("h1", 1))
	if got := hitIDs(fresh); !slices.Equal(got, []string{"h1", "h2"}) || dups != 1 {
		t.Fatalf("first batch: fresh %v, dups %d; want [h1 h2], 1", got, dups)
	}
	fresh, dups, _ = mustStore(t, s, "a", 0, 3, testHit("h2", 2), testHit("h3", 3))
	if got := hitIDs(fresh); !slices.Equal(got, []string{"h3"}) || dups != 1 {
		t.Fatalf("second batch: fresh %v, dups %d; want [h3], 1", got, dups)
	}
	// Another agent's hit IDs are its own.
	if fresh, _, _ := mustStore(t, s, "b", 0, 1, testHit("h1", 1)); len(fresh) != 1 {
		t.Fatalf("agent b: fresh %v, want h1", hitIDs(fresh))
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestHitStore(t, path)
	fresh, dups, _ = mustStore(t, s, "a", 0, 3, testHit("h3", 3), testHit("h1", 1), testHit("h2", 2))
	if len(fresh) != 0 || dups != 3 {
		t.Fatalf("after reopen: fresh %v, dups %d; want none, 3", hitIDs(fresh), dups)
	}
	hits, err := s.Hits("a")
	if err != nil {
		t.Fatal(err)
	}
	if got := hitIDs(hits); !slices.Equal(got, []string{"h1", "h2", "h3"}) {
		t.Fatalf("hits %v, want [h1 h2 h3]", got)
	}
	if want := testHit("h2", 2); !hits[1].Time.Equal(want.Time) || hits[1].AlertID != want.AlertID || hits[1].Seq != 2 ||
		hits[1].Explanation != want.Explanation {
		t.Fatalf("hit read back %+v, want %+v", hits[1], want)
	}
	if agents, err := s.Agents(); err != nil || !slices.Equal(agents, []string{"a", "b"}) {
		t.Fatalf("agents %v, %v; want [a b]", agents, err)
	}
}

func TestHitStoreCursorOnlyOverContiguousSeqs(t *testing.T) {
	s := openTestHitStore(t, filepath.Join(t.TempDir(), "hits.db"))
	mustStore(t, s, "a", 0, 2, testHit("h1", 1), testHit("h2", 2), testHit("h4", 4))
	mustStore(t, s, "a", 0, 2, testHit("h6", 6))
	mustStore(t, s, "a", 0, 4, testHit("h3", 3))
	// Out of order within a batch.
	mustStore(t, s, "a", 0, 7, testHit("h7", 7), testHit("h5", 5))
	// A duplicate still reports the cursor.
	mustStore(t, s, "a", 0, 7, testHit("h4", 4))
	hits, err := s.Hits("a")
	if err != nil {
		t.Fatal(err)
	}
	if got := hitIDs(hits); !slices.Equal(got, []string{"h1", "h2", "h3", "h4", "h5", "h6", "h7"}) {
		t.Fatalf("hits %v, want h1..h7 in seq order", got)
	}
}

func TestHitStoreFloorRaisesCursor(t *testing.T) {
	s := openTestHitStore(t, filepath.Join(t.TempDir(), "hits.db"))
	// Seqs 1..4 were acknowledged by an earlier central.
	mustStore(t, s, "a", 5, 5, testHit("h5", 5))
	mustStore(t, s, "a", 0, 5, testHit("h8", 8))
	// The agent's floor moves to 7: 6 was acknowledged, 7 and 8 held.
	mustStore(t, s, "a", 7, 8, testHit("h7", 7))
	// A lower floor never moves the cursor back.
	mustStore(t, s, "a", 2, 8)
	mustStore(t, s, "a", 2, 9, testHit("h9", 9))
	// A floor over held seqs drops them; what follows still advances.
	mustStore(t, s, "a", 0, 9, testHit("h11", 11), testHit("h12", 12))
	mustStore(t, s, "a", 13, 12)
	mustStore(t, s, "a", 0, 12, testHit("h12", 12))
	mustStore(t, s, "a", 0, 13, testHit("h13", 13))
}

func TestHitStoreCursorAndHeldSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hits.db")
	s := openTestHitStore(t, path)
	mustStore(t, s, "a", 0, 2, testHit("h1", 1), testHit("h2", 2), testHit("h4", 4), testHit("h6", 6))
	mustStore(t, s, "b", 10, 10, testHit("b10", 10))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTestHitStore(t, path)
	mustStore(t, s, "a", 0, 2)                   // the cursor came back
	mustStore(t, s, "b", 0, 10)                  // and the one the floor set
	mustStore(t, s, "a", 0, 4, testHit("h3", 3)) // 4 was held across the reopen
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTestHitStore(t, path)
	mustStore(t, s, "a", 0, 6, testHit("h5", 5))
}

func TestHitStoreOutcomes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hits.db")
	s := openTestHitStore(t, path)
	// The outcome (seq 2) arrives before the hit it is about (seq 1).
	fresh, dups, outcomes := mustStore(t, s, "a", 0, 0, testOutcome("o1", "h1", 2))
	if len(fresh) != 0 || dups != 0 || outcomes != 1 {
		t.Fatalf("outcome: fresh %v, dups %d, outcomes %d; want none, 0, 1", hitIDs(fresh), dups, outcomes)
	}
	fresh, _, outcomes = mustStore(t, s, "a", 0, 4, testHit("h1", 1), testOutcome("o1", "h1", 2), testHit("h3", 3), testOutcome("o2", "h1", 4))
	if got := hitIDs(fresh); !slices.Equal(got, []string{"h1", "h3"}) || outcomes != 1 {
		t.Fatalf("batch: fresh %v, outcomes %d; want [h1 h3], 1", got, outcomes)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestHitStore(t, path)

	hits, err := s.Hits("a")
	if err != nil {
		t.Fatal(err)
	}
	if got := hitIDs(hits); !slices.Equal(got, []string{"h1", "h3"}) {
		t.Fatalf("hits %v: outcomes must not be among them", got)
	}
	os, err := s.Outcomes("a")
	if err != nil {
		t.Fatal(err)
	}
	if len(os) != 2 || os[0].ID != "o1" || os[1].ID != "o2" || os[0].HitID != "h1" || os[0].Officer != "officer-7" {
		t.Fatalf("outcomes %+v, want o1 then o2 for h1", os)
	}

	var buf bytes.Buffer
	n, err := s.Export(context.Background(), &buf, "a")
	if err != nil || n != 2 {
		t.Fatalf("export: %d, %v; want 2 lines", n, err)
	}
	lines := parseExport(t, buf.Bytes())
	if lines[0].Hit.ID != "h1" || len(lines[0].Outcomes) != 2 || lines[0].Outcomes[0].ID != "o1" || lines[0].Outcomes[1].ID != "o2" ||
		lines[0].Outcomes[0].Outcome != "confirmed" {
		t.Fatalf("h1 exportedHit with outcomes %+v, want o1, o2", lines[0].Outcomes)
	}
	if lines[1].Hit.ID != "h3" || lines[1].Outcomes == nil || len(lines[1].Outcomes) != 0 {
		t.Fatalf("h3 exportedHit with outcomes %#v, want []", lines[1].Outcomes)
	}
	if !strings.Contains(buf.String(), `"outcomes":[]`) {
		t.Fatalf("a hit without outcomes must export \"outcomes\":[]:\n%s", buf.String())
	}
}

type exportedHit struct {
	Agent    string          `json:"agent"`
	Hit      store.Hit       `json:"hit"`
	Outcomes []store.Outcome `json:"outcomes"`
}

func parseExport(t *testing.T, data []byte) []exportedHit {
	t.Helper()
	var out []exportedHit
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var e exportedHit
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHitStoreExport(t *testing.T) {
	s := openTestHitStore(t, filepath.Join(t.TempDir(), "hits.db"))
	// More hits than one export page, stored out of order, over three agents.
	const many = exportPage*2 + 7
	for _, agent := range []string{"post-c", "post-a", "post-b"} {
		var batch []store.Hit
		for seq := uint64(many); seq >= 1; seq-- {
			batch = append(batch, testHit(fmt.Sprintf("%s-%d", agent, seq), seq))
			if len(batch) == 50 || seq == 1 {
				if _, _, _, _, err := s.Store(agent, 0, batch); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	mustStore(t, s, "post-b", 0, many+1, testOutcome("ob", "post-b-300", many+1))

	var buf bytes.Buffer
	n, err := s.Export(context.Background(), &buf, "")
	if err != nil || n != 3*many {
		t.Fatalf("export: %d, %v; want %d", n, err, 3*many)
	}
	lines := parseExport(t, buf.Bytes())
	if len(lines) != n {
		t.Fatalf("%d lines parsed, export said %d", len(lines), n)
	}
	for i, l := range lines {
		agent := []string{"post-a", "post-b", "post-c"}[i/many]
		seq := uint64(i%many) + 1
		if l.Agent != agent || l.Hit.Seq != seq || l.Hit.ID != fmt.Sprintf("%s-%d", agent, seq) || l.Hit.AlertID != "alert-"+l.Hit.ID {
			t.Fatalf("line %d: agent %s hit %s seq %d; want %s seq %d", i, l.Agent, l.Hit.ID, l.Hit.Seq, agent, seq)
		}
		if wantOutcome := l.Hit.ID == "post-b-300"; wantOutcome != (len(l.Outcomes) == 1) {
			t.Fatalf("line %d (%s): outcomes %+v", i, l.Hit.ID, l.Outcomes)
		}
	}

	buf.Reset()
	if n, err := s.Export(context.Background(), &buf, "post-b"); err != nil || n != many {
		t.Fatalf("export post-b: %d, %v; want %d", n, err, many)
	}
	for _, l := range parseExport(t, buf.Bytes()) {
		if l.Agent != "post-b" {
			t.Fatalf("export of post-b holds a line of %s", l.Agent)
		}
	}
	buf.Reset()
	if n, err := s.Export(context.Background(), &buf, "post-z"); err != nil || n != 0 || buf.Len() != 0 {
		t.Fatalf("export of an unknown agent: %d, %v, %q; want nothing", n, err, buf.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := s.Export(ctx, &buf, ""); !errors.Is(err, context.Canceled) || n != 0 {
		t.Fatalf("export with a cancelled context: %d, %v; want 0, context.Canceled", n, err)
	}
}

func TestHitStoreRefusesBadBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hits.db")
	s := openTestHitStore(t, path)
	mustStore(t, s, "a", 0, 1, testHit("h1", 1))
	for name, batch := range map[string][]store.Hit{
		"empty ID": {testHit("h2", 2), testHit("", 3)},
		"seq 0":    {testHit("h2", 2), testHit("h3", 0)},
	} {
		if _, _, _, _, err := s.Store("a", 3, batch); !errors.Is(err, ErrInvalidHit) {
			t.Fatalf("%s: err %v, want ErrInvalidHit", name, err)
		}
	}
	if _, _, _, _, err := s.Store("", 0, []store.Hit{testHit("h2", 2)}); !errors.Is(err, ErrInvalidHit) {
		t.Fatalf("empty agent: err %v, want ErrInvalidHit", err)
	}
	// Nothing of those batches was stored, nor their floor honoured.
	fresh, dups, _ := mustStore(t, s, "a", 0, 2, testHit("h2", 2))
	if len(fresh) != 1 || dups != 0 {
		t.Fatalf("h2 after the refused batches: fresh %v, dups %d; want it fresh", hitIDs(fresh), dups)
	}
	if agents, err := s.Agents(); err != nil || !slices.Equal(agents, []string{"a"}) {
		t.Fatalf("agents %v, %v; want [a]", agents, err)
	}
}

func TestHitStoreKeepsHitsThatShareASeq(t *testing.T) {
	// An agent that lost its disk numbers its outbox from 1 again: the
	// count restarts, or "up to 2" would make it drop its new hit 2
	// before central has it.
	s := openTestHitStore(t, filepath.Join(t.TempDir(), "hits.db"))
	mustStore(t, s, "a", 0, 2, testHit("old-1", 1), testHit("old-2", 2))
	fresh, _, _ := mustStore(t, s, "a", 1, 1, testHit("new-1", 1))
	if len(fresh) != 1 {
		t.Fatalf("fresh %v, want new-1", hitIDs(fresh))
	}
	mustStore(t, s, "a", 1, 1, testHit("new-1", 1)) // a resend is a duplicate, nothing more
	mustStore(t, s, "a", 1, 2, testHit("new-2", 2))

	// Restored from a backup whose outbox still held hits 3 and 4, which
	// central had: resent, they count again once the count restarted.
	mustStore(t, s, "a", 0, 4, testHit("h3", 3), testHit("h4", 4))
	mustStore(t, s, "a", 0, 6, testHit("h5", 5), testHit("h6", 6))
	mustStore(t, s, "a", 3, 2, testHit("h7-after-restore", 5))
	mustStore(t, s, "a", 3, 5, testHit("h3", 3), testHit("h4", 4))
	hits, err := s.Hits("a")
	if err != nil {
		t.Fatal(err)
	}
	if got := hitIDs(hits); !slices.Equal(got, []string{"old-1", "new-1", "old-2", "new-2", "h3", "h4", "h5", "h7-after-restore", "h6"}) {
		t.Fatalf("hits %v: want every hit, in seq order", got)
	}
}

func TestHitStoreConcurrentAgents(t *testing.T) {
	s := openTestHitStore(t, filepath.Join(t.TempDir(), "hits.db"))
	const agents, perAgent = 4, 40
	var wg sync.WaitGroup
	errs := make(chan error, agents)
	for a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			agent := fmt.Sprintf("post-%d", a)
			for seq := uint64(1); seq <= perAgent; seq++ {
				_, _, _, upto, err := s.Store(agent, 0, []store.Hit{testHit(fmt.Sprintf("%s-%d", agent, seq), seq)})
				if err == nil && upto != seq {
					err = fmt.Errorf("%s seq %d: upto %d", agent, seq, upto)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for a := range agents {
		if hits, err := s.Hits(fmt.Sprintf("post-%d", a)); err != nil || len(hits) != perAgent {
			t.Fatalf("post-%d: %d hits, %v; want %d", a, len(hits), err, perAgent)
		}
	}
}

func TestHitStoreOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hits.db")
	openTestHitStore(t, path)
	start := time.Now()
	if s, err := OpenHitStore(path); err == nil {
		s.Close()
		t.Fatal("a second open of a held file succeeded")
	} else if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("error %q must name the path and say it is locked", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("waited %s for the lock", d)
	}

	other := filepath.Join(dir, "other.db")
	db, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("alerts")); return err }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := OpenHitStore(other); err == nil {
		s.Close()
		t.Fatal("opened a bbolt file that is not a hit store")
	} else if !strings.Contains(err.Error(), other) {
		t.Fatalf("error %q must name the path", err)
	}
}
