package store

import (
	"path/filepath"
	"strings"
)

// ScopePath returns where the replica of one scope lives, given the main
// replica's path: beside it, named for the scope (replica.db ->
// replica.scope-road.db). That file holds the scope's alerts and nothing
// else, so that dropping the scope is removing the file (Remove).
func ScopePath(main, scope string) string {
	ext := filepath.Ext(main)
	return strings.TrimSuffix(main, ext) + ".scope-" + scope + ext
}

// ScopeFiles returns the scope replicas beside the main replica, by scope
// name. They are encrypted with the same data key as the main one.
func ScopeFiles(main string) (map[string]string, error) {
	ext := filepath.Ext(main)
	prefix := strings.TrimSuffix(main, ext) + ".scope-"
	matches, err := filepath.Glob(prefix + "*" + ext)
	if err != nil {
		return nil, err
	}
	found := make(map[string]string, len(matches))
	for _, m := range matches {
		name := strings.TrimSuffix(strings.TrimPrefix(m, prefix), ext)
		if scopeName(name) {
			found[name] = m
		}
	}
	return found, nil
}

// scopeName reports whether a file name part can be a scope's name, which
// is lower-case letters, digits and hyphens (sync.ValidScopeName says
// more).
func scopeName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
