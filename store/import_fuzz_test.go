package store

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

var importSeeds = []string{
	`{"id":"SIS-1","version":1,"source":"SIS","category":"art26-arrest","action":"arrest","issued":"2026-01-01T00:00:00Z","expires":"2029-01-01T00:00:00+02:00","purposes":["police"],"subject":{"kind":"person","person":{"surname":"Kowalski","forenames":"Jan","aliases":["Kowalsky"],"birth_date":"1970","nationalities":["PL"]}}}`,
	`{"id":"C1","version":3,"subject":{"kind":"container","container":{"number":"CSQU3054383"}}}`,
	`{"id":"V1","version":1,"warnings":["armed"],"subject":{"kind":"vehicle","vehicle":{"plate":"WX 1234","plate_country":"PL","vin":"WVWZZZ1JZXW000001"}}}`,
	`{"id":"E1","version":1,"subject":{"kind":"company","company":{"name":"ACME","eori":"DE123456789012345","identifiers":["x"]}}}`,
	`{"id":"X","version":1,"subject":{"kind":"aircraft","aircraft":{"registration":"SP-LRA"}},"extra":1}`,
	`{"snapshot":{"epoch":1,"seq":2,"count":3}}`,
	`{"snapshot":{"epoch":1,"seq":2,"hash":"zz"}}`,
	`{"id":"D1","version":1,"issued":"yesterday","subject":{"kind":"document","document":{"number":"P123"}}}`,
	`[1,2,3]`, `{"id":"A"} {"id":"B"}`, ``,
}

// FuzzParseImportLine checks that no line makes the import parser panic,
// that every alert it accepts is valid, and that an accepted alert
// survives the storage encoding unchanged.
func FuzzParseImportLine(f *testing.F) {
	for _, s := range importSeeds {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, line []byte, first bool) {
		h, a, err := ParseImportLine(line, first)
		if err != nil {
			if !errors.Is(err, ErrImportFormat) && !errors.Is(err, ErrInvalidAlert) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if h != nil {
			if !first {
				t.Fatal("header accepted after the first line")
			}
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("accepted an invalid alert: %v", err)
		}
		roundTrip(t, a)
	})
}

func roundTrip(t *testing.T, a *Alert) {
	t.Helper()
	enc := encodeAlert(nil, a)
	back, err := decodeAlertValue(enc)
	if err != nil {
		t.Fatalf("stored form does not decode: %v", err)
	}
	if !bytes.Equal(encodeAlert(nil, &back), enc) {
		t.Fatal("stored form does not round-trip")
	}
	if back.ID != a.ID || back.Version != a.Version || !back.Issued.Equal(a.Issued) || !back.Expires.Equal(a.Expires) ||
		back.Expired(time.Now()) != a.Expired(time.Now()) {
		t.Fatal("stored form changed the alert")
	}
}

// FuzzDecodeAlertValue feeds arbitrary plaintexts to the stored-alert
// decoder: it must fail cleanly, and whatever it accepts must re-encode
// to the same bytes.
func FuzzDecodeAlertValue(f *testing.F) {
	for _, s := range importSeeds {
		if _, a, err := ParseImportLine([]byte(s), false); err == nil {
			f.Add(encodeAlert(nil, a))
		}
	}
	f.Add([]byte{codecBinary1})
	f.Add([]byte{codecBinary1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{codecBinary2})
	f.Add([]byte{codecBinary4})
	doc := sisDocument(1)
	f.Add(encodeAlert3(nil, &doc))
	f.Add(encodeAlert(nil, &doc))
	f.Add([]byte(`{"id":"J1","version":1}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		a, err := decodeAlertValue(p)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if id, err := alertIDOf(p); err != nil || id != a.ID {
			t.Fatalf("alertIDOf says %q, %v; the decoder %q", id, err, a.ID)
		}
		if p[0] != codecJSON {
			if enc := encodeAlert(nil, &a); !bytes.Equal(enc, p) {
				// Accepted input must be canonical, or two stored forms
				// would mean one alert.
				back, err := decodeAlertValue(enc)
				if err != nil || !bytes.Equal(encodeAlert(nil, &back), enc) {
					t.Fatal("re-encoding is unstable")
				}
			}
		}
	})
}
