package ens

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
)

// classified reports whether err is one of this package's refusals, so
// that every failure a sender can cause has a documented cause.
func classified(err error) bool {
	for _, e := range []error{ErrTooLarge, ErrEncoding, ErrControlChar, ErrDoctype, ErrTooDeep, ErrTooManyTokens, ErrSyntax, ErrFormat, ErrSchema} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// checkInvariants holds for every declaration a parser accepts: Validate
// and Check run, every item's value is already in normal form (normalising
// it again changes nothing), and Check's items and Validate's faults never
// name the same field.
func checkInvariants(t *testing.T, d *Declaration) {
	t.Helper()
	faulty := map[string]bool{}
	var ve *ValidationError
	if err := d.Validate(); err != nil {
		if !errors.As(err, &ve) {
			t.Fatalf("Validate returned %T", err)
		}
		for _, f := range ve.Errors {
			faulty[f.Path] = true
		}
	}
	c := d.Check("fuzz")
	for _, it := range c.Items {
		if faulty[it.Field] {
			t.Fatalf("field %s is both checked and faulty", it.Field)
		}
		var again string
		var err error
		switch it.Kind {
		case devices.KindContainer:
			again, err = ident.ParseContainer(it.Value)
		case devices.KindEORI:
			again, err = ident.ParseEORI(it.Value)
		case devices.KindIMO:
			again, err = ident.ParseIMO(it.Value)
		case devices.KindPlate:
			_, again, err = ident.NormalizePlate(it.Country, it.Value)
		case devices.KindPhone:
			again, err = ident.NormalizePhone(it.Value)
		case devices.KindEmail:
			again, err = ident.NormalizeEmail(it.Value)
		case devices.KindAircraft:
			again, err = ident.NormalizeAircraft(it.Value)
		case devices.KindPerson, devices.KindCompany:
			again = collapseSpace(it.Value)
		default:
			t.Fatalf("unexpected kind %s", it.Kind)
		}
		if err != nil || again != it.Value {
			t.Fatalf("%s value %q is not in normal form: %q, %v", it.Field, it.Value, again, err)
		}
	}
}

func addSeeds(f *testing.F, files ...string) {
	for _, p := range files {
		if p == "" {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// dataFile returns the path of a shared sample, or "" when the data is
// absent (fuzzing then runs on the corpus in testdata/fuzz alone).
func dataFile(name string) string {
	dir := locateData()
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "ens-ics1-cc315a", name)
}

func FuzzParseICS1(f *testing.F) {
	addSeeds(f, dataFile("samples/CC315A-schemaValidSample-v11-2.xml"), dataFile("samples/CC313A-schemaValidSample-v11-2.xml"), dataFile("samples/CC315A_full.xml"))
	f.Add([]byte(`<ie:CC315A xmlns:ie="http://ics.dgtaxud.ec/CC315A"><HEAHEA/></ie:CC315A>`))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseICS1(bytes.NewReader(b), Limits{MaxBytes: 1 << 16})
		if err != nil {
			if !classified(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if d.MessageType != TypeCC315A && d.MessageType != TypeCC313A {
			t.Fatalf("message type %q", d.MessageType)
		}
		checkInvariants(t, d)
	})
}

func FuzzParseHMRC(f *testing.F) {
	addSeeds(f, dataFile("json/315AllOptional.json"))
	f.Add([]byte(`{"submissionId": "x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseHMRC(bytes.NewReader(b), Limits{MaxBytes: 1 << 16})
		if err != nil {
			if !classified(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		checkInvariants(t, d)
	})
}

func FuzzParseICS2(f *testing.F) {
	addSeeds(f, filepath.Join("testdata", "ics2-air-express-f32.json"), filepath.Join("testdata", "ics2-maritime-f11.json"), filepath.Join("testdata", "ics2-road-f50.json"))
	f.Add([]byte(`{"message_type": "IE3F50", "lrn": "x", "issue_date": "2026-01-01T00:00:00Z", "consignment": {}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseICS2(bytes.NewReader(b), Limits{MaxBytes: 1 << 16})
		if err != nil {
			if !classified(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		checkInvariants(t, d)
		// The form is the JSON encoding of Declaration: what was
		// accepted, encoded again, is accepted again and checks the same.
		enc, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := ParseICS2(bytes.NewReader(enc), Limits{})
		if err != nil {
			t.Fatalf("re-encoded declaration refused: %v\n%s", err, enc)
		}
		c1, c2 := d.Check("x"), d2.Check("x")
		if c1.ID != c2.ID || len(c1.Items) != len(c2.Items) {
			t.Fatalf("round trip changed the check: %d vs %d items", len(c1.Items), len(c2.Items))
		}
		for i := range c1.Items {
			if c1.Items[i] != c2.Items[i] {
				t.Fatalf("round trip changed item %d: %+v vs %+v", i, c1.Items[i], c2.Items[i])
			}
		}
	})
}
