package match

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/agent/match/name"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func alert(id string, s store.Subject) store.Alert {
	return store.Alert{ID: id, Version: 1, Action: "seize", Subject: s}
}

func TestLookupIdentifiers(t *testing.T) {
	ix := NewIndex()
	ix.Put(alert("plate", store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "M-AB 1234", PlateCountry: "DE", VIN: "wvwzzz1jz3w386752"}}))
	ix.Put(alert("box", store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU 305438 3"}}))
	ix.Put(alert("doc-fr", store.Subject{Kind: store.SubjectDocument, Document: &store.Document{Number: "12AB34567", Country: "FR"}}))
	ix.Put(alert("doc-any", store.Subject{Kind: store.SubjectDocument, Document: &store.Document{Number: "X9988776"}}))
	ix.Put(alert("co", store.Subject{Kind: store.SubjectCompany, Company: &store.Company{Name: "Atlas Freight", EORI: "de123456789012345"}}))
	ix.Put(alert("ship", store.Subject{Kind: store.SubjectVessel, Vessel: &store.Vessel{IMO: "IMO 9074729"}}))
	ix.Put(alert("tel", store.Subject{Kind: store.SubjectPhone, Phone: "+49 30 1234567"}))
	ix.Put(alert("mail", store.Subject{Kind: store.SubjectEmail, Email: "Ops@Example.ORG"}))
	cases := []struct {
		item devices.Item
		want string
	}{
		{devices.Item{Kind: devices.KindPlate, Country: "DE", Value: "MAB1234", Raw: "m-ab 1234"}, "plate"},
		{devices.Item{Kind: devices.KindPlate, Country: "AT", Value: "MAB1234"}, ""}, // same plate, other country
		{devices.Item{Kind: devices.KindVIN, Value: "WVWZZZ1JZ3W386752"}, "plate"},
		{devices.Item{Kind: devices.KindContainer, Value: "CSQU3054383"}, "box"},
		{devices.Item{Kind: devices.KindDocument, Value: "12AB34567", Country: "FR"}, "doc-fr"},
		{devices.Item{Kind: devices.KindDocument, Value: "12AB34567"}, "doc-fr"},                // no state read
		{devices.Item{Kind: devices.KindDocument, Value: "12AB34567", Country: "BE"}, ""},       // states disagree
		{devices.Item{Kind: devices.KindDocument, Value: "X9988776", Country: "PL"}, "doc-any"}, // alert gives no state
		{devices.Item{Kind: devices.KindEORI, Value: "DE123456789012345"}, "co"},
		{devices.Item{Kind: devices.KindIMO, Value: "9074729"}, "ship"},
		{devices.Item{Kind: devices.KindPhone, Value: "+49301234567"}, "tel"},
		{devices.Item{Kind: devices.KindEmail, Value: "Ops@example.org"}, "mail"},
		{devices.Item{Kind: devices.KindEmail, Value: "ops@example.org"}, ""}, // local part keeps its case
	}
	for _, c := range cases {
		got := mustLookup(t, ix, c.item, now)
		switch {
		case c.want == "" && len(got) != 0:
			t.Errorf("%s %q (%s): unexpected hit on %s", c.item.Kind, c.item.Value, c.item.Country, got[0].Alert.ID)
		case c.want != "" && (len(got) != 1 || got[0].Alert.ID != c.want):
			t.Errorf("%s %q (%s): got %d candidates, want %s", c.item.Kind, c.item.Value, c.item.Country, len(got), c.want)
		}
	}
	if got := mustLookup(t, ix, cases[0].item, now); got[0].Match != "normalised" || got[0].Explanation == "" {
		t.Errorf("plate candidate %+v", got[0])
	}
}

func TestExpiredAndDeletedNeverMatch(t *testing.T) {
	ix := NewIndex()
	a := alert("box", store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU3054383"}})
	a.Expires = now
	ix.Put(a)
	item := devices.Item{Kind: devices.KindContainer, Value: "CSQU3054383"}
	if got := mustLookup(t, ix, item, now.Add(-time.Second)); len(got) != 1 {
		t.Fatalf("before expiry: %d candidates", len(got))
	}
	if got := mustLookup(t, ix, item, now); len(got) != 0 {
		t.Fatal("expired alert matched")
	}
	a.Expires = time.Time{}
	a.Version = 2
	ix.Put(a)
	ix.Apply(store.Change{Deletes: []string{"box"}})
	if got := mustLookup(t, ix, item, now); len(got) != 0 || ix.Len() != 0 {
		t.Fatal("deleted alert matched")
	}
}

func BenchmarkLookupPlate(b *testing.B) {
	ix := NewIndex()
	for i := range 100000 {
		ix.Put(alert(fmt.Sprintf("A%d", i), store.Subject{Kind: store.SubjectVehicle,
			Vehicle: &store.Vehicle{Plate: fmt.Sprintf("B%06d", i), PlateCountry: "DE"}}))
	}
	item := devices.Item{Kind: devices.KindPlate, Country: "DE", Value: "B004711"}
	for b.Loop() {
		if len(mustLookup(b, ix, item, now)) != 1 {
			b.Fatal("no hit")
		}
	}
}

func TestCorrectedPlateLooksUpBoth(t *testing.T) {
	ix := NewIndex()
	ix.Put(alert("vanity", store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "B0B1", PlateCountry: "GB"}}))
	ix.Put(alert("ordinary", store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "BOB1", PlateCountry: "GB"}}))
	got := mustLookup(t, ix, devices.Item{Kind: devices.KindPlate, Country: "GB", Raw: "B0B 1", Value: "BOB1", Correction: "OCR 0->O at position 2"}, now)
	if len(got) != 2 || got[0].Alert.ID != "ordinary" || got[0].Match != "derived" || got[1].Alert.ID != "vanity" || got[1].Match != "normalised" {
		t.Fatalf("got %+v", got)
	}
}

func TestNamesMatchWithEvidence(t *testing.T) {
	ix := NewIndex()
	ix.Put(alert("p1", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Kowalczyk", Forenames: "Agnieszka Maria",
		Aliases: []string{"Agnes Kowalczyk"}, BirthDate: "1979-03-14", Nationalities: []string{"PL"}, Sex: "F"}}))
	ix.Put(alert("c1", store.Subject{Kind: store.SubjectCompany, Company: &store.Company{Name: "Baltic Amber Trading OOO", Country: "RU"}}))
	ix.Put(alert("p2", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Novak", Forenames: "Petr"}}))

	// Reordered, misspelt, with an agreeing birth date.
	got := mustLookup(t, ix, devices.Item{Kind: devices.KindPerson, Value: "KOWALCZIK, Agnieszka", BirthDate: "1979"}, now)
	if len(got) == 0 || got[0].Alert.ID != "p1" || got[0].Name == nil || len(got[0].Name.Pairs) == 0 {
		t.Fatalf("person: %+v", got)
	}
	// A company under a transliterated, differently cased legal form.
	got = mustLookup(t, ix, devices.Item{Kind: devices.KindCompany, Value: "Baltic Amber Trading LLC"}, now)
	if len(got) == 0 || got[0].Alert.ID != "c1" {
		t.Fatalf("company: %+v", got)
	}
	// A legal form and a common word alone never make a hit.
	if got := mustLookup(t, ix, devices.Item{Kind: devices.KindCompany, Value: "Trading LLC"}, now); len(got) != 0 {
		t.Fatalf("'Trading LLC' hit %s", got[0].Alert.ID)
	}
	// Removed and expired alerts drop out of name search.
	ix.Delete("p2")
	if got := mustLookup(t, ix, devices.Item{Kind: devices.KindPerson, Value: "Petr Novak"}, now); len(got) != 0 {
		t.Fatal("deleted person still matches")
	}
	exp := alert("p3", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Lindqvist", Forenames: "Sven"}})
	exp.Expires = now.Add(-time.Hour)
	ix.Put(exp)
	if got := mustLookup(t, ix, devices.Item{Kind: devices.KindPerson, Value: "Sven Lindqvist"}, now); len(got) != 0 {
		t.Fatal("expired person matches")
	}
}

func TestMatchAllKeepsPositions(t *testing.T) {
	ix := NewIndex()
	ix.Put(alert("box", store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU3054383"}}))
	for i, n := range []string{"Agnieszka Kowalczyk", "Dmitri Sokolov", "Baltic Amber Trading OOO"} {
		kind := store.SubjectPerson
		s := store.Subject{Kind: kind, Person: &store.Person{Surname: n}}
		if i == 2 {
			s = store.Subject{Kind: store.SubjectCompany, Company: &store.Company{Name: n}}
		}
		ix.Put(alert(fmt.Sprintf("n%d", i), s))
	}
	items := []devices.Item{
		{Kind: devices.KindPerson, Value: "Dmitri Sokolov"},
		{Kind: devices.KindContainer, Value: "CSQU3054383"},
		{Kind: devices.KindCompany, Value: "Baltic Amber Trading OOO"},
		{Kind: devices.KindPerson, Value: "Agnieszka Kowalczyk"},
		{Kind: devices.KindPerson, Value: "Nobody Atall"},
	}
	got, err := ix.MatchAll(items, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"n1", "box", "n2", "n0", ""}
	for i, w := range want {
		switch {
		case w == "" && len(got[i]) != 0:
			t.Errorf("item %d: unexpected %s", i, got[i][0].Alert.ID)
		case w != "" && (len(got[i]) == 0 || got[i][0].Alert.ID != w):
			t.Errorf("item %d: got %v, want %s", i, got[i], w)
		}
	}
}

func TestNameThresholdAndHits(t *testing.T) {
	strict, loose := NewIndexWith(Options{NameThreshold: 0.97}), NewIndexWith(Options{NameThreshold: 0.70, NameHits: 1})
	for _, ix := range []*Index{strict, loose} {
		ix.Put(alert("p1", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Kowalczyk", Forenames: "Agnieszka"}}))
		ix.Put(alert("p2", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Kowalczyk", Forenames: "Agnieszka Maria"}}))
	}
	q := devices.Item{Kind: devices.KindPerson, Value: "Agnieszka Kowalczik"}
	if got := mustLookup(t, strict, q, now); len(got) != 0 {
		t.Errorf("a misspelt name passed a 0.97 threshold: %+v", got[0].Score)
	}
	if got := mustLookup(t, loose, q, now); len(got) != 1 {
		t.Errorf("name_hits 1 gave %d hits", len(got))
	}
}

// mustLookup is Lookup for tests whose alerts are always readable.
func mustLookup(t testing.TB, ix *Index, it devices.Item, now time.Time) []Candidate {
	t.Helper()
	got, err := ix.Lookup(it, now)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Alerts whose names match less well than the last hit read, but at or
// above the threshold, come by reference after the namesakes, best first:
// a traveller's name lacking a middle name meets every alert holding it
// with one, and an officer shown the six exact ones must know of them.
// Alerts under the threshold never do.
func TestLesserMatchesPastTheHitsComeByReference(t *testing.T) {
	ix := NewIndex()
	person := func(forenames, surname string) store.Subject {
		return store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: surname, Forenames: forenames}}
	}
	middle := []string{"Karel", "Zdenek", "Vaclav", "Bohumil", "Radek", "Ludvik", "Otakar", "Svatopluk"}
	for i := range 6 {
		ix.Put(alert(fmt.Sprintf("exact%d", i), person("Jiri", "Novotny")))
	}
	for i, m := range middle {
		ix.Put(alert(fmt.Sprintf("one%d", i), person("Jiri "+m, "Novotny")))
		ix.Put(alert(fmt.Sprintf("two%d", i), person("Jiri "+m+" "+middle[(i+1)%len(middle)], "Novotny")))
		ix.Put(alert(fmt.Sprintf("other%d", i), person(m, "Svoboda")))
	}
	got := mustLookup(t, ix, devices.Item{Kind: devices.KindPerson, Value: "Jiri Novotny"}, now)
	if len(got) != 6 {
		t.Fatalf("%d hits, want the 6 alerts holding the name as read", len(got))
	}
	for _, h := range got {
		if !strings.HasPrefix(h.Alert.ID, "exact") {
			t.Fatalf("hit %s: want only the exact names read", h.Alert.ID)
		}
	}
	refs := got[len(got)-1].Namesakes
	var kinds []string
	for _, id := range refs {
		kinds = append(kinds, strings.TrimRight(id, "0123456789"))
	}
	one, two := slices.Index(kinds, "one"), slices.Index(kinds, "two")
	if len(refs) == 0 || one != 0 || slices.Contains(kinds, "other") || two >= 0 && slices.Contains(kinds[two:], "one") {
		t.Fatalf("by reference %v: want the names with one more word, then those with two, never another surname", refs)
	}
	if n := strings.Count(strings.Join(kinds, " "), "one"); n != len(middle) {
		t.Fatalf("%d of the %d names with one more word by reference: %v", n, len(middle), refs)
	}
	for _, id := range refs {
		if a, err := ix.LookupName(devices.Item{Kind: devices.KindPerson, Value: "Jiri Novotny"}, now, name.DefaultThreshold, 100); err != nil {
			t.Fatal(err)
		} else if !slices.ContainsFunc(a, func(c Candidate) bool { return c.Alert.ID == id }) {
			t.Fatalf("reference %s is not a match at the threshold", id)
		}
	}
}

// A name held by many alerts gives its limit of hits and those tying
// with the last, up to hitTies times the limit: each is an alert read and
// a hit recorded. The namesakes past those come by reference on the last
// hit, up to namesakeRefs times the limit in all, never an expired one:
// an officer is told that more alerts hold the name rather than left to
// think the hits read were all.
func TestNamesakesPastTheHitsComeByReference(t *testing.T) {
	person := store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Novotny", Forenames: "Jiri"}}
	q := devices.Item{Kind: devices.KindPerson, Value: "Jiri Novotny"}
	for _, c := range []struct{ alerts, expired, refs int }{
		{4, 0, 0}, {10, 0, 0}, {30, 0, 30 - hitTies*nameLimit}, {30, 6, 24 - hitTies*nameLimit}, {150, 0, (namesakeRefs - hitTies) * nameLimit},
	} {
		ix := NewIndex()
		for i := range c.alerts {
			a := alert(fmt.Sprintf("p%03d", i), person)
			if i%5 == 1 && i/5 < c.expired { // spread through the list
				a.Expires = now.Add(-time.Hour)
			}
			ix.Put(a)
		}
		got := mustLookup(t, ix, q, now)
		wantHits := min(c.alerts-c.expired, hitTies*nameLimit)
		if len(got) != wantHits {
			t.Fatalf("%d namesakes (%d expired): %d hits, want %d", c.alerts, c.expired, len(got), wantHits)
		}
		seen := map[string]bool{}
		for i, h := range got {
			if h.Name == nil || len(h.Name.Pairs) == 0 {
				t.Fatalf("hit %d has no explanation", i)
			}
			if i < len(got)-1 && len(h.Namesakes) > 0 {
				t.Fatalf("hit %d of %d carries namesakes: only the last may", i, len(got))
			}
			seen[h.Alert.ID] = true
		}
		refs := got[len(got)-1].Namesakes
		if len(refs) != c.refs {
			t.Fatalf("%d namesakes (%d expired): %d by reference, want %d", c.alerts, c.expired, len(refs), c.refs)
		}
		for _, id := range refs {
			var n int
			fmt.Sscanf(id, "p%03d", &n)
			if seen[id] || (n%5 == 1 && n/5 < c.expired) {
				t.Fatalf("reference %s is a hit already or expired", id)
			}
			seen[id] = true
		}
	}
}
