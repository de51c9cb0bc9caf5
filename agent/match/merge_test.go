package match

import (
	"testing"

	"github.com/borderpost/borderpost/store"
)

// TestMergeKeepsEachAlertOnceBestFirst: a post following overlapping
// scopes gets the same alert from two sets; the officer sees it once,
// with its better match, and every item's hits stay best first.
func TestMergeKeepsEachAlertOnceBestFirst(t *testing.T) {
	c := func(id string, score float64, how string) Candidate {
		return Candidate{Alert: store.Alert{ID: id}, Score: score, Match: how}
	}
	into := [][]Candidate{
		{c("A", 0.80, "fuzzy"), c("B", 0.75, "fuzzy")},
		nil,
	}
	Merge(into, [][]Candidate{
		{c("A", 0.95, "normalised"), c("C", 0.78, "fuzzy"), c("B", 0.70, "fuzzy")},
		{c("D", 1, "exact")},
	})
	var got []string
	for _, x := range into[0] {
		got = append(got, x.Alert.ID+":"+x.Match)
	}
	want := []string{"A:normalised", "C:fuzzy", "B:fuzzy"}
	if len(got) != len(want) {
		t.Fatalf("item 0: %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("item 0: %v, want %v", got, want)
		}
	}
	if into[0][2].Score != 0.75 {
		t.Errorf("B kept score %.2f, want its better 0.75", into[0][2].Score)
	}
	if len(into[1]) != 1 || into[1][0].Alert.ID != "D" {
		t.Errorf("item 1: %v, want D alone", into[1])
	}
}
