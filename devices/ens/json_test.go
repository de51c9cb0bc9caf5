package ens

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
)

// HMRC's JSON instance carries the same data as CC315A_full.xml; HMRC's
// schema only bounds lengths, so it parses, and the placeholders that broke
// the XSD surface in Validate instead.
func TestParseHMRCSample(t *testing.T) {
	d, err := ParseHMRC(openFile(t, ics1Data(t, "json/315AllOptional.json")), Limits{})
	if err != nil {
		t.Fatalf("ParseHMRC: %v", err)
	}
	if d.MessageType != "IE315" || d.Amendment || d.LRN != "refnum" {
		t.Errorf("header %q %v %q", d.MessageType, d.Amendment, d.LRN)
	}
	c := d.Consignment
	if len(c.TransportEquipment) != 2 || c.TransportEquipment[1].Container != "Container 2" {
		t.Errorf("equipment %+v", c.TransportEquipment)
	}
	if !equal(c.RoutingCountries, []string{"AA", "BB"}) || !equal(c.Seals, []string{"Seals identity", "Seals identity2"}) {
		t.Errorf("routing %v seals %v", c.RoutingCountries, c.Seals)
	}
	if len(d.ActiveMeans) != 1 || d.ActiveMeans[0].Mode != "2" || d.ActiveMeans[0].TypeOfIdentification != MeansTrain {
		t.Errorf("active means %+v", d.ActiveMeans)
	}
	if len(c.GoodsItems) != 1 || len(c.GoodsItems[0].Parties) != 3 || len(c.GoodsItems[0].Packaging) != 2 {
		t.Errorf("goods items %+v", c.GoodsItems)
	}
	var ve *ValidationError
	if err := d.Validate(); !errors.As(err, &ve) {
		t.Fatalf("Validate = %v", err)
	}
	got := map[string]bool{}
	for _, f := range ve.Errors {
		got[f.Path] = true
	}
	for _, p := range []string{
		"consignment.transport_equipment[0].container",
		"consignment.transport_equipment[1].container",
		"consignment.goods_items[0].un_number",
		"consignment.goods_items[0].hs_code",
		"consignment.routing_countries[0]",
		"parties[0].address.country",
	} {
		if !got[p] {
			t.Errorf("Validate did not report %s; got %v", p, ve.Errors)
		}
	}
	if got["consignment.routing_countries[1]"] {
		t.Error("BB (Barbados) reported as a bad country")
	}
}

func TestParseHMRCFaults(t *testing.T) {
	sample := readFile(t, ics1Data(t, "json/315AllOptional.json"))
	for _, tc := range []struct{ name, old, new, path, msg string }{
		{"unknown field", `"submissionId"`, `"extra": 1, "submissionId"`, "extra", "unknown field"},
		{"enum", `"messageType": "IE315"`, `"messageType": "IE316"`, "metadata.messageType", "want one of IE315, IE313"},
		{"date", `"dateTime": "2003-02-11T12:34:00.000Z"`, `"dateTime": "2003-02-11T12:34:00Z"`, "declaration.dateTime", "want YYYY-MM-DDThh:mm:ss.sssZ"},
		{"length", `"containerNumber": "Container 1"`, `"containerNumber": "Container 1 is far too long"`, "goods.goodsItems[0].containers[0].containerNumber", "want at most 17 characters, got 27"},
		{"trader", `"name": "carrier name",`, `"name": "carrier name", "eori": "",`, "parties.carrier.eori", "want 3 to 17 characters, got 0"},
		{"mass", `"grossMass": "3"`, `"grossMass": "3.0001"`, "goods.grossMass", "want up to 11 digits and up to 3 decimals"},
		{"type", `"numberOfItems": 1`, `"numberOfItems": "1"`, "goods.numberOfItems", "want a JSON int"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(sample, tc.old, tc.new, 1)
			if in == sample {
				t.Fatal("replacement did not apply")
			}
			_, err := ParseHMRC(strings.NewReader(in), Limits{})
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			if len(ve.Errors) != 1 || ve.Errors[0].Path != tc.path || !strings.HasSuffix(ve.Errors[0].Error(), tc.msg) {
				t.Errorf("faults = %v, want one at %s: %s", ve.Errors, tc.path, tc.msg)
			}
		})
	}
}

func TestParseHMRCAmendment(t *testing.T) {
	sample := readFile(t, ics1Data(t, "json/315AllOptional.json"))
	in := strings.Replace(sample, `"declaration": {
    "localReferenceNumber": "refnum",
    "dateTime": "2003-02-11T12:34:00.000Z",
    "place": "declarationplace",
    "language": "en",
    "officeOfLodgement": "offOfLog"
  }`, `"amendment": {"movementReferenceNumber": "26NL00000000000001", "dateTime": "2003-02-11T12:34:00.000Z", "place": "x"}`, 1)
	in = strings.Replace(in, `"IE315"`, `"IE313"`, 1)
	if in == sample {
		t.Fatal("replacement did not apply")
	}
	d, err := ParseHMRC(strings.NewReader(in), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Amendment || d.MRN != "26NL00000000000001" || d.Check("ens").ID != "26NL00000000000001" {
		t.Errorf("amendment %v mrn %q", d.Amendment, d.MRN)
	}
}

type wantItem struct {
	field   string
	kind    devices.Kind
	value   string
	country string
}

func checkItems(t *testing.T, got []devices.Item, want []wantItem) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d items, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.Field != w.field || g.Kind != w.kind || g.Value != w.value || g.Country != w.country {
			t.Errorf("item %d = {%s %s %q %q}, want {%s %s %q %q}", i, g.Field, g.Kind, g.Value, g.Country, w.field, w.kind, w.value, w.country)
		}
	}
}

func parseExample(t *testing.T, name string) *Declaration {
	t.Helper()
	d, err := ParseICS2(openFile(t, filepath.Join("testdata", name)), Limits{})
	if err != nil {
		t.Fatalf("ParseICS2(%s): %v", name, err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("Validate(%s): %v", name, err)
	}
	return d
}

func TestICS2RoadF50(t *testing.T) {
	d := parseExample(t, "ics2-road-f50.json")
	c := d.Check("ens")
	if c.ID != "ROAD-PL-2026-000913" || c.Device != "ens" || d.Amendment {
		t.Errorf("check id %q device %q", c.ID, c.Device)
	}
	checkItems(t, c.Items, []wantItem{
		{"parties[0].name", devices.KindCompany, "Trans-Bug Sp. z o.o.", ""},
		{"parties[0].id", devices.KindEORI, "PL5260001246", ""},
		{"parties[1].name", devices.KindCompany, "Trans-Bug Sp. z o.o.", ""},
		{"parties[1].id", devices.KindEORI, "PL5260001246", ""},
		{"parties[1].communications[0].identifier", devices.KindPhone, "+48225550102", ""},
		{"active_means[0].identification", devices.KindPlate, "WX12345", "PL"},
		{"consignment.passive_means[0].identification", devices.KindPlate, "WX9876A", "PL"},
		{"consignment.house_consignments[0].parties[0].name", devices.KindCompany, "Agro-Export TOV", "UA"},
		{"consignment.house_consignments[0].parties[1].name", devices.KindCompany, "Hurtownia Zboża S.A.", "PL"},
		{"consignment.house_consignments[0].parties[1].id", devices.KindEORI, "PL7010001454", ""},
	})
}

func TestICS2MaritimeF11(t *testing.T) {
	d := parseExample(t, "ics2-maritime-f11.json")
	c := d.Check("ens")
	if c.ID != "26NL00000000000001" {
		t.Errorf("check id %q, want the MRN", c.ID)
	}
	byKind := map[devices.Kind][]string{}
	for _, it := range c.Items {
		byKind[it.Kind] = append(byKind[it.Kind], it.Field+"="+it.Value)
	}
	if want := []string{
		"consignment.transport_equipment[0].container=MSCU1234566",
		"consignment.transport_equipment[1].container=MAEU9876542",
		"consignment.transport_equipment[2].container=TGHU3001121",
		"consignment.house_consignments[0].transport_equipment[0].container=MSCU1234566",
		"consignment.house_consignments[1].transport_equipment[0].container=MAEU9876542",
	}; !equal(byKind[devices.KindContainer], want) {
		t.Errorf("containers %v", byKind[devices.KindContainer])
	}
	if want := []string{"active_means[0].identification=9321483"}; !equal(byKind[devices.KindIMO], want) {
		t.Errorf("imo %v", byKind[devices.KindIMO])
	}
	if want := []string{"consignment.house_consignments[1].parties[1].name=Pieter de Vries"}; !equal(byKind[devices.KindPerson], want) {
		t.Errorf("persons %v", byKind[devices.KindPerson])
	}
	if want := []string{"parties[0].communications[0].identifier=+31101234567", "consignment.house_consignments[1].parties[1].communications[0].identifier=+31612345678"}; !equal(byKind[devices.KindPhone], want) {
		t.Errorf("phones %v", byKind[devices.KindPhone])
	}
	if len(byKind[devices.KindCompany]) != 8 || len(byKind[devices.KindEORI]) != 5 || len(byKind[devices.KindEmail]) != 1 {
		t.Errorf("companies %v eoris %v emails %v", byKind[devices.KindCompany], byKind[devices.KindEORI], byKind[devices.KindEmail])
	}
	if s := d.Consignment.TransportEquipment[0].Seals; !equal(s, []string{"SL0098123", "SL0098124"}) {
		t.Errorf("seals %v", s)
	}
}

func TestICS2AirExpressF32(t *testing.T) {
	d := parseExample(t, "ics2-air-express-f32.json")
	c := d.Check("ens")
	if c.ID != "26DE12345678901233" {
		t.Errorf("check id %q", c.ID)
	}
	var got []wantItem
	for _, it := range c.Items {
		switch it.Kind {
		case devices.KindAircraft, devices.KindPerson, devices.KindEmail, devices.KindPhone:
			got = append(got, wantItem{it.Field, it.Kind, it.Value, it.Country})
		}
	}
	want := []wantItem{
		{"parties[0].communications[0].identifier", devices.KindEmail, "ens-desk@example-express.test", ""},
		{"active_means[1].identification", devices.KindAircraft, "DAXEA", "DE"},
		{"consignment.house_consignments[0].parties[1].name", devices.KindPerson, "Jan Kowalski", ""},
		{"consignment.house_consignments[0].parties[1].communications[0].identifier", devices.KindPhone, "+49301234567", ""},
		{"consignment.house_consignments[0].parties[1].communications[1].identifier", devices.KindEmail, "jan.kowalski@mail.example.de", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("items %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("item %d = %v, want %v", i, got[i], want[i])
		}
	}
	// A flight number identifies no object in the replica: no item.
	for _, it := range c.Items {
		if it.Field == "active_means[0].identification" {
			t.Errorf("flight number checked: %+v", it)
		}
	}
	if len(d.Consignment.HouseConsignments) != 2 || d.Consignment.HouseConsignments[1].GoodsItems[0].UNNumber != "3481" {
		t.Error("house consignments not read")
	}
}

// Identifier faults are collected, all of them, with their paths.
func TestValidateCollectsAll(t *testing.T) {
	in := readFile(t, filepath.Join("testdata", "ics2-maritime-f11.json"))
	for _, r := range [][2]string{
		{`"MAEU9876542", "size_type"`, `"MAEU9876541", "size_type"`},
		{`"IMO 9321483"`, `"IMO 9321484"`},
		{`"26NL00000000000001"`, `"26NL00000000000002"`},
		{`"NL812345678", "type_of_person"`, `"N1812345678", "type_of_person"`},
		{`"routing_countries": ["CN", "SG"`, `"routing_countries": ["CN", "XX"`},
		{`"+31 6 12345678"`, `"06 12345678"`},
		{`"import@modehaus.example.nl"`, `"import@modehaus"`},
		{`"un_number": "1263"`, `"un_number": "126"`},
	} {
		n := strings.Replace(in, r[0], r[1], 1)
		if n == in {
			t.Fatalf("replacement %q did not apply", r[0])
		}
		in = n
	}
	d, err := ParseICS2(strings.NewReader(in), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var ve *ValidationError
	if err := d.Validate(); !errors.As(err, &ve) {
		t.Fatalf("Validate = %v", err)
	}
	want := []struct {
		path string
		is   error
	}{
		{"mrn", ident.ErrMRNCheck},
		{"parties[0].id", ident.ErrEORIFormat},
		{"active_means[0].identification", ident.ErrIMOCheckDigit},
		{"consignment.transport_equipment[1].container", ident.ErrContainerCheckDigit},
		{"consignment.routing_countries[1]", ident.ErrCountry},
		{"consignment.house_consignments[0].parties[1].communications[0].identifier", ident.ErrEmailFormat},
		{"consignment.house_consignments[1].parties[1].communications[0].identifier", ident.ErrPhoneFormat},
		{"consignment.house_consignments[1].goods_items[0].un_number", ErrValue},
	}
	if len(ve.Errors) != len(want) {
		t.Fatalf("%d faults, want %d: %v", len(ve.Errors), len(want), ve)
	}
	for i, w := range want {
		if ve.Errors[i].Path != w.path || !errors.Is(ve.Errors[i], w.is) {
			t.Errorf("fault %d = %v, want %s (%v)", i, ve.Errors[i], w.path, w.is)
		}
	}
	if !strings.Contains(ve.Errors[3].Error(), "consignment.transport_equipment[1].container: container: container check digit: the check digit should be 2") {
		t.Errorf("container fault reads %q", ve.Errors[3].Error())
	}
	// The MRN is invalid, so the Check falls back to the LRN, and the
	// invalid values are not among the items.
	c := d.Check("ens")
	if c.ID != "SEA-NLRTM-000187" {
		t.Errorf("check id %q", c.ID)
	}
	for _, it := range c.Items {
		if it.Field == "consignment.transport_equipment[1].container" || it.Kind == devices.KindIMO {
			t.Errorf("invalid value checked: %+v", it)
		}
	}
}

func TestParseICS2Faults(t *testing.T) {
	base := readFile(t, filepath.Join("testdata", "ics2-road-f50.json"))
	for _, tc := range []struct{ name, old, new, path, msg string }{
		{"message type", `"IE3F50"`, `"IE3F52"`, "message_type", "want IE3Fnn or IE3Ann with nn from 10 to 51"},
		{"amendment without mrn", `"IE3F50"`, `"IE3A50"`, "mrn", "an amendment needs the mrn it amends"},
		{"role", `"role": "carrier"`, `"role": "pilot"`, "parties[1].role", "unknown role"},
		{"name too long", `"Agro-Export TOV"`, `"` + strings.Repeat("A", 71) + `"`, "consignment.house_consignments[0].parties[0].name", "want 1 to 70 characters, got 71"},
		{"means type", `"type_of_identification": "31"`, `"type_of_identification": "99"`, "consignment.passive_means[0].type_of_identification", "not a known CL750 code"},
		{"communication type", `"type": "phone"`, `"type": "fax"`, "parties[1].communications[0].type", `want "email" or "phone"`},
		{"nested house", `"goods_items": [`, `"house_consignments": [{}], "goods_items": [`, "consignment.house_consignments[0].house_consignments", "house consignments do not nest"},
		{"unknown field", `"lrn"`, `"Amendment": true, "lrn"`, "Amendment", "unknown field"},
		{"type of person", `"type_of_person": "2"`, `"type_of_person": "4"`, "parties[0].type_of_person", "want 1, 2 or 3"},
		{"empty party", `{"role": "consignor", "name": "Agro-Export TOV", "address": {"city": "Kyiv", "country": "UA"}}`, `{"role": "consignor"}`, "consignment.house_consignments[0].parties[0]", "want a name, an id or both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(base, tc.old, tc.new, 1)
			if in == base {
				t.Fatal("replacement did not apply")
			}
			_, err := ParseICS2(strings.NewReader(in), Limits{})
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			if len(ve.Errors) != 1 || ve.Errors[0].Path != tc.path || !strings.HasSuffix(ve.Errors[0].Error(), tc.msg) {
				t.Errorf("faults = %v, want one at %s: %s", ve.Errors, tc.path, tc.msg)
			}
		})
	}
}

func TestParseDispatch(t *testing.T) {
	for _, tc := range []struct{ file, media, want string }{
		{ics1Data(t, "samples/CC315A-schemaValidSample-v11-2.xml"), "application/xml; charset=utf-8", TypeCC315A},
		{ics1Data(t, "samples/CC313A-schemaValidSample-v11-2.xml"), "text/xml", TypeCC313A},
		{ics1Data(t, "json/315AllOptional.json"), "application/json", "IE315"},
		{filepath.Join("testdata", "ics2-road-f50.json"), "application/json", "IE3F50"},
	} {
		d, err := Parse(openFile(t, tc.file), tc.media, Limits{})
		if err != nil || d.MessageType != tc.want {
			t.Errorf("Parse(%s): %v, %v", tc.file, d, err)
		}
	}
	if _, err := Parse(strings.NewReader(`{"foo": 1}`), "application/json", Limits{}); !errors.Is(err, ErrFormat) {
		t.Errorf("unknown JSON: %v", err)
	}
	if _, err := Parse(strings.NewReader(`x`), "text/plain", Limits{}); !errors.Is(err, ErrFormat) {
		t.Errorf("text/plain: %v", err)
	}
}

func TestPartyKindRule(t *testing.T) {
	d := &Declaration{Parties: []Party{
		{Role: RoleConsignee, Name: "A", TypeOfPerson: PersonNatural, Address: &Address{Country: "FR"}},
		{Role: RoleConsignee, Name: "B", TypeOfPerson: PersonLegal, Address: &Address{Country: "FR"}},
		{Role: RoleConsignee, Name: "C  Sàrl ", ID: "FR12345678901"},
		{Role: RoleConsignee, Name: "D", TypeOfPerson: PersonAssociation},
	}}
	c := d.Check("ens")
	checkItems(t, c.Items, []wantItem{
		{"parties[0].name", devices.KindPerson, "A", ""},
		{"parties[1].name", devices.KindCompany, "B", "FR"},
		{"parties[2].name", devices.KindCompany, "C Sàrl", ""},
		{"parties[2].id", devices.KindEORI, "FR12345678901", ""},
		{"parties[3].name", devices.KindCompany, "D", ""},
	})
}
