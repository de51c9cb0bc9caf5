package match

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/borderpost/borderpost/agent/match/name"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// preparedAlerts returns generated persons and companies, vessels,
// documents and plates, and alerts given twice: a person replaced by a
// document, a document by a company.
func preparedAlerts(n int) []store.Alert {
	rng := rand.New(rand.NewPCG(16, 18))
	var as []store.Alert
	for i, e := range name.Generate(rng, n) {
		id := fmt.Sprintf("N%05d", i)
		if e.Kind == name.KindCompany {
			c := &store.Company{Name: e.Names[0], Aliases: e.Names[1:]}
			if len(e.Nationalities) > 0 {
				c.Country = e.Nationalities[0]
			}
			as = append(as, alert(id, store.Subject{Kind: store.SubjectCompany, Company: c}))
		} else {
			as = append(as, alert(id, store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: e.Names[0], Aliases: e.Names[1:],
				BirthDate: e.BirthDate, Nationalities: e.Nationalities, Sex: e.Sex}}))
		}
		switch i % 4 {
		case 1:
			as = append(as, alert(fmt.Sprintf("D%05d", i), store.Subject{Kind: store.SubjectDocument, Document: &store.Document{Number: fmt.Sprintf("X%07d", i)}}))
		case 2:
			as = append(as, alert(fmt.Sprintf("V%05d", i), store.Subject{Kind: store.SubjectVessel, Vessel: &store.Vessel{IMO: "IMO 9074729", Name: "Ocean " + e.Names[0]}}))
		case 3:
			as = append(as, alert(fmt.Sprintf("P%05d", i), store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: fmt.Sprintf("B-X %d", i), PlateCountry: "DE"}}))
		}
	}
	as = append(as,
		alert("N00007", store.Subject{Kind: store.SubjectDocument, Document: &store.Document{Number: "R1234567"}}),
		alert("D00001", store.Subject{Kind: store.SubjectCompany, Company: &store.Company{Name: "Replacing Freight Lines", EORI: "DE123456789012345"}}),
	)
	return as
}

// Alerts prepared on many goroutines and put with PutPrepared are found
// as alerts Put one by one are: the same candidates, scores and
// explanations for every identifier and every name, as listed and
// misspelt, replacements included.
func TestPutPreparedFindsWhatPutFinds(t *testing.T) {
	as := preparedAlerts(2000)
	one := NewIndex()
	for _, a := range as {
		one.Put(a)
	}
	batch := NewIndex()
	ps := make([]Prepared, len(as))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(as); i += 4 {
				ps[i] = batch.Prepare(as[i])
			}
		}()
	}
	wg.Wait()
	batch.PutPrepared(ps[:700])
	batch.PutPrepared(ps[700:])
	if one.Len() != batch.Len() {
		t.Fatalf("PutPrepared indexed %d alerts, Put %d", batch.Len(), one.Len())
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var items []devices.Item
	for i, a := range as {
		s := a.Subject
		switch {
		case s.Person != nil:
			items = append(items, devices.Item{Kind: devices.KindPerson, Value: typo(rng, s.Person.Surname, i), BirthDate: s.Person.BirthDate})
		case s.Company != nil:
			items = append(items, devices.Item{Kind: devices.KindCompany, Value: typo(rng, s.Company.Name, i)})
		case s.Vessel != nil:
			items = append(items, devices.Item{Kind: devices.KindCompany, Value: s.Vessel.Name})
		case s.Document != nil:
			items = append(items, devices.Item{Kind: devices.KindDocument, Value: s.Document.Number})
		case s.Vehicle != nil:
			items = append(items, devices.Item{Kind: devices.KindPlate, Country: "DE", Value: fmt.Sprintf("BX%d", i)})
		}
	}
	hits := 0
	for _, it := range items {
		want := mustLookup(t, one, it, now)
		got := mustLookup(t, batch, it, now)
		hits += len(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s %q: PutPrepared finds %+v, Put %+v", it.Kind, it.Value, got, want)
		}
	}
	if hits < len(items) {
		t.Fatalf("%d hits for %d items: the test compares too little", hits, len(items))
	}
}

// typo swaps two letters inside every other name.
func typo(rng *rand.Rand, s string, i int) string {
	if i%2 == 0 || len(s) < 6 {
		return s
	}
	b := []byte(s)
	j := 2 + rng.IntN(len(b)-4)
	b[j], b[j+1] = b[j+1], b[j]
	return string(b)
}

// An index loaded in bulk (NewBulkIndexOn, PutPrepared, Seal) finds what
// an index of the same alerts Put one by one finds, and takes Put and
// Delete as usual once sealed.
func TestBulkIndexFindsWhatPutFinds(t *testing.T) {
	as := preparedAlerts(1500)
	as = as[:len(as)-2] // the alerts given twice: a bulk load takes each ID once
	mem := &memAlerts{m: map[string]store.Alert{}}
	for _, a := range as {
		mem.put(a)
	}
	one := NewIndexOn(mem, Options{})
	for _, a := range as {
		one.Put(a)
	}
	bulk := NewBulkIndexOn(mem, Options{}, 0)
	ps := make([]Prepared, len(as))
	for i, a := range as {
		ps[i] = bulk.Prepare(a)
	}
	bulk.PutPrepared(ps)
	bulk.Seal()
	late := alert("LATE1", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Forenames: "Oluwaseun", Surname: "Adeyemi-Bakare"}})
	mem.put(late)
	for _, ix := range []*Index{one, bulk} {
		ix.Put(late)
		ix.Delete("D00005")
	}
	if one.Len() != bulk.Len() {
		t.Fatalf("bulk index holds %d alerts, Put's %d", bulk.Len(), one.Len())
	}
	rng := rand.New(rand.NewPCG(3, 4))
	items := []devices.Item{{Kind: devices.KindPerson, Value: "Oluwasein Adeyemi Bakare"}, {Kind: devices.KindDocument, Value: "X0000005"}}
	for i, a := range as {
		s := a.Subject
		switch {
		case s.Person != nil:
			items = append(items, devices.Item{Kind: devices.KindPerson, Value: typo(rng, s.Person.Surname, i)})
		case s.Company != nil:
			items = append(items, devices.Item{Kind: devices.KindCompany, Value: typo(rng, s.Company.Name, i)})
		case s.Document != nil:
			items = append(items, devices.Item{Kind: devices.KindDocument, Value: s.Document.Number})
		case s.Vehicle != nil:
			items = append(items, devices.Item{Kind: devices.KindPlate, Country: "DE", Value: fmt.Sprintf("BX%d", i)})
		}
	}
	hits := 0
	for _, it := range items {
		want := mustLookup(t, one, it, now)
		got := mustLookup(t, bulk, it, now)
		hits += len(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s %q: bulk index finds %+v, Put's %+v", it.Kind, it.Value, got, want)
		}
	}
	if hits*10 < len(items)*9 {
		t.Fatalf("%d hits for %d items: the test compares too little", hits, len(items))
	}
}
