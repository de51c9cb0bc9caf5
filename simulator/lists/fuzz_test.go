package lists

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/store"
)

// checkParsed holds what every successful parse must give: valid alerts,
// no repeated ID, and the same alerts when parsed again.
func checkParsed(t *testing.T, as []store.Alert, again func() ([]store.Alert, error)) {
	t.Helper()
	seen := map[string]bool{}
	for i := range as {
		if err := as[i].Validate(); err != nil {
			t.Fatalf("parsed alert fails Validate: %v", err)
		}
		if seen[as[i].ID] {
			t.Fatalf("repeated id %q", as[i].ID)
		}
		seen[as[i].ID] = true
	}
	bs, err := again()
	if err != nil || !reflect.DeepEqual(as, bs) {
		t.Fatalf("second parse differs: %v", err)
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte(csvHeader + "A1,person,\"DOE, Jo\",J D;JD,1970,DE;FR,,,,,,,inform,x,police,2030-01-01\n"))
	f.Add([]byte(csvHeader + "A2,vehicle,,,,,B AB 12,D,,,,,seize,,,\nA3,container,,,,,,,CSQU3054383,,,,seize,,,\n"))
	f.Add([]byte(csvHeader + "A4,document,,,,,,,,X1,DEU,,seize,,,\nA5,company,Acme,,,NL,,,,,,NL123,inform,,,\n"))
	f.Add([]byte(csvHeader + "A1,person,\"x\"y,,,,,,,,,,inform,,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		as, err := ParseCSV(bytes.NewReader(data), Options{})
		if err != nil {
			return
		}
		checkParsed(t, as, func() ([]store.Alert, error) { return ParseCSV(bytes.NewReader(data), Options{}) })
	})
}

func FuzzParseUN(f *testing.F) {
	f.Add([]byte(unMinimal))
	f.Add([]byte(`<CONSOLIDATED_LIST><ENTITIES><ENTITY><FIRST_NAME>E</FIRST_NAME><REFERENCE_NUMBER>R1</REFERENCE_NUMBER>` +
		`<ENTITY_ALIAS><QUALITY>Low</QUALITY><ALIAS_NAME>L</ALIAS_NAME></ENTITY_ALIAS><ENTITY_ADDRESS><COUNTRY>Iran</COUNTRY></ENTITY_ADDRESS>` +
		`</ENTITY></ENTITIES></CONSOLIDATED_LIST>`))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]><CONSOLIDATED_LIST>&b;</CONSOLIDATED_LIST>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		as, err := ParseUN(bytes.NewReader(data), Options{})
		if err != nil {
			return
		}
		checkParsed(t, as, func() ([]store.Alert, error) { return ParseUN(bytes.NewReader(data), Options{}) })
	})
}

func FuzzParseOFAC(f *testing.F) {
	f.Add([]byte("10,\"DOE, John\",\"individual\",\"SDGT] [IRAN\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 01 Feb 1970; nationality Iran; Gender Male.\"\r\n\x1a"),
		[]byte("10,1,\"aka\",\"ROE, Johnny\",-0- \r\n"), []byte("10,1,-0- ,\"Tehran\",\"Iran\",-0- \r\n"))
	f.Add([]byte("20,\"SHIP\",\"vessel\",\"X\",-0- ,-0- ,-0- ,-0- ,-0- ,\"Cuba\",-0- ,\"Vessel Registration Identification IMO 7912111.\"\n"+
		"21,\"EP-GOM\",\"aircraft\",\"X\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"Aircraft Tail Number EP-GOM\"\n"), []byte(""), []byte(""))
	f.Fuzz(func(t *testing.T, sdn, alt, add []byte) {
		files := func() OFACFiles {
			return OFACFiles{SDN: bytes.NewReader(sdn), Alt: bytes.NewReader(alt), Add: bytes.NewReader(add)}
		}
		as, err := ParseOFAC(files(), Options{})
		if err != nil {
			return
		}
		for _, a := range as {
			if !strings.HasPrefix(a.ID, "OFAC-SDN-") {
				t.Fatalf("id %q", a.ID)
			}
		}
		checkParsed(t, as, func() ([]store.Alert, error) { return ParseOFAC(files(), Options{}) })
	})
}
