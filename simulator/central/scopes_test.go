package central

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
)

func TestReadScopeConfigExample(t *testing.T) {
	f, err := os.Open("../../configs/scopes.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc, err := ReadScopeConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	as, err := sc.Assignments()
	if err != nil {
		t.Fatal(err)
	}
	if got := as["post-fr-leh-01"]; !slices.Equal(got, []string{"sea-north", "customs"}) {
		t.Errorf("group member's scopes = %v", got)
	}
	if len(as) != 4 {
		t.Errorf("%d agents assigned, want 4", len(as))
	}
}

func TestReadScopeConfigRefusesMistakes(t *testing.T) {
	for name, text := range map[string]string{
		"undefined scope": "scopes: [{name: road}]\nagents: {a: [rail]}\n",
		"bad name":        "scopes: [{name: Road}]\n",
		"duplicate":       "scopes: [{name: road}, {name: road}]\n",
		"unknown field":   "scopes: [{name: road, rule: {subject: [vehicle]}}]\n",
		"unknown subject": "scopes: [{name: road, rule: {subjects: [lorry]}}]\n",
		"unknown post":    "scopes: [{name: road, rule: {posts: [river]}}]\n",
		"twice":           "scopes: [{name: road}]\nagents: {a: [road]}\ngroups: [{name: g, agents: [a], scopes: [road]}]\n",
	} {
		if _, err := ReadScopeConfig(strings.NewReader(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// An alert that enters a scope is an upsert there, one that leaves it or
// is deleted from the list a delete; unchanged versions are not resent.
func TestStreamShare(t *testing.T) {
	st := newStream("customs", bpsync.ScopeRule{Purposes: []string{"customs"}}, 1)
	alert := func(id string, v uint64, purposes ...string) store.Alert {
		return store.Alert{ID: id, Version: v, Purposes: purposes}
	}
	st.alerts["A"] = alert("A", 1, "customs")
	st.alerts["B"] = alert("B", 1, "customs")
	st.alerts["C"] = alert("C", 1, "customs", "police")
	whole := map[string]store.Alert{
		"A": alert("A", 2, "police"),            // leaves the scope
		"C": alert("C", 1, "customs", "police"), // unchanged
		"D": alert("D", 1, "border", "customs"), // enters
		"E": alert("E", 1, "border"),            // never in
	}
	for _, ids := range [][]string{{"A", "B", "C", "D", "E"}, nil} {
		ups, dels := st.share(whole, ids)
		var upIDs []string
		for _, a := range ups {
			upIDs = append(upIDs, a.ID)
		}
		slices.Sort(dels)
		if !slices.Equal(upIDs, []string{"D"}) || !slices.Equal(dels, []string{"A", "B"}) {
			t.Errorf("ids %v: upserts %v, deletes %v; want [D] and [A B]", ids, upIDs, dels)
		}
	}
}
