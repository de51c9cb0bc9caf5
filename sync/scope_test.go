package sync

import (
	"testing"

	"github.com/borderpost/borderpost/store"
)

func TestScopeRuleSelects(t *testing.T) {
	person := store.Alert{ID: "P", Source: "SIS", Category: "art26-arrest", Purposes: []string{"police", "border"},
		Subject: store.Subject{Kind: store.SubjectPerson}}
	truck := store.Alert{ID: "V", Source: "NATIONAL", Category: "art38-seizure", Purposes: []string{"customs"},
		Posts: []string{"road"}, Regions: []string{"east"}, Subject: store.Subject{Kind: store.SubjectVehicle}}
	for _, tc := range []struct {
		name        string
		rule        ScopeRule
		person, car bool
	}{
		{"empty rule selects all", ScopeRule{}, true, true},
		{"subjects", ScopeRule{Subjects: []store.SubjectKind{store.SubjectVehicle}}, false, true},
		{"category prefix", ScopeRule{Categories: []string{"art26-*"}}, true, false},
		{"category exact", ScopeRule{Categories: []string{"art38"}}, false, false},
		{"sources", ScopeRule{Sources: []string{"SIS"}}, true, false},
		{"purposes any of", ScopeRule{Purposes: []string{"customs", "border"}}, true, true},
		{"posts: none named means everywhere", ScopeRule{Posts: []string{"sea"}}, true, false},
		{"regions", ScopeRule{Regions: []string{"east"}}, true, true},
		{"all lists must hold", ScopeRule{Subjects: []store.SubjectKind{store.SubjectVehicle}, Purposes: []string{"police"}}, false, false},
	} {
		if got := tc.rule.Selects(&person); got != tc.person {
			t.Errorf("%s: person selected = %v", tc.name, got)
		}
		if got := tc.rule.Selects(&truck); got != tc.car {
			t.Errorf("%s: vehicle selected = %v", tc.name, got)
		}
	}
}

func TestScopeNamesAndAssignments(t *testing.T) {
	for _, bad := range []string{"", "Road", "1road", "road/x", "road#", "a-very-long-scope-name-of-more-than-32"} {
		if ValidScopeName(bad) == nil {
			t.Errorf("scope name %q accepted", bad)
		}
	}
	to := func(agent string) Binding { return Binding{Kind: KindAssignment, To: agent} }
	if err := (Assignment{Binding: to("a"), Seq: 1, Scopes: []string{"road"}}).Check("a"); err != nil {
		t.Errorf("a good assignment refused: %v", err)
	}
	if err := (Assignment{Binding: to("a"), Seq: 1, Scopes: []string{"road", "road"}}).Check("a"); err == nil {
		t.Error("a scope assigned twice accepted")
	}
	if err := (Assignment{Binding: to("a"), Seq: 1, Scopes: []string{"road"}}).Check("b"); err == nil {
		t.Error("another agent's assignment accepted")
	}
	if err := (Assignment{Binding: to("a"), Scopes: []string{"road"}}).Check("a"); err == nil {
		t.Error("an assignment without sequence accepted")
	}
}

func TestTopicMatches(t *testing.T) {
	for _, c := range []struct {
		filter, topic string
		want          bool
	}{
		{"bp/v1/agents/+/hits", "bp/v1/agents/post-1/hits", true},
		{"bp/v1/agents/+/hits", "bp/v1/agents/post-1/acks", false},
		{"bp/v1/scopes/road/#", "bp/v1/scopes/road/delta", true},
		{"bp/v1/scopes/road/#", "bp/v1/scopes/road", true},
		{"bp/v1/scopes/road/#", "bp/v1/scopes/postal/delta", false},
		{"bp/v1/watchlist/head", "bp/v1/watchlist/head", true},
		{"bp/v1/watchlist/head", "bp/v1/watchlist/head/x", false},
		{"bp/v1/agents/+/scopes", "bp/v1/agents/a/scopes/road/deltas", false},
	} {
		if got := topicMatches(c.filter, c.topic); got != c.want {
			t.Errorf("topicMatches(%q, %q) = %v", c.filter, c.topic, got)
		}
	}
}
