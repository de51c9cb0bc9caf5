package lists

import (
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/borderpost/borderpost/store"
)

// applyDelta applies a delta to a set the way a replica does.
func applyDelta(set []store.Alert, upserts []store.Alert, deletes []string) map[string]uint64 {
	m := make(map[string]uint64, len(set))
	for _, a := range set {
		m[a.ID] = a.Version
	}
	for _, id := range deletes {
		delete(m, id)
	}
	for _, a := range upserts {
		m[a.ID] = a.Version
	}
	return m
}

func byID(set []store.Alert) map[string]store.Alert {
	m := make(map[string]store.Alert, len(set))
	for _, a := range set {
		m[a.ID] = a
	}
	return m
}

func TestDiffSDN2019To2021(t *testing.T) {
	old, err := ParseOFACDir(os.DirFS(sharedData(t, "ofac/sdn_2019-01")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := ParseOFACDir(os.DirFS(sharedData(t, "ofac/sdn_2021-07")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	upserts, deletes := Diff(old, cur)
	before, after := byID(old), byID(cur)
	adds, changes := 0, 0
	for _, a := range upserts {
		if _, ok := before[a.ID]; ok {
			changes++
		} else {
			adds++
		}
	}
	// 261 entries of 2019 are gone in 2021 and 1,858 are new (counted from
	// the ent_num columns of the two sdn.csv files).
	if len(deletes) != 261 || adds != 1858 || changes == 0 {
		t.Fatalf("deletes %d adds %d changes %d, want 261, 1858 and some", len(deletes), adds, changes)
	}
	if !slices.IsSorted(deletes) {
		t.Error("deletes not sorted")
	}
	got := applyDelta(old, upserts, deletes)
	if len(got) != len(cur) {
		t.Fatalf("applied delta holds %d alerts, 2021 has %d", len(got), len(cur))
	}
	for _, a := range cur {
		if got[a.ID] != a.Version {
			t.Fatalf("%s: applied version %d, 2021 version %d", a.ID, got[a.ID], a.Version)
		}
	}
	// ent_num 587 (a Cuba program individual) was delisted before 2021.
	if !slices.Contains(deletes, "OFAC-SDN-587") {
		t.Error("OFAC-SDN-587 removed in 2021 is not among the deletes")
	}
	// ent_num 21844 was added after January 2019.
	i := slices.IndexFunc(upserts, func(a store.Alert) bool { return a.ID == "OFAC-SDN-21844" })
	if i < 0 {
		t.Fatal("OFAC-SDN-21844 added in 2021 is not among the upserts")
	}
	if p := upserts[i].Subject.Person; p == nil || p.Surname != "HAKIMZADA" || p.BirthDate != "1953-06-23" {
		t.Errorf("OFAC-SDN-21844 upsert: %+v", upserts[i].Subject)
	}
	// The version changes exactly when the content does.
	for id, o := range before {
		n, ok := after[id]
		if !ok {
			continue
		}
		ov, nv := o.Version, n.Version
		o.Version, n.Version = 0, 0
		if same := reflect.DeepEqual(o, n); same != (ov == nv) {
			t.Fatalf("%s: content equal %v but versions %d and %d", id, same, ov, nv)
		}
	}
	// A set diffed against itself is an empty delta.
	if u, d := Diff(cur, cur); len(u) != 0 || len(d) != 0 {
		t.Errorf("self diff: %d upserts, %d deletes", len(u), len(d))
	}
}

func TestDiffSmall(t *testing.T) {
	mk := func(id string, v uint64) store.Alert { return store.Alert{ID: id, Version: v} }
	old := []store.Alert{mk("a", 1), mk("b", 1), mk("c", 1)}
	cur := []store.Alert{mk("c", 1), mk("b", 2), mk("d", 1)}
	u, d := Diff(old, cur)
	if !reflect.DeepEqual(u, []store.Alert{mk("b", 2), mk("d", 1)}) || !reflect.DeepEqual(d, []string{"a"}) {
		t.Fatalf("upserts %v deletes %v", u, d)
	}
	if u, d := Diff(nil, nil); u != nil || d != nil {
		t.Fatal("empty diff not empty")
	}
}
