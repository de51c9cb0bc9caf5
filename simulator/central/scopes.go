package central

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
)

// ScopeConfig is central's scope configuration (configs/scopes.example.yaml):
// the scopes, and which agents follow which.
type ScopeConfig struct {
	Scopes []bpsync.Scope `yaml:"scopes"`
	// Agents gives single agents their scopes.
	Agents map[string][]string `yaml:"agents"`
	// Groups give several agents the same scopes.
	Groups []ScopeGroup `yaml:"groups"`
	// Unscoped agents follow the whole watch list; the ACL lets them.
	Unscoped []string `yaml:"unscoped"`
}

// ScopeGroup gives every agent it lists the same scopes.
type ScopeGroup struct {
	Name   string   `yaml:"name"`
	Agents []string `yaml:"agents"`
	Scopes []string `yaml:"scopes"`
}

// ReadScopeConfig reads and checks a scope configuration: scope names
// valid and unique, subjects and post kinds known, every assigned scope
// defined, no agent given scopes twice.
func ReadScopeConfig(r io.Reader) (ScopeConfig, error) {
	var sc ScopeConfig
	dec := yaml.NewDecoder(io.LimitReader(r, 4<<20))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil && !errors.Is(err, io.EOF) {
		return sc, fmt.Errorf("scope configuration: %w", err)
	}
	defined := map[string]bool{}
	for _, s := range sc.Scopes {
		if err := bpsync.ValidScopeName(s.Name); err != nil {
			return sc, fmt.Errorf("scope configuration: %w", err)
		}
		if defined[s.Name] {
			return sc, fmt.Errorf("scope configuration: scope %q defined twice", s.Name)
		}
		defined[s.Name] = true
		for _, k := range s.Rule.Subjects {
			if !knownSubject(k) {
				return sc, fmt.Errorf("scope configuration: scope %s: unknown subject %q", s.Name, k)
			}
		}
		for _, p := range s.Rule.Posts {
			if !store.ValidPostKind(p) {
				return sc, fmt.Errorf("scope configuration: scope %s: unknown post kind %q; use road, sea, air, rail or postal", s.Name, p)
			}
		}
	}
	check := func(who string, scopes []string) error {
		for _, n := range scopes {
			if !defined[n] {
				return fmt.Errorf("scope configuration: %s is given scope %q, which is not defined under scopes", who, n)
			}
		}
		return nil
	}
	for agent, scopes := range sc.Agents {
		if err := check("agent "+agent, scopes); err != nil {
			return sc, err
		}
	}
	for _, g := range sc.Groups {
		if err := check("group "+g.Name, g.Scopes); err != nil {
			return sc, err
		}
	}
	_, err := sc.Assignments()
	return sc, err
}

func knownSubject(k store.SubjectKind) bool {
	return slices.Contains([]store.SubjectKind{store.SubjectPerson, store.SubjectCompany, store.SubjectVehicle, store.SubjectContainer,
		store.SubjectDocument, store.SubjectFirearm, store.SubjectPhone, store.SubjectEmail, store.SubjectVessel, store.SubjectAircraft}, k)
}

// Assignments returns each agent's scopes, groups expanded.
func (sc ScopeConfig) Assignments() (map[string][]string, error) {
	out := make(map[string][]string, len(sc.Agents))
	for agent, scopes := range sc.Agents {
		out[agent] = slices.Clone(scopes)
	}
	for _, g := range sc.Groups {
		for _, agent := range g.Agents {
			if _, dup := out[agent]; dup {
				return nil, fmt.Errorf("scope configuration: agent %s is given scopes twice (group %s and elsewhere)", agent, g.Name)
			}
			out[agent] = slices.Clone(g.Scopes)
		}
	}
	return out, nil
}
