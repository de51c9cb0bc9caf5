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
	// Firearm, Phone, Email and Vessel are zero in the older mixes, which
	// therefore draw exactly as before.
	Firearm, Phone, Email, Vessel float64
}

// DefaultMix is the mix of a post's replica used in tests and the demo.
var DefaultMix = Mix{Person: 0.35, Company: 0.25, Vehicle: 0.2, Container: 0.12, Document: 0.08}

// SISObjectMix is the identifier part of a SIS-like list (the bench's
// "sis" mix adds 2 % persons and companies from the name generator). The
// shares follow the order of eu-LISA's annual SIS statistics, where object
// alerts are about 98 % of all alerts and most of them are issued
// documents, then vehicles and number plates, then firearms, with
// containers, boats and the rest far behind; the figures are rounded
// shares in that order, not the statistics' exact counts.
var SISObjectMix = Mix{Document: 66, Vehicle: 24, Firearm: 5, Container: 2, Phone: 1, Email: 1, Vessel: 1}

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
	total := m.Person + m.Company + m.Vehicle + m.Container + m.Document + m.Firearm + m.Phone + m.Email + m.Vessel
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
	case x < m.Person+m.Company+m.Vehicle+m.Container+m.Document:
		g.document(&a)
	case x < m.Person+m.Company+m.Vehicle+m.Container+m.Document+m.Firearm:
		a.Category = "art38-firearm"
		a.Subject = store.Subject{Kind: store.SubjectFirearm, Firearm: &store.Firearm{
			Serial: fmt.Sprintf("%c%c%07d", 'A'+rune(g.rng.IntN(26)), 'A'+rune(g.rng.IntN(26)), g.rng.IntN(1e7)), Make: g.pick(firearmMakes)}}
	case x < m.Person+m.Company+m.Vehicle+m.Container+m.Document+m.Firearm+m.Phone:
		a.Category = "art36-phone"
		// +99x is not assigned to any country: no real number.
		a.Subject = store.Subject{Kind: store.SubjectPhone, Phone: fmt.Sprintf("+99%d%09d", 1+g.rng.IntN(9), g.rng.IntN(1e9))}
	case x < m.Person+m.Company+m.Vehicle+m.Container+m.Document+m.Firearm+m.Phone+m.Email:
		a.Category = "art36-email"
		// example.* domains are reserved: no real address.
		a.Subject = store.Subject{Kind: store.SubjectEmail, Email: fmt.Sprintf("u%09d@example.%s", g.rng.IntN(1e9), g.pick([]string{"com", "org", "net"}))}
	case x < m.Person+m.Company+m.Vehicle+m.Container+m.Document+m.Firearm+m.Phone+m.Email+m.Vessel:
		a.Category = "art38-boat"
		a.Subject = store.Subject{Kind: store.SubjectVessel, Vessel: &store.Vessel{IMO: g.IMO()}}
	default: // rounding at the top of the range
		g.document(&a)
	}
	return a
}

var firearmMakes = []string{"Glock", "CZ", "Beretta", "Walther", "SIG", "Zastava", "Heckler & Koch"}

func (g *Generator) document(a *store.Alert) {
	a.Category = "art38-document"
	a.Subject = store.Subject{Kind: store.SubjectDocument, Document: &store.Document{
		Number: fmt.Sprintf("%c%08d", 'A'+rune(g.rng.IntN(26)), g.rng.IntN(1e8)), Type: "passport", Country: g.pick(countries)}}
}

// IMO returns a random IMO ship number with a valid check digit.
func (g *Generator) IMO() string {
	n := 1e5 + g.rng.IntN(9e5)
	sum := 0
	for i, d := 0, n; i < 6; i++ {
		sum += (d % 10) * (2 + i)
		d /= 10
	}
	return fmt.Sprintf("%06d%d", n, sum%10)
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
