package sync

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/borderpost/borderpost/store"
)

// A Scope is a named rule that selects the alerts a kind of post may hold.
// Central publishes one stream of deltas per scope, with its own sequence
// and digest, and each agent follows the scopes central assigns it
// (docs/protocol.md, "Scopes").
type Scope struct {
	Name string    `json:"name" yaml:"name"`
	Rule ScopeRule `json:"rule" yaml:"rule"`
}

// ScopeRule selects alerts by their fields. Every list that is not empty
// must be met (an alert matches a list when it has one of its values); an
// empty rule selects every alert.
type ScopeRule struct {
	// Subjects are the kinds of subject: person, company, vehicle, ...
	Subjects []store.SubjectKind `json:"subjects,omitempty" yaml:"subjects"`
	// Categories are alert categories; a trailing "*" matches a prefix
	// ("art26-*").
	Categories []string `json:"categories,omitempty" yaml:"categories"`
	// Sources are issuing systems: SIS, EUROPOL, NATIONAL, ...
	Sources []string `json:"sources,omitempty" yaml:"sources"`
	// Purposes are the authorities the post serves: an alert is selected
	// when its purposes include one of them.
	Purposes []string `json:"purposes,omitempty" yaml:"purposes"`
	// Posts are the kinds of post (road, sea, air, rail, postal): an alert
	// is selected when it names one of them or names none.
	Posts []string `json:"posts,omitempty" yaml:"posts"`
	// Regions work like Posts, with central's region names.
	Regions []string `json:"regions,omitempty" yaml:"regions"`
}

// Selects reports whether the rule selects a.
func (r ScopeRule) Selects(a *store.Alert) bool {
	if len(r.Subjects) > 0 && !slices.Contains(r.Subjects, a.Subject.Kind) {
		return false
	}
	if len(r.Categories) > 0 && !slices.ContainsFunc(r.Categories, func(c string) bool { return categoryMatch(c, a.Category) }) {
		return false
	}
	if len(r.Sources) > 0 && !slices.Contains(r.Sources, a.Source) {
		return false
	}
	if len(r.Purposes) > 0 && !intersects(r.Purposes, a.Purposes) {
		return false
	}
	if len(r.Posts) > 0 && len(a.Posts) > 0 && !intersects(r.Posts, a.Posts) {
		return false
	}
	if len(r.Regions) > 0 && len(a.Regions) > 0 && !intersects(r.Regions, a.Regions) {
		return false
	}
	return true
}

func categoryMatch(pattern, category string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(category, prefix)
	}
	return pattern == category
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// ValidScopeName reports whether name can be a scope's name: 1 to 32
// lower-case letters, digits and hyphens, starting with a letter. Scope
// names go into topics and file names, so nothing else is allowed.
func ValidScopeName(name string) error {
	if len(name) == 0 || len(name) > 32 {
		return fmt.Errorf("%w: scope name %q: want 1 to 32 characters", ErrMessage, name)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '-')
		if !ok {
			return fmt.Errorf("%w: scope name %q: use lower-case letters, digits and hyphens, starting with a letter", ErrMessage, name)
		}
	}
	return nil
}

// ScopeTopic returns a scope's broadcast topic of the given kind: "delta"
// or "head".
func ScopeTopic(scope, kind string) string { return path.Join("bp/v1/scopes", scope, kind) }

// AgentScopeTopic returns the per-agent topic of one scope's stream:
// "deltas" (replays) or "snapshot".
func AgentScopeTopic(agent, scope, kind string) string {
	return path.Join("bp/v1/agents", agent, "scopes", scope, kind)
}

// Assignment is central's signed word on which scopes an agent follows,
// published retained on the agent's "scopes" topic. An agent holding
// alerts of a scope that is no longer assigned purges them. Binding:
// KindAssignment to the agent.
type Assignment struct {
	Binding
	// Seq only grows from one assignment of an agent to the next: the
	// agent refuses one older than the one in force, and takes the one in
	// force again (the retained message, at every connect) as a no-op.
	Seq    uint64   `json:"seq"`
	Scopes []string `json:"scopes"`
	// Whole sends the agent back to the whole watch list: its scopes are
	// dropped. Scopes must then be empty.
	Whole  bool      `json:"whole,omitempty"`
	Issued time.Time `json:"issued"`
}

// Check validates an assignment addressed to agent.
func (as Assignment) Check(agent string) error {
	if as.Kind != KindAssignment || as.To != agent {
		return fmt.Errorf("%w: a %s received by %q as a scope assignment", ErrBinding, as.Binding, agent)
	}
	if as.Seq == 0 {
		return fmt.Errorf("%w: scope assignment without a sequence", ErrMessage)
	}
	if as.Whole && len(as.Scopes) > 0 {
		return fmt.Errorf("%w: an assignment to the whole list names scopes", ErrMessage)
	}
	seen := make(map[string]bool, len(as.Scopes))
	for _, s := range as.Scopes {
		if err := ValidScopeName(s); err != nil {
			return err
		}
		if seen[s] {
			return fmt.Errorf("%w: scope %q assigned twice", ErrMessage, s)
		}
		seen[s] = true
	}
	return nil
}

// ScopeStatus is one scope's replica in an agent's status.
type ScopeStatus struct {
	Scope  string `json:"scope"`
	Epoch  uint64 `json:"epoch"`
	Seq    uint64 `json:"seq"`
	Digest string `json:"digest"`
	Alerts int    `json:"alerts"`
}
