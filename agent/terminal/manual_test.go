package terminal

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/devices"
)

func TestManualItems(t *testing.T) {
	for _, tc := range []struct {
		q    manualQuery
		want devices.Item
	}{
		{manualQuery{Kind: "person", Value: "  Ivan   PETROV ", BirthDate: "1971-03", Nationality: "RUS"},
			devices.Item{Field: "manual.name", Kind: devices.KindPerson, Value: "Ivan PETROV", Raw: "Ivan   PETROV", BirthDate: "1971-03", Nationality: "RU"}},
		{manualQuery{Kind: "person", Value: "Müller-Lüdenscheidt"},
			devices.Item{Field: "manual.name", Kind: devices.KindPerson, Value: "Müller-Lüdenscheidt", Raw: "Müller-Lüdenscheidt"}},
		{manualQuery{Kind: "plate", Value: "b-ab 123", Country: "D"},
			devices.Item{Field: "manual.plate", Kind: devices.KindPlate, Value: "BAB123", Raw: "b-ab 123", Country: "DE"}},
		{manualQuery{Kind: "container", Value: "CSQU 305438-3"},
			devices.Item{Field: "manual.container", Kind: devices.KindContainer, Value: "CSQU3054383", Raw: "CSQU 305438-3"}},
		{manualQuery{Kind: "document", Value: "c01x-00t47", Country: "DEU"},
			devices.Item{Field: "manual.document", Kind: devices.KindDocument, Value: "C01X00T47", Raw: "c01x-00t47", Country: "DE"}},
		{manualQuery{Kind: "document", Value: "X1234567"},
			devices.Item{Field: "manual.document", Kind: devices.KindDocument, Value: "X1234567", Raw: "X1234567"}},
		{manualQuery{Kind: "eori", Value: "de 1234567890"},
			devices.Item{Field: "manual.eori", Kind: devices.KindEORI, Value: "DE1234567890", Raw: "de 1234567890"}},
	} {
		got, err := tc.q.item()
		if err != nil {
			t.Errorf("%+v: %v", tc.q, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%+v:\n got %+v\nwant %+v", tc.q, got, tc.want)
		}
	}
}

func TestManualItemsRefuseBadInput(t *testing.T) {
	for _, q := range []manualQuery{
		{Kind: "vessel", Value: "9074729"},
		{Kind: "person", Value: "X"},
		{Kind: "person", Value: "12345"},
		{Kind: "person", Value: "Ivan\x00Petrov"},
		{Kind: "person", Value: "Ivan\u202ePetrov"}, // bidi override
		{Kind: "person", Value: "Ivan Petrov", BirthDate: "1971-13"},
		{Kind: "person", Value: "Ivan Petrov", BirthDate: "71"},
		{Kind: "person", Value: "Ivan Petrov", BirthDate: "1850"},
		{Kind: "person", Value: "Ivan Petrov", BirthDate: "1971-02-30"},
		{Kind: "person", Value: "Ivan Petrov", Nationality: "XX"},
		{Kind: "person", Value: strings.Repeat("a", maxManualValue+1)},
		{Kind: "plate", Value: "BAB123"},                // no country
		{Kind: "plate", Value: "BAB123", Country: "ZZ"}, // no such country
		{Kind: "plate", Value: "B#AB123", Country: "D"},
		{Kind: "container", Value: "CSQU3054384"}, // wrong check digit
		{Kind: "container", Value: "CSQU305438"},
		{Kind: "document", Value: "AB#1"},
		{Kind: "document", Value: "X1234567", Country: "EU"},
		{Kind: "eori", Value: "ZZ12345"},
		{Kind: "eori", Value: "DE"},
	} {
		if it, err := q.item(); !errors.Is(err, ErrInput) {
			t.Errorf("%+v: got %+v, %v; want ErrInput", q, it, err)
		} else if q.Value != "" && len(q.Value) > 3 && strings.Contains(err.Error(), q.Value) {
			t.Errorf("%+v: error repeats the value: %v", q, err)
		}
	}
}

func TestManualCheckRunsAuditedCheck(t *testing.T) {
	r := newRig(t, testConfig(), false)
	r.checker.hits = func(c devices.Check) []Hit {
		h1, h2 := testHit("hit-m1", "border"), testHit("hit-m2", "customs")
		h1.CheckID, h2.CheckID = c.ID, c.ID
		return []Hit{h1, h2}
	}
	c := r.client()
	mustLogin(t, c, "anna")
	var res checkResponse
	resp, err := c.do("POST", "/api/check", manualQuery{Kind: "plate", Value: "B AB 123", Country: "D"}, &res)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("check: %v %v", resp.StatusCode, err)
	}
	checks := r.checker.Checks()
	if len(checks) != 1 {
		t.Fatalf("%d checks reached the checker", len(checks))
	}
	ch := checks[0]
	want := devices.Item{Field: "manual.plate", Kind: devices.KindPlate, Value: "BAB123", Raw: "B AB 123", Country: "DE"}
	if ch.Device != "terminal" || ch.Lane != "booth-1" || ch.ID == "" || len(ch.Items) != 1 || ch.Items[0] != want || !ch.Time.Equal(r.clock.Now()) {
		t.Fatalf("check %+v", ch)
	}
	audits := r.rec.Events(EventManualCheck)
	if len(audits) != 1 || audits[0].Ref != ch.ID || audits[0].Device != "terminal:anna" || audits[0].Detail != "kind plate" {
		t.Fatalf("manual check audit records %+v for check %s", audits, ch.ID)
	}
	if strings.Contains(audits[0].Detail+audits[0].Ref, "BAB123") {
		t.Fatalf("audit record holds the plate: %+v", audits[0])
	}
	if res.CheckID != ch.ID || len(res.Hits) != 1 || res.Hits[0].ID != "hit-m1" || res.Withheld != 1 {
		t.Fatalf("answer %+v: want the border hit shown and the customs hit withheld", res)
	}
}

func TestManualCheckRefusals(t *testing.T) {
	r := newRig(t, testConfig(), false)
	tech := r.client()
	mustLogin(t, tech, "theo")
	if resp, _ := tech.do("POST", "/api/check", manualQuery{Kind: "eori", Value: "DE123456"}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("technician ran a check: %d", resp.StatusCode)
	}
	c := r.client()
	mustLogin(t, c, "anna")
	var e map[string]string
	resp, _ := c.do("POST", "/api/check", manualQuery{Kind: "container", Value: "CSQU3054384"}, &e)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e["error"], "check digit") {
		t.Fatalf("bad container: %d %v", resp.StatusCode, e)
	}
	if resp, _ := c.do("POST", "/api/check", map[string]string{"kind": "eori", "value": "DE1", "extra": "x"}, nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown field: %d", resp.StatusCode)
	}
	r.checker.err = errDisk
	if resp, _ := c.do("POST", "/api/check", manualQuery{Kind: "eori", Value: "DE123456"}, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("failing checker: %d", resp.StatusCode)
	}
	if n := len(r.checker.Checks()); n != 1 {
		t.Fatalf("refused input reached the checker: %d checks", n)
	}
	if n := len(r.rec.Events(EventManualCheck)); n != 1 {
		t.Fatalf("%d manual check records, want 1 (the one that ran)", n)
	}
}
