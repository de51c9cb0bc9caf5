package lists

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices/ident"
)

const csvHeader = "id,kind,name,aliases,birth_date,nationality,plate,plate_country,container,document,document_country,eori,action,category,purposes,expires\n"

func TestParseCSVExample(t *testing.T) {
	f, err := os.Open("testdata/national.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	as, err := ParseCSV(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 5 {
		t.Fatalf("%d alerts, want 5", len(as))
	}
	for i := range as {
		if err := as[i].Validate(); err != nil {
			t.Fatal(err)
		}
		if as[i].Source != "NATIONAL" {
			t.Fatalf("%s: source %q", as[i].ID, as[i].Source)
		}
	}
	p := as[0].Subject.Person
	if p.Surname != "MUSTERMANN" || p.Forenames != "Erika Anna" || p.BirthDate != "1964-08-12" ||
		!reflect.DeepEqual(p.Nationalities, []string{"AT", "DE"}) ||
		!reflect.DeepEqual(p.Aliases, []string{"E. Mustermann", "Erika Musterfrau"}) ||
		as[0].Action != "discreet check" || !reflect.DeepEqual(as[0].Purposes, []string{"border", "police"}) ||
		!as[0].Expires.Equal(time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("person: %+v %+v", as[0], p)
	}
	if c := as[1].Subject.Company; c.EORI != "DE123456789012345" || c.Country != "DE" || !as[1].Expires.IsZero() {
		t.Errorf("company: %+v", c)
	}
	wantIso, wantPlate, _ := ident.NormalizePlate("D", "B-XY 1234")
	if v := as[2].Subject.Vehicle; v.Plate != wantPlate || v.PlateCountry != wantIso || wantIso != "DE" {
		t.Errorf("vehicle: %+v", v)
	}
	if c := as[3].Subject.Container; c.Number != "CSQU3054383" || !reflect.DeepEqual(as[3].Purposes, []string{"customs"}) {
		t.Errorf("container: %+v", c)
	}
	if d := as[4].Subject.Document; d.Number != "C01X00T47" || d.Country != "DE" {
		t.Errorf("document: %+v", d)
	}
}

func TestParseCSVErrors(t *testing.T) {
	const secret = "SECRETNAME"
	ok := "A1,person," + secret + ",,,,,,,,,,inform,,,\n"
	if as, err := ParseCSV(strings.NewReader(csvHeader+ok), Options{}); err != nil || !reflect.DeepEqual(as[0].Purposes, DefaultPurposes()) {
		t.Fatalf("good row: %v", err)
	}
	for name, row := range map[string]string{
		"wrong kind":        "A1,ship," + secret + ",,,,,,,,,,inform,,,\n",
		"too few fields":    "A1,person," + secret + ",,,,inform\n",
		"too many fields":   "A1,person," + secret + ",,,,,,,,,,inform,,,,\n",
		"bad id":            "A 1,person," + secret + ",,,,,,,,,,inform,,,\n",
		"no action":         "A1,person," + secret + ",,,,,,,,,,,,,\n",
		"no surname":        "A1,person,,,,,,,,,,,inform,,,\n",
		"bad birth date":    "A1,person," + secret + ",,1970-13-01,,,,,,,,inform,,,\n",
		"bad nationality":   "A1,person," + secret + ",,,XX9,,,,,,,inform,,,\n",
		"plate on person":   "A1,person," + secret + ",,,,AB123,D,,,,,inform,,,\n",
		"bad container":     "A1,container,,,,,,,CSQU3054384,,,,seize,,,\n",
		"bad eori":          "A1,company," + secret + ",,,,,,,,,DE12 34$5,inform,,,\n",
		"plate w/o country": "A1,vehicle,,,,,AB123,,,,,,seize,,,\n",
		"bad expiry":        "A1,person," + secret + ",,,,,,,,,,inform,,,tomorrow\n",
		"bad quote":         "A1,person,\"" + secret + "\"x,,,,,,,,,,inform,,,\n",
		"repeated id":       ok + ok,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseCSV(strings.NewReader(csvHeader+row), Options{})
			if !errors.Is(err, ErrCSVFormat) {
				t.Fatalf("error %v, want ErrCSVFormat", err)
			}
			if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "line") {
				t.Fatalf("error %q quotes the value or names no line", err)
			}
		})
	}
	for name, in := range map[string]string{
		"empty":        "",
		"wrong header": strings.Replace(csvHeader, "plate,", "plates,", 1),
	} {
		if _, err := ParseCSV(strings.NewReader(in), Options{}); !errors.Is(err, ErrCSVFormat) {
			t.Errorf("%s: error %v, want ErrCSVFormat", name, err)
		}
	}
	big := strings.NewReader(csvHeader + "A1,person,\"" + strings.Repeat("x", maxListFile) + "\",,,,,,,,,,inform,,,\n")
	if _, err := ParseCSV(big, Options{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized input: %v", err)
	}
}
