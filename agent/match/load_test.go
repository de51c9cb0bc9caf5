package match

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// openReplica returns a fresh replica in a test directory, at time now.
func openReplica(t *testing.T) *store.Replica { return openReplicaWith(t, store.Options{}) }

// openReplicaWith is openReplica with options (WithTerms).
func openReplicaWith(t *testing.T, o store.Options) *store.Replica {
	t.Helper()
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "data.key")
	if err := store.WriteKeyFile(keyPath); err != nil {
		t.Fatal(err)
	}
	o.Now = func() time.Time { return now }
	rep, err := store.Open(context.Background(), filepath.Join(dir, "replica.db"), store.KeyFile{Path: keyPath}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rep.Close() })
	return rep
}

// applyChange applies the next change (seq) with upserts and deletes.
func applyChange(t *testing.T, rep *store.Replica, seq uint64, ups []store.Alert, dels []string) {
	t.Helper()
	cur, err := rep.Cursor()
	if err != nil {
		t.Fatal(err)
	}
	d := cur.Digest
	for _, a := range ups {
		if old, ok, _ := rep.Alert(a.ID); ok {
			d.Remove(old.ID, old.Version)
		}
		d.Add(a.ID, a.Version)
	}
	for _, id := range dels {
		if old, ok, _ := rep.Alert(id); ok {
			d.Remove(old.ID, old.Version)
		}
	}
	ch := store.Change{Epoch: 1, Seq: seq, PrevHash: cur.Hash, Hash: [32]byte{byte(seq)}, Digest: d, Upserts: ups, Deletes: dels}
	if err := rep.Apply(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
}

var (
	plateItem = devices.Item{Kind: devices.KindPlate, Country: "DE", Raw: "MAB1234", Value: "MAB1234"}
	carAlert  = alert("car", store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "M-AB 1234", PlateCountry: "DE"}})
)

// The index Load builds reads the alert behind a match from the replica
// when the match is made: what it returns is the replica's current alert,
// an identifier the replica's alert no longer carries is no hit even
// though its fingerprint is still indexed, and a replica it cannot read
// fails the lookup rather than answer "no hit".
func TestLoadedIndexReadsAlertsFromReplica(t *testing.T) {
	t.Run("alerts in slots", func(t *testing.T) { testLoadedIndex(t, openReplica(t), false) })
	t.Run("identifiers in the term index", func(t *testing.T) { testLoadedIndex(t, openReplicaWith(t, WithTerms(store.Options{})), true) })
}

func testLoadedIndex(t *testing.T, rep *store.Replica, byTerm bool) {
	person := alert("p1", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Kowalczyk", Forenames: "Agnieszka"}})
	applyChange(t, rep, 1, []store.Alert{carAlert, person}, nil)
	ix, err := Load(context.Background(), rep, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 2 {
		t.Fatalf("Len %d, want 2", ix.Len())
	}
	if (ix.byTerm != nil) != byTerm || byTerm && ix.slots.live != 1 {
		t.Fatalf("term index used %v, want %v; %d alerts in slots", ix.byTerm != nil, byTerm, ix.slots.live)
	}
	got := mustLookup(t, ix, plateItem, now)
	if len(got) != 1 || got[0].Alert.ID != "car" || got[0].Alert.Action != "seize" {
		t.Fatalf("plate: %+v", got)
	}
	// Central re-issues the alert for another plate; the index has not
	// followed yet. The old plate's fingerprint still points at "car".
	moved := carAlert
	moved.Version, moved.Action = 2, "report"
	moved.Subject = store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "M-ZZ 9", PlateCountry: "DE"}}
	applyChange(t, rep, 2, []store.Alert{moved}, nil)
	if got := mustLookup(t, ix, plateItem, now); len(got) != 0 {
		t.Fatalf("a plate the replica's alert no longer carries matched: %+v", got)
	}
	got = mustLookup(t, ix, devices.Item{Kind: devices.KindPerson, Value: "Agnieszka Kowalczyk"}, now)
	if len(got) != 1 || got[0].Alert.ID != "p1" {
		t.Fatalf("name: %+v", got)
	}
	// A delta after the start: into the replica, then the index.
	box := alert("box", store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU3054383"}})
	applyChange(t, rep, 3, []store.Alert{box}, []string{"p1"})
	ix.Apply(store.Change{Upserts: []store.Alert{box}, Deletes: []string{"p1"}})
	if got := mustLookup(t, ix, devices.Item{Kind: devices.KindContainer, Value: "CSQU3054383"}, now); len(got) != 1 || got[0].Alert.ID != "box" {
		t.Fatalf("container added by a delta: %+v", got)
	}
	if got := mustLookup(t, ix, devices.Item{Kind: devices.KindPerson, Value: "Agnieszka Kowalczyk"}, now); len(got) != 0 || ix.Len() != 2 {
		t.Fatalf("deleted person: %d hits, %d alerts indexed", len(got), ix.Len())
	}
	ix.Put(person) // a name to find, whose alert the lookup below must read
	rep.Close()
	if _, err := ix.Lookup(devices.Item{Kind: devices.KindPerson, Value: "Agnieszka Kowalczyk"}, now); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("name lookup on a closed replica: %v, want ErrUnreadable", err)
	}
	if _, err := ix.MatchAll([]devices.Item{plateItem}, now); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("MatchAll on a closed replica: %v, want ErrUnreadable", err)
	}
}

// Identifiers are held as keyed fingerprints of their terms; one that
// another term shares is never a hit unless the alert read carries the
// term looked up.
func TestFingerprintCollisionIsNoHit(t *testing.T) {
	ix := NewIndex()
	ix.Put(carAlert)
	other := devices.Item{Kind: devices.KindPlate, Country: "DE", Value: "BX1"}
	// Make the other plate's fingerprint collide with the car's slot.
	ix.mu.Lock()
	car, _ := ix.slots.find("car")
	ix.fps.add(ix.fingerprint(term(devices.KindPlate, "DE BX1")), car)
	ix.mu.Unlock()
	if got := mustLookup(t, ix, other, now); len(got) != 0 {
		t.Fatalf("a colliding fingerprint became a hit: %+v", got)
	}
	if got := mustLookup(t, ix, plateItem, now); len(got) != 1 {
		t.Fatalf("the car's own plate: %d hits", len(got))
	}
}

// Expired alerts leave the index when it is expired, as the replica
// purges them: their names are no longer in memory (a lookup as of before
// the expiry finds nothing), and other alerts stay.
func TestExpireRemovesExpiredAlerts(t *testing.T) {
	ix := NewIndex()
	p := alert("p1", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Lindqvist", Forenames: "Sven"}})
	p.Expires = now
	car := carAlert
	car.Expires = now.Add(time.Hour)
	ix.Put(p)
	ix.Put(car)
	ix.Put(alert("box", store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU3054383"}}))
	sven := devices.Item{Kind: devices.KindPerson, Value: "Sven Lindqvist"}
	if got := mustLookup(t, ix, sven, now.Add(-time.Second)); len(got) != 1 {
		t.Fatalf("before expiry: %d hits", len(got))
	}
	if n := ix.Expire(now); n != 1 || ix.Len() != 2 {
		t.Fatalf("Expire removed %d, %d left; want 1 and 2", n, ix.Len())
	}
	if got := mustLookup(t, ix, sven, now.Add(-time.Second)); len(got) != 0 {
		t.Fatal("an expired alert's name stayed in the index")
	}
	if ix.names.Len() != 0 {
		t.Fatalf("name index still holds %d names", ix.names.Len())
	}
	if got := mustLookup(t, ix, plateItem, now); len(got) != 1 {
		t.Fatal("an alert not yet expired left the index")
	}
	if n := ix.Expire(now.Add(time.Hour)); n != 1 || ix.Len() != 1 {
		t.Fatalf("second Expire removed %d, %d left", n, ix.Len())
	}
}

// The hit limit applies after expired alerts are left out: an expired
// alert the purge has not reached yet does not take the place of the
// next best alert.
func TestNameLimitAppliesAfterExpiry(t *testing.T) {
	ix := NewIndexWith(Options{NameThreshold: 0.70, NameHits: 1})
	a := alert("p1", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Kowalczyk", Forenames: "Agnieszka"}})
	b := alert("p2", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Kowalczyk", Forenames: "Agnieszka Maria"}})
	ix.Put(a)
	ix.Put(b)
	q := devices.Item{Kind: devices.KindPerson, Value: "Agnieszka Kowalczik"}
	got := mustLookup(t, ix, q, now)
	if len(got) != 1 {
		t.Fatalf("%d hits with limit 1", len(got))
	}
	best, next := a, b
	if got[0].Alert.ID == b.ID {
		best, next = b, a
	}
	best.Expires = now
	ix.Put(best)
	got = mustLookup(t, ix, q, now)
	if len(got) != 1 || got[0].Alert.ID != next.ID {
		t.Fatalf("best alert expired: got %+v, want the next best %s", got, next.ID)
	}
}

// The term function's version is stable, so replicas keep their index
// from one start to the next.
func TestTermsVersionIsStable(t *testing.T) {
	if v := TermsVersion(); v == "" || v != TermsVersion() {
		t.Fatalf("TermsVersion %q then %q", v, TermsVersion())
	}
}

// Lookups go on while a snapshot's rebuilt index is swapped in and deltas
// arrive (run with -race).
func TestLookupsDuringReplaceAndApply(t *testing.T) {
	rep := openReplicaWith(t, WithTerms(store.Options{}))
	person := alert("p1", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Kowalczyk", Forenames: "Agnieszka"}})
	applyChange(t, rep, 1, []store.Alert{carAlert, person}, nil)
	ix, err := Load(context.Background(), rep, Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for {
			select {
			case <-done:
				return
			default:
			}
			got, err := ix.MatchAll([]devices.Item{plateItem, {Kind: devices.KindPerson, Value: "Agnieszka Kowalczyk"}}, now)
			if err != nil || len(got[0]) != 1 || len(got[1]) != 1 {
				errs <- fmt.Errorf("during swaps: %v, %v", got, err)
				return
			}
		}
	}()
	for i := range 20 {
		fresh, err := Load(context.Background(), rep, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ix.ReplaceWith(fresh)
		box := alert(fmt.Sprintf("box%d", i), store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU3054383"}})
		ix.Apply(store.Change{Upserts: []store.Alert{box}})
	}
	close(done)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// A vessel is found by any of its names, misspelt, as a declaration names
// it (a means of transport identified by name), and by its IMO number:
// from a replica with a term index as on a post, and from the in-memory
// index.
func TestVesselsFoundByNameAndIMO(t *testing.T) {
	ship := alert("ship", store.Subject{Kind: store.SubjectVessel, Vessel: &store.Vessel{IMO: "9074729", Name: "Sea Morning Star",
		Aliases: []string{"Ocean Carrier Seven"}}})
	check := func(t *testing.T, ix *Index) {
		for _, q := range []string{"SEA MORNING STAR", "Sea Mornig Star", "Ocean Carier Seven"} {
			if got := mustLookup(t, ix, devices.Item{Kind: devices.KindCompany, Value: q}, now); len(got) == 0 || got[0].Alert.ID != "ship" {
				t.Errorf("vessel named %q: %+v", q, got)
			}
		}
		if got := mustLookup(t, ix, devices.Item{Kind: devices.KindIMO, Value: "9074729"}, now); len(got) != 1 || got[0].Alert.ID != "ship" {
			t.Errorf("vessel by IMO number: %+v", got)
		}
	}
	t.Run("replica", func(t *testing.T) {
		rep := openReplicaWith(t, WithTerms(store.Options{}))
		applyChange(t, rep, 1, []store.Alert{ship, carAlert}, nil)
		ix, err := Load(context.Background(), rep, Options{})
		if err != nil {
			t.Fatal(err)
		}
		check(t, ix)
	})
	t.Run("in memory", func(t *testing.T) {
		ix := NewIndex()
		ix.Put(ship)
		check(t, ix)
	})
}
