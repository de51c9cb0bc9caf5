package lists

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/borderpost/borderpost/store"
)

func parseSDN(t *testing.T, dir string) []store.Alert {
	t.Helper()
	as, err := ParseOFACDir(os.DirFS(sharedData(t, dir)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestParseOFACSnapshots(t *testing.T) {
	// Entry and individual counts as counted from the ent_num and SDN_Type
	// columns (the README states 8,976 entries for 2021-07).
	for _, tc := range []struct {
		dir                string
		entries, personCnt int
	}{
		{"ofac/sdn_2019-01", 7379, 3845},
		{"ofac/sdn_2021-07", 8976, 4620},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			as := parseSDN(t, tc.dir)
			if len(as) != tc.entries {
				t.Fatalf("%d alerts, want %d", len(as), tc.entries)
			}
			seen := map[string]bool{}
			persons := 0
			for i := range as {
				a := &as[i]
				if err := a.Validate(); err != nil {
					t.Fatal(err)
				}
				if seen[a.ID] || !strings.HasPrefix(a.ID, "OFAC-SDN-") {
					t.Fatalf("bad or repeated id %s", a.ID)
				}
				seen[a.ID] = true
				if a.Source != "OFAC" || a.Action != "inform" || !strings.HasPrefix(a.Category, "sanctions:") ||
					!reflect.DeepEqual(a.Purposes, DefaultPurposes()) {
					t.Fatalf("%s: source %q action %q category %q purposes %v", a.ID, a.Source, a.Action, a.Category, a.Purposes)
				}
				if a.Subject.Kind == store.SubjectPerson {
					persons++
				}
			}
			if persons != tc.personCnt {
				t.Errorf("%d persons, want %d individuals", persons, tc.personCnt)
			}
			// Parsing twice gives the same versions.
			again := parseSDN(t, tc.dir)
			for i := range as {
				if as[i].Version != again[i].Version {
					t.Fatalf("%s: version not stable", as[i].ID)
				}
			}
		})
	}
}

func TestParseOFACEntries(t *testing.T) {
	m := byID(parseSDN(t, "ofac/sdn_2021-07"))
	get := func(id string) store.Alert {
		a, ok := m[id]
		if !ok {
			t.Fatalf("%s missing", id)
		}
		return a
	}
	// "DOB 23 Jun 1953; nationality India; Gender Male; Passport ...".
	p := get("OFAC-SDN-21844").Subject.Person
	if p == nil || p.Surname != "HAKIMZADA" || p.Forenames != "Harmohan Singh" || p.BirthDate != "1953-06-23" ||
		!reflect.DeepEqual(p.Nationalities, []string{"IN"}) || p.Sex != "M" {
		t.Errorf("21844: %+v", p)
	}
	// Weak aliases (a.k.a. 'ILLIASSOU, Djibbo' in the remarks) stay out.
	p = get("OFAC-SDN-32391").Subject.Person
	if p == nil || p.BirthDate != "1984" || !reflect.DeepEqual(p.Nationalities, []string{"NE"}) {
		t.Errorf("32391: %+v", p)
	}
	for _, al := range p.Aliases {
		if strings.Contains(al, "Djibbo") {
			t.Errorf("32391: weak alias %q kept", al)
		}
	}
	// Entity with a strong alias from alt.csv and an address in Havana.
	c := get("OFAC-SDN-36").Subject.Company
	if c == nil || c.Name != "AEROCARIBBEAN AIRLINES" || !reflect.DeepEqual(c.Aliases, []string{"AERO-CARIBBEAN"}) ||
		c.Country != "CU" || c.Address != "Havana" {
		t.Errorf("36: %+v", c)
	}
	// Vessel with "Vessel Registration Identification IMO 7912111".
	if v := get("OFAC-SDN-26623").Subject.Vessel; v == nil || v.IMO != "7912111" || v.Name != "URDANETA" {
		t.Errorf("26623: %+v", get("OFAC-SDN-26623").Subject)
	}
	// Vessel with its former names (fka in alt.csv): a declaration may name
	// it by any of them.
	if v := get("OFAC-SDN-15037").Subject.Vessel; v == nil || v.Name != "ARK" || !reflect.DeepEqual(v.Aliases, []string{"ABADEH", "CRYSTAL", "SUNDIAL"}) {
		t.Errorf("15037: %+v", get("OFAC-SDN-15037").Subject.Vessel)
	}
	// Vessel without an IMO number: kept screenable by name, flag as country.
	if c := get("OFAC-SDN-4234").Subject.Company; c == nil || c.Name != "HERMANN" || c.Country != "CU" {
		t.Errorf("4234: %+v", get("OFAC-SDN-4234").Subject)
	}
	// Aircraft: the SDN name is the registration mark.
	if ac := get("OFAC-SDN-15431").Subject.Aircraft; ac == nil || ac.Registration != "EPGOM" {
		t.Errorf("15431: %+v", get("OFAC-SDN-15431").Subject)
	}
	// Persons written as "SURNAME, Given": the strong aliases are turned
	// into "Given SURNAME" and the primary name is never its own alias.
	for _, a := range m {
		if p := a.Subject.Person; p != nil {
			for _, al := range p.Aliases {
				if al == strings.TrimSpace(p.Forenames+" "+p.Surname) || strings.Contains(al, ",,") {
					t.Fatalf("%s: alias repeats the name", a.ID)
				}
			}
		}
	}
}

func TestParseOFACNonSDN(t *testing.T) {
	as, err := ParseOFACDir(os.DirFS(sharedData(t, "ofac/non_sdn_2025-12")), Options{Purposes: []string{"customs"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 442 { // the README's entry count
		t.Fatalf("%d alerts, want 442", len(as))
	}
	for _, a := range as {
		if !strings.HasPrefix(a.ID, "OFAC-CONS-") || !reflect.DeepEqual(a.Purposes, []string{"customs"}) {
			t.Fatalf("%s purposes %v", a.ID, a.Purposes)
		}
	}
}

func TestParseOFACCtrlZAndComments(t *testing.T) {
	fsys := fstest.MapFS{
		"sdn.csv":          {Data: []byte("10,\"DOE, John\",\"individual\",\"SDGT] [IRAN\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 01 Feb 1970; alt. DOB 1971; nationality Ir\"\r\n\x1a")},
		"add.csv":          {Data: []byte("")},
		"alt.csv":          {Data: []byte("10,1,\"aka\",\"ROE, Johnny\",-0- \r\n99,2,\"aka\",\"NOBODY\",-0- \r\n")},
		"sdn_comments.csv": {Data: []byte("10,\"an; citizen Iraq.\"\r\n")},
	}
	as, err := ParseOFACDir(fsys, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := as[0].Subject.Person
	// Two DOB items: none kept. The extended remark completes "Ir" + "an".
	if len(as) != 1 || as[0].Category != "sanctions:IRAN,SDGT" || p.BirthDate != "" ||
		!reflect.DeepEqual(p.Nationalities, []string{"IQ", "IR"}) || !reflect.DeepEqual(p.Aliases, []string{"Johnny ROE"}) {
		t.Fatalf("%+v %+v", as[0], p)
	}
}

func TestParseOFACErrors(t *testing.T) {
	row := func(num string) string {
		return num + ",\"X\",-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n"
	}
	for name, tc := range map[string]struct {
		files OFACFiles
		want  error
	}{
		"no sdn":         {OFACFiles{}, ErrOFACFormat},
		"short row":      {OFACFiles{SDN: strings.NewReader("1,\"X\",-0- \n")}, ErrOFACFormat},
		"bad number":     {OFACFiles{SDN: strings.NewReader(row("x1"))}, ErrOFACFormat},
		"zero number":    {OFACFiles{SDN: strings.NewReader(row("0"))}, ErrOFACFormat},
		"repeated entry": {OFACFiles{SDN: strings.NewReader(row("5") + row("5"))}, ErrOFACFormat},
		"bad quote":      {OFACFiles{SDN: strings.NewReader("1,\"X\"y,-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n")}, ErrOFACFormat},
		"bad alt row":    {OFACFiles{SDN: strings.NewReader(row("5")), Alt: strings.NewReader("5,1\n")}, ErrOFACFormat},
		"no name":        {OFACFiles{SDN: strings.NewReader(strings.Replace(row("5"), "\"X\"", "-0- ", 1))}, store.ErrInvalidAlert},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseOFAC(tc.files, Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := ParseOFACDir(fstest.MapFS{"sdn.csv": {Data: []byte(row("1"))}}, Options{}); err == nil {
		t.Error("folder without add.csv and alt.csv accepted")
	}
}

func TestParseRemarks(t *testing.T) {
	for in, want := range map[string]string{
		"02 Jan 1962": "1962-01-02", "Jan 1962": "1962-01", "1962": "1962",
		"circa 1962": "", "1960 to 1962": "", "32 Jan 1962": "", "02 Foo 1962": "",
	} {
		if got, _ := ofacDate(in); got != want {
			t.Errorf("ofacDate(%q) = %q, want %q", in, got, want)
		}
	}
	r := parseRemarks("Identification Number IMO 7912111; Company Number IMO 1234560; alt. nationality Burma; citizen Korea, North; Gender Female.")
	if r.vesselIMO != "7912111" || !reflect.DeepEqual(r.companyIMO, []string{"IMO 1234560", "IMO 7912111"}) ||
		!reflect.DeepEqual(r.nationalities, []string{"KP", "MM"}) || r.sex != "F" {
		t.Errorf("%+v", r)
	}
	// A number failing the ship check digit is no vessel IMO.
	if r := parseRemarks("Vessel Registration Identification IMO 7912112"); r.vesselIMO != "" {
		t.Errorf("bad check digit accepted: %+v", r)
	}
}
