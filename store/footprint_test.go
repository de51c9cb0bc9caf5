package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// loadDocuments snapshots n SIS document alerts into r.
func loadDocuments(t *testing.T, r *Replica, n, from int) {
	t.Helper()
	ctx := context.Background()
	s, err := r.BeginSnapshot(1, uint64(from+1), [32]byte{})
	if err != nil {
		t.Fatal(err)
	}
	as := make([]Alert, 0, 1000)
	for i := range n {
		a := sisDocument(from + i)
		as = append(as, a)
		if len(as) == cap(as) || i == n-1 {
			if err := s.Add(ctx, as); err != nil {
				t.Fatal(err)
			}
			as = as[:0]
		}
	}
	if err := s.Commit(ctx, s.Digest()); err != nil {
		t.Fatal(err)
	}
}

func compactDue(t *testing.T, r *Replica) bool {
	t.Helper()
	<-r.droppingDone() // a snapshot's switch asks once the set it replaced is dropped
	due := false
	if err := r.db.View(func(tx *bolt.Tx) error { due = tx.Bucket(bucketMeta).Get(metaCompact) != nil; return nil }); err != nil {
		t.Fatal(err)
	}
	return due
}

// At SIS scale the replica is a hundred million records like these: the
// alert records and the term index together hold one in at most 190
// bytes of B+tree pages (185 measured; term index layout 2: 204; the
// layout before: 289), and pages loaded in key order are as full as
// bulkFill leaves them.
func TestReplicaBytesPerIdentifierAlert(t *testing.T) {
	const n = 20000
	r := openTerms(t, filepath.Join(t.TempDir(), "r.db"), testKey(1), "v1")
	defer r.Close()
	loadDocuments(t, r, n, 0)
	err := r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		var alloc, inuse int
		for name, b := range map[string]*bolt.Bucket{"alerts": st.gen.alerts, "terms": st.gen.terms} {
			s := b.Stats()
			alloc += s.LeafAlloc + s.BranchAlloc
			inuse += s.LeafInuse + s.BranchInuse
			if fill := float64(s.LeafInuse) / float64(s.LeafAlloc); fill < bulkFill-0.05 || fill > bulkFill+0.02 {
				t.Errorf("%s: leaf pages %.0f%% full after a sorted load, want %.0f%%", name, 100*fill, 100*bulkFill)
			}
		}
		per := float64(alloc) / n
		if per > 190 {
			t.Errorf("%.0f bytes of pages per document alert (%.0f in use), want at most 190", per, float64(inuse)/n)
		}
		if testing.Verbose() {
			t.Logf("%.1f bytes of pages per document alert (%.1f in use)", per, float64(inuse)/n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// treePages returns the pages the active generation's alerts and term
// index take.
func treePages(t *testing.T, r *Replica) int {
	t.Helper()
	pages := 0
	err := r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		for _, b := range []*bolt.Bucket{st.gen.alerts, st.gen.terms} {
			s := b.Stats()
			pages += s.LeafPageN + s.BranchPageN + s.LeafOverflowN + s.BranchOverflowN
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

// A sorted load leaves room in its pages for the deltas that follow:
// their records have HMAC keys, so they land on random pages, and a full
// page splits in two half-empty ones at its first insert (at 10 million
// alerts the first 210,000 operations grew a file loaded full by 55 %).
// A delta of 2 % new alerts grows the trees by under 5 % (loaded full:
// 55 %).
func TestSortedLoadLeavesRoomForDeltas(t *testing.T) {
	const n = 20000
	r := openTerms(t, filepath.Join(t.TempDir(), "r.db"), testKey(1), "v1")
	defer r.Close()
	loadDocuments(t, r, n, 0)
	before := treePages(t, r)
	cur, err := r.Cursor()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]Alert{}
	var ups []Alert
	for i := range n / 50 {
		ups = append(ups, sisDocument(n+i))
	}
	if err := r.Apply(context.Background(), change(cur, have, ups, nil)); err != nil {
		t.Fatal(err)
	}
	after := treePages(t, r)
	if grown := float64(after-before) / float64(before); grown > 0.05 {
		t.Errorf("a delta of %d new alerts to %d grew the alerts and term index from %d to %d pages (%.0f%%), want at most 5%%",
			len(ups), n, before, after, 100*grown)
	}
}

// The first snapshot into a new replica leaves nothing worth a
// compaction, so the next start does not copy the file; one that drops a
// full generation does ask for it.
func TestSnapshotCompactsOnlyWhenWorthIt(t *testing.T) {
	r := openTerms(t, filepath.Join(t.TempDir(), "r.db"), testKey(1), "v1")
	defer r.Close()
	loadDocuments(t, r, 20000, 0)
	if compactDue(t, r) {
		t.Error("the first snapshot into a new replica asks the next start to compact the file")
	}
	loadDocuments(t, r, 20000, 20000)
	if !compactDue(t, r) {
		t.Error("a snapshot that dropped 20,000 alerts does not ask for a compaction")
	}
}

// A key rotation's switch leaves the old generation (sealed under the
// old key) stray rather than drop it inside the switch, where bbolt reads
// every page of it. `borderpost keys rotate` compacts right after, and
// the compaction's copy leaves strays out: their drop costs nothing.
// Without a compaction, the drop runs in chunks after the switch, and a
// stop leaves it to the next start.
func TestRotationLeavesTheOldSetToTheCompaction(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTerms(t, path, testKey(1), "v1")
	const n = 3 * strayChunk // alerts and terms: several chunks of the drop
	loadDocuments(t, r, n, 0)
	if err := r.Rotate(ctx, testKey(2), 10000, nil); err != nil {
		t.Fatal(err)
	}
	r.endDropping() // at its first chunk at most
	if h := heldBy(t, r); h.alerts != n || h.gens != 2 {
		t.Fatalf("after the switch: %d alerts active, %d generations; want %d and the old set still there, stray", h.alerts, h.gens, n)
	}
	r.Close()
	other := killCopy(t, path, t.TempDir())

	r = openTerms(t, other, testKey(2), "v1")
	if h := heldBy(t, r); h.alerts != n || h.gens != 1 {
		t.Fatalf("after the next start: %d alerts, %d generations; want the old set dropped", h.alerts, h.gens)
	}
	if !compactDue(t, r) {
		t.Error("the dropped set's pages are not reclaimed at the next start")
	}
	r.Close()

	before, _ := os.Stat(path)
	r, err := Open(ctx, path, testKey(2), Options{LockTimeout: time.Second, Terms: testTerms, TermsVersion: "v1", Compact: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	after, _ := os.Stat(path)
	if h := heldBy(t, r); h.alerts != n || h.gens != 1 {
		t.Fatalf("after a start that compacts: %d alerts, %d generations; want the old set left out of the copy", h.alerts, h.gens)
	}
	if after.Size()*3 > before.Size()*2 {
		t.Errorf("compaction without the old set: %d -> %d bytes", before.Size(), after.Size())
	}
}

// shardTerms files documents under their number and persons under one of
// 64 name shards, as the agent's term function does with 4096.
func shardTerms(a *Alert) []string {
	if p := a.Subject.Person; p != nil {
		return []string{fmt.Sprintf("shard\x00%d", len(p.Surname)*7%64)}
	}
	return testTerms(a)
}

// BenchmarkTermIndexWalk: what a cold start reads from the term index of
// 200,000 alerts (2 % persons): every fingerprint, then the alerts of
// every name shard, decrypted; and a document looked up by its term.
func BenchmarkTermIndexWalk(b *testing.B) {
	ctx := context.Background()
	r, err := Open(ctx, filepath.Join(b.TempDir(), "r.db"), testKey(1), Options{Terms: shardTerms, TermsVersion: "v1"})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	s, err := r.BeginSnapshot(1, 1, [32]byte{})
	if err != nil {
		b.Fatal(err)
	}
	var as []Alert
	for i := range 200000 {
		a := sisDocument(i)
		if i%50 == 0 {
			a.Subject = Subject{Kind: SubjectPerson, Person: &Person{Surname: fmt.Sprintf("Surname%d", i%997), Forenames: "Anna Maria", BirthDate: "1970-05"}}
		}
		as = append(as, a)
	}
	if err := s.Add(ctx, as); err != nil {
		b.Fatal(err)
	}
	if err := s.Commit(ctx, s.Digest()); err != nil {
		b.Fatal(err)
	}
	var shards []string
	for i := range 64 {
		shards = append(shards, fmt.Sprintf("shard\x00%d", i))
	}
	b.Run("fingerprints", func(b *testing.B) {
		for b.Loop() {
			n := 0
			if err := r.EachTermFingerprint(ctx, func(uint64) { n++ }); err != nil || n < 190000 {
				b.Fatal(n, err)
			}
		}
	})
	b.Run("by-term", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i = (i + 7919) % 200000
			if i%50 == 0 {
				continue
			}
			if got, err := r.AlertsByTerm("doc\x00" + sisDocument(i).Subject.Document.Number); err != nil || len(got) != 1 {
				b.Fatal(len(got), err)
			}
		}
	})
	b.Run("name-shards", func(b *testing.B) {
		for b.Loop() {
			n := 0
			if err := r.EachAlertByTerm(ctx, shards, func(Alert) error { n++; return nil }); err != nil || n != 4000 {
				b.Fatal(n, err)
			}
		}
	})
}
