package match

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// readCountingReplica counts how a lookup reads the alerts behind a held
// identifier: by term (two B+tree descents) or by the term table's record
// prefixes (one). With redirect set, a read by record prefixes reads
// those instead of the ones asked for: the table pointing at another
// alert.
type readCountingReplica struct {
	*store.Replica
	byTerm, byRecord int
	redirect         []uint64
}

func (c *readCountingReplica) AppendAlertsByTerm(dst []store.Alert, term []byte, k store.TermKey) ([]store.Alert, error) {
	c.byTerm++
	return c.Replica.AppendAlertsByTerm(dst, term, k)
}

func (c *readCountingReplica) AppendAlertsByRecord(dst []store.Alert, recs []uint64, keyGen uint32, alertGen uint64) ([]store.Alert, bool, error) {
	c.byRecord++
	if c.redirect != nil {
		recs = c.redirect
	}
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

func mustTermKey(t *testing.T, rep *store.Replica, it devices.Item) store.TermKey {
	t.Helper()
	k, err := rep.TermKey(appendItemTerm(nil, it))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A held identifier is read through the term table's record prefixes,
// without descending the term index (issue 16: one B+tree descent instead
// of two at 100 million alerts), on the first start (the index walked)
// and on the next (the table loaded). What the prefixes cannot answer
// for is read by term: an identifier a delta filed since (here under a
// plate the table already holds, on a second alert). A prefix is a hint:
// an alert read through it that does not carry the identifier is no hit.
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

	// The table's prefix pointing at an alert that does not carry the
	// term (the car's, for the box): no hit.
	carRecs, held, complete := ix.termFPs.table.Records(nil, mustTermKey(t, rep, plateItem).Fingerprint())
	if !held || !complete || len(carRecs) != 1 {
		t.Fatalf("the car's plate in the table: %d prefixes, held %v, complete %v", len(carRecs), held, complete)
	}
	c.redirect = carRecs
	before = c.byRecord
	if got := hitIDs(t, ix, boxItem); len(got) != 0 || c.byRecord != before+1 {
		t.Fatalf("an alert read through a wrong prefix: hits %v (%d reads by prefix), want none", got, c.byRecord-before)
	}
}

// collidingPlates returns two plates whose term fingerprints share the
// 24 bits a small term table keeps of them (no bucket bits): found among
// a few thousand, by the birthday bound.
func collidingPlates(t *testing.T, rep *store.Replica) (devices.Item, devices.Item) {
	t.Helper()
	seen := map[uint64]devices.Item{}
	for i := range 1 << 18 {
		v := fmt.Sprintf("C%d", i)
		it := devices.Item{Kind: devices.KindPlate, Country: "DE", Raw: v, Value: v}
		top := mustTermKey(t, rep, it).Fingerprint() >> 40
		if o, ok := seen[top]; ok {
			return o, it
		}
		seen[top] = it
	}
	t.Fatal("no two plates share 24 bits of fingerprint")
	return devices.Item{}, devices.Item{}
}

// The term table keeps 24 bits of a fingerprint beyond its bucket, and
// a small table has no bucket bits: a plate on no alert whose
// fingerprint shares those bits with a held plate is a candidate, read
// through the held plate's record prefix, and no hit, since the alert
// read does not carry it. The held plate still is one.
func TestTermTableFingerprintCollisionIsNoHit(t *testing.T) {
	rep := openReplicaWith(t, WithTerms(store.Options{}))
	heldPlate, other := collidingPlates(t, rep)
	a := alert("held", store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: heldPlate.Value, PlateCountry: "DE"}})
	if ts := Terms(&a); !slices.Contains(ts, string(appendItemTerm(nil, heldPlate))) {
		t.Fatalf("the alert's terms %q lack the plate's", ts)
	}
	applyChange(t, rep, 1, []store.Alert{a}, nil)
	ix, c := loadReadCounting(t, rep)
	if got := hitIDs(t, ix, other); len(got) != 0 {
		t.Fatalf("a plate colliding with a held one's fingerprint became a hit: %v", got)
	}
	if c.byRecord != 1 || c.byTerm != 0 {
		t.Fatalf("the colliding plate was read %d times by record prefix, %d by term; want 1 and 0 (a candidate)", c.byRecord, c.byTerm)
	}
	if got := hitIDs(t, ix, heldPlate); !slices.Equal(got, []string{"held"}) {
		t.Fatalf("the held plate: hits %v", got)
	}
}

// Persist after a delta writes the table with the delta's terms of
// unknown record prefix: after a restart those are read by term, the
// others still by prefix.
func TestPersistedTermTableKeepsRecordPrefixes(t *testing.T) {
	rep := openReplicaWith(t, WithTerms(store.Options{}))
	applyChange(t, rep, 1, []store.Alert{carAlert}, nil)
	ix, _ := loadReadCounting(t, rep)
	box := alert("box", store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU3054383"}})
	applyChange(t, rep, 2, []store.Alert{box}, nil)
	ix.Apply(changeOf(t, rep, []store.Alert{box}))
	if ok, err := ix.Persist(context.Background()); !ok || err != nil {
		t.Fatalf("Persist: %v, %v", ok, err)
	}
	if _, err := rep.LoadTermTable(context.Background()); err != nil {
		t.Fatalf("the persisted table is not current: %v", err)
	}
	next, c := loadReadCounting(t, rep)
	if got := hitIDs(t, next, devices.Item{Kind: devices.KindContainer, Value: "CSQU3054383"}); !slices.Equal(got, []string{"box"}) || c.byTerm != 1 || c.byRecord != 0 {
		t.Fatalf("the delta's container after a restart: hits %v, %d reads by term, %d by prefix", got, c.byTerm, c.byRecord)
	}
	if got := hitIDs(t, next, plateItem); !slices.Equal(got, []string{"car"}) || c.byRecord != 1 {
		t.Fatalf("the car after a restart: hits %v, %d reads by record prefix", got, c.byRecord)
	}
}
