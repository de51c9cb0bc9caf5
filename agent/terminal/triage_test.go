package terminal

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/store"
)

func TestTriageRanksByActionAndWarnings(t *testing.T) {
	for _, tc := range []struct {
		category, action string
		warnings         []string
		rank             int
		kind             string
	}{
		{"art26-arrest", "Arrest the driver", nil, rankArrest, "arrest"},
		{"art36-discreet-check", "Discreet check", []string{"armed"}, rankArrest, "check"},
		{"inform", "Inform the issuing authority", []string{"Violent"}, rankArrest, "inform"},
		{"art24-refusal", "Refuse entry", nil, rankStop, "refuse"},
		{"art38-seizure", "Seize the vehicle", []string{"escape risk"}, rankStop, "seize"},
		{"art36-specific-check", "Specific check", nil, rankCheck, "check"},
		{"art34-inform", "Inform: witness sought", nil, rankInform, "inform"},
	} {
		h := Hit{Hit: store.Hit{Category: tc.category, Action: tc.action}, Warnings: tc.warnings}
		rank, kind := h.triage()
		if rank != tc.rank || kind != tc.kind {
			t.Errorf("%s %q %v: rank %d %s, want %d %s", tc.category, tc.action, tc.warnings, rank, kind, tc.rank, tc.kind)
		}
	}
}

func TestCardWordsAndAgreement(t *testing.T) {
	h := testHit("h", "border")
	h.Subject = &store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Lindqvist", Forenames: "Anna", BirthDate: "1986-09-10", Sex: "F", Nationalities: []string{"NL"}}}
	h.ItemKind, h.Raw, h.Value, h.Match, h.Score = "person", "anna LINDQVIST", "anna lindqvist", "fuzzy", 0.93
	h.Name = &NameMatch{Evidence: []NameFactRow{{Field: "birth_date", Query: "1986", Alert: "1986-09-10", Effect: "agrees on the year"},
		{Field: "nationality", Query: "SE", Alert: "NL", Effect: "conflicts"}}}
	c := h.card(nil, nil)
	if c.Confidence != "close" || c.Read.What != "Name" || c.Subject.Title != "Person sought" {
		t.Fatalf("card %+v", c)
	}
	got := map[string]string{}
	for _, r := range c.Subject.Rows {
		got[r.Label] = r.Read + "/" + r.Agree
	}
	if got["Name"] != "anna LINDQVIST/agrees" || got["Birth date"] != "1986/agrees" || got["Nationality"] != "SE/differs" || got["Sex"] != "/" {
		t.Fatalf("rows %v", got)
	}
	h.Raw = "Ana Lindkvist"
	if r := h.card(nil, nil).Subject.Rows[0]; r.Agree != "similar" {
		t.Fatalf("a different spelling: %+v", r)
	}
	h.Raw, h.Value = "LINDQVIST<<ANNA", "ANNA LINDQVIST" // as a passport's zone holds it
	if r := h.card(nil, nil); r.Read.Value != "ANNA LINDQVIST" || r.Subject.Rows[0].Agree != "agrees" {
		t.Fatalf("a name from a passport: %+v %+v", r.Read, r.Subject.Rows[0])
	}
	h.Match, h.Score = "fuzzy", 0.82
	if c := h.card(nil, nil); c.Confidence != "possible" {
		t.Fatalf("score 0.82: %s", c.Confidence)
	}
}

// A supervisor corrects an outcome: a new record naming the first, which
// stays; an officer may not. A supervisor may also clear a remembered
// false match, audited.
func TestCorrectionAndForgetBySupervisor(t *testing.T) {
	r := newRig(t, testConfig(), false)
	r.t.Publish(testHit("hit-1", "border"))
	anna, sven := r.client(), r.client()
	mustLogin(t, anna, "anna")
	mustLogin(t, sven, "sven")
	if resp, _ := anna.do("POST", "/api/hits/hit-1/outcome", outcomeRequest{Outcome: "false_match"}, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("outcome: %d", resp.StatusCode)
	}
	if resp, _ := anna.do("POST", "/api/hits/hit-1/correct", outcomeRequest{Outcome: "confirmed"}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("officer correcting: %d, want 403", resp.StatusCode)
	}
	var c card
	if resp, _ := sven.do("POST", "/api/hits/hit-1/correct", outcomeRequest{Outcome: "confirmed", Remark: "the driver was the subject"}, &c); resp.StatusCode != http.StatusOK {
		t.Fatalf("supervisor correcting: %d", resp.StatusCode)
	}
	outs := r.rec.Outcomes()
	if len(outs) != 2 || outs[0].Outcome != OutcomeFalseMatch || outs[1].Outcome != OutcomeConfirmed || outs[1].Corrects != outs[0].ID || outs[0].ID == "" {
		t.Fatalf("outcomes %+v: want the first kept and a correction naming it", outs)
	}
	if c.Outcome == nil || c.Outcome.Corrects != outs[0].ID {
		t.Fatalf("card after correction %+v", c.Outcome)
	}
	// The correction from false match forgets the memory: the next read is open.
	if f := r.rec.Events(EventFalseMatchForgotten); len(f) != 1 {
		t.Fatalf("forget records %+v", f)
	}
	h2 := testHit("hit-2", "border")
	r.t.Publish(h2)
	c = card{}
	if resp, _ := sven.do("GET", "/api/hits/hit-2", nil, &c); resp.StatusCode != http.StatusOK || c.Cleared != nil {
		t.Fatalf("after the correction the same read is still cleared: %+v", c.Cleared)
	}

	// Remembered again, then cleared by the supervisor's button.
	if resp, _ := anna.do("POST", "/api/hits/hit-2/outcome", outcomeRequest{Outcome: "false_match"}, nil); resp.StatusCode != http.StatusOK {
		t.Fatal(resp.StatusCode)
	}
	r.t.Publish(testHit("hit-3", "border"))
	if resp, _ := anna.do("GET", "/api/hits/hit-3", nil, &c); resp.StatusCode != http.StatusOK || c.Cleared == nil || c.Cleared.Officer != "anna" {
		t.Fatalf("remembered false match not shown: %+v", c.Cleared)
	}
	if resp, _ := anna.do("POST", "/api/hits/hit-3/forget", struct{}{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("officer forgetting: %d, want 403", resp.StatusCode)
	}
	c = card{}
	if resp, _ := sven.do("POST", "/api/hits/hit-3/forget", struct{}{}, &c); resp.StatusCode != http.StatusOK || c.Cleared != nil {
		t.Fatalf("supervisor forgetting: %d %+v", resp.StatusCode, c.Cleared)
	}
	if f := r.rec.Events(EventFalseMatchForgotten); len(f) != 2 || f[1].Device != "terminal:sven" {
		t.Fatalf("forget records %+v", f)
	}
}

type fakeHints []Elsewhere

func (f fakeHints) PlateElsewhere(ctx context.Context, plate, country string) []Elsewhere { return f }

// A plate checked with the wrong country is not a clean "no hit": the
// officer is told the countries it is sought under, as far as the role
// may know.
func TestManualPlateSoughtUnderAnotherCountry(t *testing.T) {
	r := newRig(t, testConfig(), false)
	r.t.deps.Hints = fakeHints{{Country: "NL", Purposes: []string{"customs"}}, {Country: "DE", Purposes: []string{"border"}}}
	for user, want := range map[string]string{"anna": "DE", "sven": "DE,NL"} {
		c := r.client()
		mustLogin(t, c, user)
		var resp checkResponse
		if _, err := c.do("POST", "/api/check", manualQuery{Kind: "plate", Value: "B AB 123", Country: "PL"}, &resp); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(resp.OtherCountries, ","); got != want || len(resp.Hits) != 0 {
			t.Errorf("%s: other countries %q, want %q", user, got, want)
		}
	}
}

// A vehicle's card describes it as the officer sees it: plate and country
// compared with the read, then make, model and colour.
func TestVehicleCardDescribesTheVehicle(t *testing.T) {
	h := testHit("h", "border")
	h.Subject = &store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "MAB1234", PlateCountry: "DE", Make: "Skoda", Model: "Octavia", Colour: "dark blue"}}
	h.ItemKind, h.Raw, h.Value, h.Country, h.Match, h.Score = "plate", "M-AB 1234", "MAB1234", "DE", "normalised", 1
	c := h.card(nil, nil)
	got := map[string]string{}
	for _, r := range c.Subject.Rows {
		got[r.Label] = r.Alert + "|" + r.Agree
	}
	if c.Subject.Title != "Vehicle sought" || got["Plate"] != "MAB1234|agrees" || got["Country"] != "DE|agrees" ||
		got["Make"] != "Skoda|" || got["Model"] != "Octavia|" || got["Colour"] != "dark blue|" {
		t.Fatalf("vehicle card: %q %v", c.Subject.Title, got)
	}
}

type fakeNamesakes []Namesake

func (f fakeNamesakes) Namesakes(ctx context.Context, ids []string) []Namesake { return f }

// The officer who opens a name hit sees the alerts it names by reference
// (more alerts whose names match at or above the threshold) that the role may
// see, and no trace of the others, not even their count; the view's audit
// record names the alerts shown.
func TestNamesakesShownAsTheRoleMaySee(t *testing.T) {
	r := newRig(t, testConfig(), false)
	person := func(dob string) store.Subject {
		return store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Forenames: "Jiri", Surname: "Novotny", BirthDate: dob}}
	}
	r.t.deps.Namesakes = fakeNamesakes{
		{AlertID: "SIS-7", Version: 2, Category: "art36-discreet-check", Action: "report", Purposes: []string{"border"}, Subject: person("1970-01-02")},
		{AlertID: "SIS-8", Version: 1, Category: "art26-arrest", Action: "arrest", Purposes: []string{"customs"}, Subject: person("1981-05-06")},
		{AlertID: "SIS-9", Version: 1, Category: "art26-arrest", Action: "arrest", Purposes: []string{"border"}, Subject: person("")}, // not named by the hit
	}
	h := testHit("hit-name", "border")
	h.ItemKind, h.Raw, h.Value, h.Match, h.Score = "person", "JIRI NOVOTNY", "JIRI NOVOTNY", "exact", 1
	h.Subject = &store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Forenames: "Jiri", Surname: "Novotny"}}
	h.Hit.Namesakes = []string{"SIS-7", "SIS-8"}
	r.t.Publish(h)
	for user, want := range map[string]string{"anna": "SIS-7", "sven": "SIS-7,SIS-8"} {
		c := r.client()
		mustLogin(t, c, user)
		var d detail
		if resp, err := c.do("GET", "/api/hits/hit-name", nil, &d); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: view %v %v", user, resp.StatusCode, err)
		}
		var got []string
		for _, n := range d.Namesakes {
			got = append(got, n.AlertID)
			if n.Subject == nil || n.Subject.Title != "Person sought" {
				t.Fatalf("%s: namesake %s shown without its subject: %+v", user, n.AlertID, n)
			}
		}
		if strings.Join(got, ",") != want {
			t.Errorf("%s sees namesakes %v, want %s", user, got, want)
		}
		views := r.rec.Events(EventHitView)
		last := views[len(views)-1]
		if strings.Join(last.Alerts, ",") != "SIS-1,"+want {
			t.Errorf("%s: view audited with alerts %v, want the hit's and %s", user, last.Alerts, want)
		}
	}
}
