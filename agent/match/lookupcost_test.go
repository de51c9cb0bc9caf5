package match

import (
	"context"
	"testing"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// An identifier the list does not hold, which is nearly every check,
// costs the agent a keyed hash and a term table search and allocates
// nothing: at 10 and 100 million alerts the collector then has nothing to
// do because of checks, and no check waits on its mark assists. A held one reads
// its alert from the replica, once.
func TestIdentifierMissAllocatesNothing(t *testing.T) {
	rep := openReplicaWith(t, WithTerms(store.Options{}))
	doc := alert("doc", store.Subject{Kind: store.SubjectDocument, Document: &store.Document{Number: "X1234567", Country: "FR"}})
	box := alert("box", store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU3054383"}})
	person := alert("p1", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Kowalczyk", Forenames: "Agnieszka"}})
	applyChange(t, rep, 1, []store.Alert{carAlert, doc, box, person}, nil)
	ix, err := Load(context.Background(), rep, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ix.byTerm == nil {
		t.Fatal("the index does not look identifiers up in the term index")
	}
	held := []devices.Item{plateItem, {Kind: devices.KindDocument, Value: "X1234567", Country: "FR"}, {Kind: devices.KindContainer, Value: "CSQU3054383"}}
	for _, it := range held {
		if got := mustLookup(t, ix, it, now); len(got) != 1 {
			t.Fatalf("%s %s: %d hits, want 1", it.Kind, it.Value, len(got))
		}
	}
	for _, it := range []devices.Item{
		{Kind: devices.KindPlate, Country: "DE", Raw: "MAB1235", Value: "MAB1235"},
		{Kind: devices.KindDocument, Value: "X7654321", Country: "FR"},
		{Kind: devices.KindContainer, Value: "MSCU1234566"},
		{Kind: devices.KindFirearm, Value: "AB1234"},
	} {
		var got []Candidate
		allocs := testing.AllocsPerRun(200, func() {
			if got, err = ix.Lookup(it, now); err != nil {
				t.Fatal(err)
			}
		})
		if len(got) != 0 {
			t.Fatalf("%s %s: %d hits, want none", it.Kind, it.Value, len(got))
		}
		if allocs != 0 {
			t.Errorf("a %s not held: %.0f allocations a lookup, want 0", it.Kind, allocs)
		}
	}
}
