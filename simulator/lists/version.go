package lists

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"

	"github.com/borderpost/borderpost/store"
)

// Options carries what the list formats do not say themselves.
type Options struct {
	// Purposes are the authorities that may use a hit on the alerts made.
	// Nil means DefaultPurposes.
	Purposes []string
}

// DefaultPurposes are the purposes given to OFAC and UN alerts when
// Options.Purposes is nil.
func DefaultPurposes() []string { return []string{"customs", "border", "police"} }

func (o Options) purposes() []string {
	if o.Purposes == nil {
		return DefaultPurposes()
	}
	return slices.Clone(o.Purposes)
}

// contentVersion returns the version of an alert: the first 8 bytes of
// SHA-256 over its JSON form with version 0, never 0. The same content
// gives the same version in every snapshot, so Diff sees only real changes;
// the JSON form is deterministic because the parsers sort and de-duplicate
// every list they fill.
func contentVersion(a store.Alert) uint64 {
	a.Version = 0
	b, err := json.Marshal(a)
	if err != nil {
		// store.Alert holds only strings, slices and times; Marshal cannot
		// fail on it, but a version must never be 0.
		b = []byte(a.ID)
	}
	h := sha256.New()
	h.Write([]byte("borderpost list alert\x00"))
	h.Write(b)
	v := binary.BigEndian.Uint64(h.Sum(nil))
	if v == 0 {
		v = 1
	}
	return v
}

// cleanList trims, drops empty values and those equal to skip (case
// insensitive), sorts and de-duplicates; nil when nothing is left.
func cleanList(in []string, skip ...string) []string {
	var out []string
	for _, s := range in {
		s = strings.Join(strings.Fields(s), " ")
		if s == "" || slices.ContainsFunc(skip, func(k string) bool { return strings.EqualFold(k, s) }) {
			continue
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
