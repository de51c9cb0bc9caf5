// Package watchlist generates realistic, reproducible watch-list alerts for
// the simulator, the tests and the benchmarks: a mix of persons, companies,
// vehicles and plates, containers and documents with valid identifiers.
//
// It must never produce data that looks like it came from a real list: all
// names and numbers are synthetic.
package watchlist

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/borderpost/borderpost/devices/ident"
	"github.com/borderpost/borderpost/store"
)

// Mix gives the share of each subject kind; shares need not sum to one.
type Mix struct {
	Person, Company, Vehicle, Container, Document float64
}

// DefaultMix is the mix of a post's replica used in tests and the demo.
var DefaultMix = Mix{Person: 0.35, Company: 0.25, Vehicle: 0.2, Container: 0.12, Document: 0.08}

// Generator makes alerts from a seeded random source, so the same seed
// gives the same list.
type Generator struct {
	rng *rand.Rand
	mix Mix
	n   int
	now time.Time
}

// NewGenerator returns a generator for the given seed and mix.
func NewGenerator(seed uint64, mix Mix) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), mix: mix,
		now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

var (
	surnames   = []string{"Novak", "Horvat", "Kowalski", "Nowak", "Popescu", "Ivanov", "Petrov", "Schmidt", "Muller", "Rossi", "Garcia", "Martin", "Dubois", "Jansen", "Silva", "Yilmaz", "Kaya", "Haddad", "Nasser", "Rahman", "Khan", "Chen", "Wang", "Nguyen", "Okafor", "Mensah", "Hoxha", "Berisha", "Papadopoulos", "Lindqvist"}
	forenames  = []string{"Anna", "Marek", "Ivan", "Olena", "Giorgio", "Maria", "Jean", "Sofia", "Ahmed", "Fatima", "Mohammed", "Yusuf", "Wei", "Li", "Emeka", "Ama", "Arben", "Elena", "Nikos", "Lars", "Pieter", "Ines", "Murat", "Aylin", "Omar"}
	companyW   = []string{"Baltic", "Adriatic", "Danube", "Northern", "Silk", "Atlas", "Orion", "Delta", "Meridian", "Harbor", "Continental", "Eastern", "Pioneer", "Vector", "Apex"}
	companyW2  = []string{"Logistics", "Trading", "Shipping", "Freight", "Import Export", "Holdings", "Industries", "Cargo", "Supply"}
	legalForms = []string{"LLC", "GmbH", "SARL", "OOO", "Ltd", "S.A.", "B.V.", "AG", "Sp. z o.o."}
	countries  = []string{"DE", "FR", "NL", "BE", "PL", "AT", "IT", "ES", "CZ", "SK", "HU", "RO", "BG", "GR", "HR", "SI", "LT", "LV", "EE", "FI", "SE", "DK", "UA", "TR", "RS"}
	owners     = []string{"MSC", "MAE", "CMA", "HLC", "EVG", "COS", "ONE", "YML", "ZIM", "HDM", "OOL", "TGH", "TRL", "SEG", "CAI"}
	actions    = []string{"arrest", "discreet check", "inquiry check", "specific check", "seize", "refuse entry", "inform"}
	sources    = []string{"SIS", "EUROPOL", "NATIONAL"}
	purposes   = [][]string{{"border", "police"}, {"customs"}, {"customs", "border"}, {"police"}}
)

func (g *Generator) pick(s []string) string { return s[g.rng.IntN(len(s))] }

// Alerts returns the next n alerts.
func (g *Generator) Alerts(n int) []store.Alert {
	out := make([]store.Alert, 0, n)
	for range n {
		out = append(out, g.Alert())
	}
	return out
}

// Alert returns the next alert.
func (g *Generator) Alert() store.Alert {
	g.n++
	a := store.Alert{
		ID: fmt.Sprintf("A%08d", g.n), Version: 1, Source: g.pick(sources), Action: g.pick(actions),
		Issued: g.now.Add(-time.Duration(g.rng.IntN(1000)) * time.Hour), Purposes: purposes[g.rng.IntN(len(purposes))],
	}
	m := g.mix
	total := m.Person + m.Company + m.Vehicle + m.Container + m.Document
	x := g.rng.Float64() * total
	switch {
	case x < m.Person:
		a.Category = "art36-person"
		a.Subject = store.Subject{Kind: store.SubjectPerson, Person: &store.Person{
			Surname: g.pick(surnames), Forenames: g.pick(forenames),
			BirthDate:     fmt.Sprintf("%04d-%02d-%02d", 1950+g.rng.IntN(55), 1+g.rng.IntN(12), 1+g.rng.IntN(28)),
			Nationalities: []string{g.pick(countries)}, Sex: g.pick([]string{"M", "F"})}}
	case x < m.Person+m.Company:
		a.Category = "economic-operator"
		name := g.pick(companyW) + " " + g.pick(companyW2) + " " + g.pick(legalForms)
		c := g.pick(countries)
		a.Subject = store.Subject{Kind: store.SubjectCompany, Company: &store.Company{Name: name, Country: c,
			EORI: fmt.Sprintf("%s%012d", c, g.rng.Int64N(1e12))}}
	case x < m.Person+m.Company+m.Vehicle:
		a.Category = "art38-vehicle"
		a.Subject = store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: g.Plate(), PlateCountry: g.pick(countries)}}
	case x < m.Person+m.Company+m.Vehicle+m.Container:
		a.Category = "art38-container"
		a.Subject = store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: g.Container()}}
	default:
		a.Category = "art38-document"
		a.Subject = store.Subject{Kind: store.SubjectDocument, Document: &store.Document{
			Number: fmt.Sprintf("%c%08d", 'A'+rune(g.rng.IntN(26)), g.rng.IntN(1e8)), Type: "passport", Country: g.pick(countries)}}
	}
	return a
}

// Plate returns a random plate of letters and digits, as a national
// register writes it (no separators).
func (g *Generator) Plate() string {
	const letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
	b := make([]byte, 0, 8)
	for range 2 + g.rng.IntN(2) {
		b = append(b, letters[g.rng.IntN(len(letters))])
	}
	for range 3 + g.rng.IntN(2) {
		b = append(b, byte('0'+g.rng.IntN(10)))
	}
	for range g.rng.IntN(3) {
		b = append(b, letters[g.rng.IntN(len(letters))])
	}
	return string(b)
}

// Container returns a random container number with a valid check digit.
func (g *Generator) Container() string {
	for {
		s := fmt.Sprintf("%sU%06d", g.pick(owners), g.rng.IntN(1e6))
		d, err := ident.ContainerCheckDigit(s)
		if err == nil {
			return fmt.Sprintf("%s%d", s, d)
		}
	}
}

// Intn exposes the generator's random source for callers that plant
// values, so that a whole run stays reproducible from one seed.
func (g *Generator) Intn(n int) int { return g.rng.IntN(n) }

// Country returns a random country of the generator's list.
func (g *Generator) Country() string { return g.pick(countries) }
