package match

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/borderpost/borderpost/store"
)

// termIndex is what an index reads of a replica that keeps a term index
// (store.Options.Terms, see WithTerms): *store.Replica. Identifiers are
// then looked up there, and memory keeps only the fingerprints of their
// keyed hashes.
type termIndex interface {
	TermsReady() (bool, error)
	TermFingerprints(terms []string) ([]uint64, error)
	EachTermFingerprint(ctx context.Context, fn func(fp uint64)) error
	AlertsByTerm(term string) ([]store.Alert, error)
	AlertCount() (int, error)
}

// WithTerms returns o set to make the replica keep the term index the
// match index reads (store.Options.Terms): every store.Open of the
// agent's replicas passes through it, since a replica written without it
// has its term index rebuilt at the next start.
func WithTerms(o store.Options) store.Options {
	o.Terms, o.TermsVersion = Terms, TermsVersion()
	return o
}

// TermsVersion names what Terms gives: a hash of the terms of sample
// alerts of every kind, so that a change of normalisation (devices/ident)
// changes it, and replicas rebuild their term index, without anyone
// having to remember to.
func TermsVersion() string {
	samples := []store.Subject{
		{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "m-ab 1234", PlateCountry: "de", VIN: "wvwzzz1jz3w386752"}},
		{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "B0B 1", PlateCountry: "GB"}},
		{Kind: store.SubjectContainer, Container: &store.Container{Number: "csqu 305438 3"}},
		{Kind: store.SubjectDocument, Document: &store.Document{Number: "12ab-34567", Country: "FR"}},
		{Kind: store.SubjectCompany, Company: &store.Company{Name: "X", EORI: "de 123456789012345"}},
		{Kind: store.SubjectVessel, Vessel: &store.Vessel{IMO: "imo 9074729"}},
		{Kind: store.SubjectAircraft, Aircraft: &store.Aircraft{Registration: "d-abcd"}},
		{Kind: store.SubjectFirearm, Firearm: &store.Firearm{Serial: "ab 12-34"}},
		{Kind: store.SubjectPhone, Phone: "+49 (30) 123 4567"},
		{Kind: store.SubjectEmail, Email: "Ops@Example.ORG"},
	}
	h := sha256.New()
	for _, s := range samples {
		a := store.Alert{Subject: s}
		h.Write([]byte(strings.Join(Terms(&a), "\x01")))
		h.Write([]byte{0})
	}
	return "terms-1-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// hasName reports whether an alert has names for the name index.
func hasName(a *store.Alert) bool {
	s := a.Subject
	return s.Kind == store.SubjectPerson && s.Person != nil || s.Kind == store.SubjectCompany && s.Company != nil
}

// fpSet is the set of term fingerprints of a replica's term index: sorted
// as the replica gives them at Load, 8 bytes each, and a map of those
// deltas added since.
type fpSet struct {
	sorted []uint64
	added  map[uint64]struct{}
}

func (s *fpSet) contains(fp uint64) bool {
	if _, ok := slices.BinarySearch(s.sorted, fp); ok {
		return true
	}
	_, ok := s.added[fp]
	return ok
}

func (s *fpSet) add(fp uint64) {
	if !s.contains(fp) {
		if s.added == nil {
			s.added = make(map[uint64]struct{})
		}
		s.added[fp] = struct{}{}
	}
}
