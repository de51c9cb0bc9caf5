package match

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// readCountingReplica counts how a lookup reads the alerts behind a held
// identifier: by term (two B+tree descents) or by the term table's record
// prefixes (one).
type readCountingReplica struct {
	*store.Replica
	byTerm, byRecord int
}

func (c *readCountingReplica) AppendAlertsByTerm(dst []store.Alert, term []byte, k store.TermKey) ([]store.Alert, error) {
	c.byTerm++
	return c.Replica.AppendAlertsByTerm(dst, term, k)
}

func (c *readCountingReplica) AppendAlertsByRecord(dst []store.Alert, recs []uint64, keyGen uint32, alertGen uint64) ([]store.Alert, bool, error) {
	c.byRecord++
	return c.Replica.AppendAlertsByRecord(dst, recs, keyGen, alertGen)
}

func loadReadCounting(t *testing.T, rep *store.Replica) (*Index, *readCountingReplica) {
	t.Helper()
	c := &readCountingReplica{Replica: rep}
	ix, err := loadByTerm(context.Background(), rep, c, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return ix, c
}

func hitIDs(t *testing.T, ix *Index, it devices.Item) []string {
	t.Helper()
	var ids []string
	for _, c := range mustLookup(t, ix, it, now) {
		ids = append(ids, c.Alert.ID)
	}
	slices.Sort(ids)
	return ids
}

// A held identifier is read through the term table's record prefixes,
// without descending the term index (issue 16: one B+tree descent instead
// of two at 100 million alerts), on the first start (the index walked)
// and on the next (the table loaded). Whatever the prefixes cannot
// answer for is read by term: an identifier a delta filed since (here
// under a plate the table already holds, on a second alert), and every
// identifier once the index has persisted its set after the delta and
// the agent starts again. A prefix is a hint: an alert read through it
// that does not carry the identifier is no hit.
func TestHeldIdentifierReadByRecordPrefix(t *testing.T) {
	rep := openReplicaWith(t, WithTerms(store.Options{}))
	box := alert("box", store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU3054383"}})
	applyChange(t, rep, 1, []store.Alert{carAlert, box}, nil)
	boxItem := devices.Item{Kind: devices.KindContainer, Value: "CSQU3054383"}
	for _, start := range []string{"first start", "second start"} {
		ix, c := loadReadCounting(t, rep)
		if got := hitIDs(t, ix, plateItem); !slices.Equal(got, []string{"car"}) {
			t.Fatalf("%s: plate hits %v", start, got)
		}
		if c.byRecord != 1 || c.byTerm != 0 {
			t.Fatalf("%s: a held plate read %d times by record prefix, %d by term; want 1 and 0", start, c.byRecord, c.byTerm)
		}
	}

	// A delta files a second car under the same plate: the table's
	// prefixes know only the first, so the plate is read by term.
	ix, c := loadReadCounting(t, rep)
	car2 := alert("car2", store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "M-AB 1234", PlateCountry: "DE"}})
	applyChange(t, rep, 2, []store.Alert{car2}, nil)
	ix.Apply(changeOf(t, rep, []store.Alert{car2}))
	if got := hitIDs(t, ix, plateItem); !slices.Equal(got, []string{"car", "car2"}) {
		t.Fatalf("after a delta filing a second car under the plate: hits %v, want car and car2", got)
	}
	if c.byTerm != 1 {
		t.Fatalf("a plate a delta filed again was read %d times by term, want 1", c.byTerm)
	}
	before := c.byRecord
	if got := hitIDs(t, ix, boxItem); !slices.Equal(got, []string{"box"}) || c.byRecord != before+1 {
		t.Fatalf("the untouched container: hits %v, %d reads by record prefix", got, c.byRecord-before)
	}

	// A prefix pointing at an alert that does not carry the term (a
	// fingerprint collision, or an alert changed since): no hit.
	ix.mu.Lock()
	i := searchUniform(ix.termFPs.sorted, mustTermKey(t, rep, boxItem).Fingerprint())
	carFP := mustTermKey(t, rep, plateItem).Fingerprint()
	j := searchUniform(ix.termFPs.sorted, carFP)
	ix.termFPs.recs[i] = ix.termFPs.recs[j] // the box's prefix now points at a car
	ix.mu.Unlock()
	if got := hitIDs(t, ix, boxItem); len(got) != 0 {
		t.Fatalf("an alert read through a wrong prefix became a hit: %v", got)
	}
}

func mustTermKey(t *testing.T, rep *store.Replica, it devices.Item) store.TermKey {
	t.Helper()
	k, err := rep.TermKey(appendItemTerm(nil, it))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A term table saved before record prefixes (fingerprints alone) is
// still read, and the term index walked once for its prefixes, the table
// saved again with them; Persist keeps them, a delta's fingerprints with
// an unknown prefix, read by term.
func TestTermTableWithoutRecordsMigrated(t *testing.T) {
	rep := openReplicaWith(t, WithTerms(store.Options{}))
	applyChange(t, rep, 1, []store.Alert{carAlert}, nil)
	tbl, err := rep.ReadTermTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fps := slices.Compact(slices.Clone(tbl.Fingerprints))
	if err := rep.SaveTermTableAt(context.Background(), tbl.Stamp(), len(fps), slices.Values(fps)); err != nil {
		t.Fatal(err)
	}
	if old, err := rep.LoadTermTable(context.Background()); err != nil || old.Records != nil {
		t.Fatalf("a table of fingerprints alone: %v, records %v", err, old.Records)
	}
	ix, c := loadReadCounting(t, rep)
	if got := hitIDs(t, ix, plateItem); !slices.Equal(got, []string{"car"}) || c.byRecord != 1 {
		t.Fatalf("after the walk for prefixes: hits %v, %d reads by record prefix", got, c.byRecord)
	}
	saved, err := rep.LoadTermTable(context.Background())
	if err != nil || len(saved.Records) != len(saved.Fingerprints) {
		t.Fatalf("the table was not saved again with its prefixes: %v", err)
	}

	// Persist after a delta: the delta's fingerprint goes with prefix 0.
	box := alert("box", store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU3054383"}})
	applyChange(t, rep, 2, []store.Alert{box}, nil)
	ix.Apply(changeOf(t, rep, []store.Alert{box}))
	if ok, err := ix.Persist(context.Background()); !ok || err != nil {
		t.Fatalf("Persist: %v, %v", ok, err)
	}
	after, err := rep.LoadTermTable(context.Background())
	if err != nil {
		t.Fatalf("the persisted table is not current: %v", err)
	}
	if len(after.Records) != len(after.Fingerprints) || !slices.Contains(after.Records, 0) {
		t.Fatalf("persisted table: %d prefixes for %d fingerprints, none unknown", len(after.Records), len(after.Fingerprints))
	}
	next, c := loadReadCounting(t, rep)
	if got := hitIDs(t, next, devices.Item{Kind: devices.KindContainer, Value: "CSQU3054383"}); !slices.Equal(got, []string{"box"}) || c.byTerm != 1 {
		t.Fatalf("the delta's container after a restart: hits %v, %d reads by term", got, c.byTerm)
	}
	if got := hitIDs(t, next, plateItem); !slices.Equal(got, []string{"car"}) || c.byRecord != 1 {
		t.Fatalf("the car after a restart: hits %v, %d reads by record prefix", got, c.byRecord)
	}
}
