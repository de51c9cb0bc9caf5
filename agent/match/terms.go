package match

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"strconv"
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
	LoadTermTable(ctx context.Context) (*store.TermTable, error)
	ReadTermTable(ctx context.Context) (*store.TermTable, error)
	SaveTermTable(t *store.TermTable) error
	CurrentStamp() (store.Stamp, error)
	TermKey(term []byte) (store.TermKey, error)
	AppendAlertsByTerm(dst []store.Alert, term []byte, k store.TermKey) ([]store.Alert, error)
	AppendAlertsByRecord(dst []store.Alert, recs []uint64, keyGen uint32, alertGen uint64) ([]store.Alert, bool, error)
	EachAlertByTerm(ctx context.Context, terms []string, fn func(store.Alert) error) error
	AlertCount() (int, error)
}

// WithTerms returns o set to make the replica keep the term index the
// match index reads (store.Options.Terms): every store.Open of the
// agent's replicas passes through it, since a replica written without it
// has its term index rebuilt at the next start.
func WithTerms(o store.Options) store.Options {
	o.Terms, o.TermsVersion = storeTerms, TermsVersion()
	return o
}

// nameShards is how many terms file persons and companies in the term
// index (storeTerms): each shard's alerts sit together under its term
// (about 500 at two million names), and Load reads all the shards in
// one pass over their keys.
const nameShards = 4096

// storeTerms is the term function the replica's term index is built
// with: an alert's identifiers (Terms) and, for a person or company, the
// name shard it belongs to, so that Load reads the alerts with names
// without decrypting the others.
func storeTerms(a *store.Alert) []string {
	ts := Terms(a)
	if hasName(a) {
		ts = append(ts, nameShard(a.ID))
	}
	return ts
}

// nameShard is the term of an alert ID's name shard: FNV-1a of the ID
// (stable across processes, unlike maphash), modulo nameShards. No
// identifier term starts with a zero byte.
func nameShard(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return "\x00names\x00" + strconv.Itoa(int(h.Sum32()%nameShards))
}

// nameShardTerms returns every name shard's term.
func nameShardTerms() []string {
	ts := make([]string, nameShards)
	for i := range ts {
		ts[i] = "\x00names\x00" + strconv.Itoa(i)
	}
	return ts
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
		{Kind: store.SubjectVessel, Vessel: &store.Vessel{IMO: "imo 9074729", Name: "Sea Star"}}, // named: filed under a name shard
		{Kind: store.SubjectAircraft, Aircraft: &store.Aircraft{Registration: "d-abcd"}},
		{Kind: store.SubjectFirearm, Firearm: &store.Firearm{Serial: "ab 12-34"}},
		{Kind: store.SubjectPhone, Phone: "+49 (30) 123 4567"},
		{Kind: store.SubjectEmail, Email: "Ops@Example.ORG"},
	}
	samples = append(samples, store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "X"}})
	h := sha256.New()
	for _, s := range samples {
		a := store.Alert{ID: "A-0001", Subject: s}
		h.Write([]byte(strings.Join(storeTerms(&a), "\x01")))
		h.Write([]byte{0})
	}
	return "terms-2-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// hasName reports whether an alert has names for the name index.
// HasName says whether the index files a by name: persons, companies
// and vessels with a name (an ENS declares a vessel by name, checked as a
// company's). `borderpost screen` indexes the same alerts.
func HasName(a *store.Alert) bool { return hasName(a) }

func hasName(a *store.Alert) bool {
	s := a.Subject
	return s.Kind == store.SubjectPerson && s.Person != nil || s.Kind == store.SubjectCompany && s.Company != nil ||
		s.Kind == store.SubjectVessel && s.Vessel != nil && s.Vessel.Name != ""
}

// fpSet is the set of terms of a replica's term index: the term table
// (store.TermTable, 8 bytes an entry: part of the fingerprint and the
// record prefix of an alert filed under it) as the replica gives it at
// Load, and a map of the fingerprints deltas added since. A lookup of a
// term the table has complete record prefixes for reads the alerts by
// them (store.Replica.AppendAlertsByRecord), skipping the term index's
// descent; one a delta added, or of unknown prefix, is read by term.
type fpSet struct {
	table *store.TermTable
	added map[uint64]struct{}
}

// records returns, appended to dst, the record prefixes the table files
// fp under, whether fp is held at all (a fingerprint is a hint: held may
// be a term sharing its bits), and whether the prefixes are every alert
// the replica files under it: not when fp was added by a delta, a
// prefix is unknown (a term of several alerts) or the table gives too
// many.
func (s *fpSet) records(dst []uint64, fp uint64) (recs []uint64, held, complete bool) {
	if _, ok := s.added[fp]; ok {
		return dst, true, false
	}
	return s.table.Records(dst, fp)
}

// add files fp as a delta's: even one the table holds, whose record
// prefixes lack the alert the delta files under it (a lookup of it then
// reads by term).
func (s *fpSet) add(fp uint64) {
	if s.added == nil {
		s.added = make(map[uint64]struct{})
	}
	s.added[fp] = struct{}{}
}
