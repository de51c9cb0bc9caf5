package ens

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
)

func TestParseICS1SchemaValidSamples(t *testing.T) {
	for _, tc := range []struct {
		file      string
		msgType   string
		amendment bool
		lrn, mrn  string
	}{
		{"samples/CC315A-schemaValidSample-v11-2.xml", TypeCC315A, false, "ABC123", ""},
		{"samples/CC313A-schemaValidSample-v11-2.xml", TypeCC313A, true, "", "12AB3C4D5E6F7G8H90"},
	} {
		t.Run(tc.msgType, func(t *testing.T) {
			d, err := ParseICS1(openFile(t, ics1Data(t, tc.file)), Limits{})
			if err != nil {
				t.Fatalf("ParseICS1: %v", err)
			}
			if d.MessageType != tc.msgType || d.Amendment != tc.amendment || d.LRN != tc.lrn || d.MRN != tc.mrn {
				t.Errorf("header = %q amendment=%v lrn=%q mrn=%q", d.MessageType, d.Amendment, d.LRN, d.MRN)
			}
			if want := time.Date(2003, 2, 11, 12, 34, 0, 0, time.UTC); !d.IssueDate.Equal(want) {
				t.Errorf("IssueDate = %v, want %v", d.IssueDate, want)
			}
			if d.OfficeOfFirstEntry != "AB3C4D5E" || d.SpecificCircumstance != "A" {
				t.Errorf("office %q, circumstance %q", d.OfficeOfFirstEntry, d.SpecificCircumstance)
			}
			roles := func(ps []Party) (out []Role) {
				for _, p := range ps {
					out = append(out, p.Role)
				}
				return out
			}
			if got := roles(d.Parties); !equal(got, []Role{RoleDeclarant, RoleRepresentative, RoleCarrier}) {
				t.Errorf("declaration parties %v", got)
			}
			if got := roles(d.Consignment.Parties); !equal(got, []Role{RoleConsignor, RoleConsignee, RoleNotifyParty}) {
				t.Errorf("consignment parties %v", got)
			}
			c := d.Consignment
			if len(c.GoodsItems) != 1 || c.GoodsItems[0].ItemNumber != 42 || c.GoodsItems[0].UNNumber != "1234" || c.GoodsItems[0].HSCode != "1234" {
				t.Errorf("goods items %+v", c.GoodsItems)
			}
			if len(c.TransportEquipment) != 1 || c.TransportEquipment[0].Container != "ABC123" {
				t.Errorf("equipment %+v", c.TransportEquipment)
			}
			if len(c.Seals) != 1 || len(c.RoutingCountries) != 1 || len(c.PassiveMeans) != 1 {
				t.Errorf("seals %v routing %v passive %v", c.Seals, c.RoutingCountries, c.PassiveMeans)
			}
			if len(d.ActiveMeans) != 1 || d.ActiveMeans[0].Identification != "ABC123" || d.ActiveMeans[0].Mode != "42" {
				t.Errorf("active means %+v", d.ActiveMeans)
			}
			// The samples hold placeholders: the container is no ISO 6346
			// number, so Validate must say so and Check must leave it out.
			err = d.Validate()
			if !errors.Is(err, ident.ErrContainerFormat) {
				t.Errorf("Validate = %v, want a container format fault", err)
			}
			ch := d.Check("ens")
			for _, it := range ch.Items {
				if it.Kind == devices.KindContainer || it.Kind == devices.KindEORI {
					t.Errorf("invalid value checked: %+v", it)
				}
			}
			if len(ch.Items) != 9 { // nine party names
				t.Errorf("Check has %d items, want 9", len(ch.Items))
			}
		})
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// CC315A_full.xml fills every optional group with placeholders that break
// the schema; each fault must be reported, at its element, and nothing else.
func TestParseICS1FullFaults(t *testing.T) {
	_, err := ParseICS1(openFile(t, ics1Data(t, "samples/CC315A_full.xml")), Limits{})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	want := []struct{ path, msg string }{
		{"GOOITEGDS[0].UNDanGooCodGDI1", "want 4 digits"},
		{"GOOITEGDS[0].COMCODGODITM.ComNomCMD1", "want 4 to 8 digits"},
		{"GOOITEGDS[0].IDEMEATRAGI970[0].NatIDEMEATRAGI973", "want 2 capital letters"},
		{"TRAREP.TINTRE1", "required element missing"},
		{"PERLODSUMDEC.TINPLD1", "required element missing"},
	}
	if len(ve.Errors) != len(want) {
		t.Fatalf("%d faults, want %d: %v", len(ve.Errors), len(want), err)
	}
	for i, w := range want {
		got := ve.Errors[i]
		if got.Path != w.path || !errors.Is(got, ErrSchema) || !strings.HasSuffix(got.Err.Error(), w.msg) {
			t.Errorf("fault %d = %q, want %s: ...%s", i, got.Error(), w.path, w.msg)
		}
	}
	// Faults name the element, never the value sent.
	for _, bad := range []string{"undg", "comco", "gb"} {
		if strings.Contains(err.Error(), bad) {
			t.Errorf("error repeats the value %q: %v", bad, err)
		}
	}
}

func TestParseICS1StructureFaults(t *testing.T) {
	sample := readFile(t, ics1Data(t, "samples/CC315A-schemaValidSample-v11-2.xml"))
	for _, tc := range []struct {
		name, old, new, path, msg string
	}{
		{"out of order", "<MesRecMES6>GBC123</MesRecMES6>\n    <DatOfPreMES9>030211</DatOfPreMES9>",
			"<DatOfPreMES9>030211</DatOfPreMES9>\n    <MesRecMES6>GBC123</MesRecMES6>", "MesRecMES6", "element out of order"},
		{"unknown element", "<PriMES15>A</PriMES15>", "<PriMES15>A</PriMES15><Extra>1</Extra>", "Extra", "unexpected element"},
		{"missing required", "<MesIdeMES19>ABC123</MesIdeMES19>", "", "MesIdeMES19", "required element missing"},
		{"wrong message type", "<MesTypMES20>CC315A</MesTypMES20>", "<MesTypMES20>CC313A</MesTypMES20>", "MesTypMES20", "want one of CC315A"},
		{"impossible date", "<DecDatTimHEA114>200302111234</DecDatTimHEA114>", "<DecDatTimHEA114>200302301234</DecDatTimHEA114>", "HEAHEA.DecDatTimHEA114", "want a date and time YYYYMMDDHHMM"},
		{"too long", "<NamCO17>ABC123</NamCO17>", "<NamCO17>" + strings.Repeat("x", 36) + "</NamCO17>", "TRACONCO1.NamCO17", "want 1 to 35 characters, got 36"},
		{"decimal", "<TotGroMasHEA307>3.14</TotGroMasHEA307>", "<TotGroMasHEA307>3.1415</TotGroMasHEA307>", "HEAHEA.TotGroMasHEA307", "want at most 11 digits, 3 after the decimal point"},
		{"attribute", "<HEAHEA>", `<HEAHEA id="1">`, "HEAHEA", "attributes are not allowed"},
		{"namespaced child", "<PriMES15>A</PriMES15>", `<ie:PriMES15>A</ie:PriMES15>`, "PriMES15", "element must not be in a namespace"},
		{"mixed text", "<HEAHEA>", "<HEAHEA>text", "HEAHEA", "text is not allowed here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(sample, tc.old, tc.new, 1)
			if in == sample {
				t.Fatal("replacement did not apply")
			}
			_, err := ParseICS1(strings.NewReader(in), Limits{})
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

func TestParseICS1WrongRoot(t *testing.T) {
	for _, in := range []string{
		`<CC315A xmlns="http://example.com/other"><x/></CC315A>`,
		`<ie:CC999A xmlns:ie="http://ics.dgtaxud.ec/CC999A"/>`,
	} {
		if _, err := ParseICS1(strings.NewReader(in), Limits{}); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", in, err)
		}
	}
}

// The ICS1 mode of transport tells what the identity of the means crossing
// the border is: an IMO number at sea, a plate on the road; item-level
// identities are the road vehicles carried.
func TestICS1MeansByMode(t *testing.T) {
	doc := func(mode, ident, nat string) string {
		return `<ie:CC315A xmlns:ie="http://ics.dgtaxud.ec/CC315A">
<MesSenMES3>S</MesSenMES3><DatOfPreMES9>261127</DatOfPreMES9><TimOfPreMES10>0315</TimOfPreMES10>
<MesIdeMES19>M1</MesIdeMES19><MesTypMES20>CC315A</MesTypMES20>
<HEAHEA><RefNumHEA4>LRN1</RefNumHEA4><TraModAtBorHEA76>` + mode + `</TraModAtBorHEA76>
<IdeOfMeaOfTraCroHEA85>` + ident + `</IdeOfMeaOfTraCroHEA85><NatOfMeaOfTraCroHEA87>` + nat + `</NatOfMeaOfTraCroHEA87>
<DecDatTimHEA114>202611270315</DecDatTimHEA114></HEAHEA>
<GOOITEGDS><IteNumGDS7>1</IteNumGDS7><COMCODGODITM><ComNomCMD1>62046231</ComNomCMD1></COMCODGODITM>
<CONNR2><ConNumNR21>MSCU1234566</ConNumNR21></CONNR2><CONNR2><ConNumNR21>mscu1234566</ConNumNR21></CONNR2>
<IDEMEATRAGI970><NatIDEMEATRAGI973>PL</NatIDEMEATRAGI973><IdeMeaTraGIMEATRA971>WX12345</IdeMeaTraGIMEATRA971></IDEMEATRAGI970></GOOITEGDS>
<PERLODSUMDEC><TINPLD1>NL812345678</TINPLD1></PERLODSUMDEC>
<CUSOFFFENT730><RefNumCUSOFFFENT731>NL000396</RefNumCUSOFFFENT731><ExpDatOfArrFIRENT733>202612020500</ExpDatOfArrFIRENT733></CUSOFFFENT730>
</ie:CC315A>`
	}
	for _, tc := range []struct {
		mode, ident, nat string
		want             []wantItem
	}{
		{"1", "IMO9321483", "DK", []wantItem{
			{"parties[0].id", devices.KindEORI, "NL812345678", ""},
			{"active_means[0].identification", devices.KindIMO, "9321483", ""},
			{"consignment.transport_equipment[0].container", devices.KindContainer, "MSCU1234566", ""},
			{"consignment.passive_means[0].identification", devices.KindPlate, "WX12345", "PL"},
		}},
		{"3", "B-XY 123", "D", nil}, // nationality must be ISO alpha-2 in ICS1
		{"3", "B-XY 123", "DE", []wantItem{
			{"parties[0].id", devices.KindEORI, "NL812345678", ""},
			{"active_means[0].identification", devices.KindPlate, "BXY123", "DE"},
			{"consignment.transport_equipment[0].container", devices.KindContainer, "MSCU1234566", ""},
			{"consignment.passive_means[0].identification", devices.KindPlate, "WX12345", "PL"},
		}},
		{"4", "XE4711", "US", []wantItem{ // a flight number and no passive means
			{"parties[0].id", devices.KindEORI, "NL812345678", ""},
			{"consignment.transport_equipment[0].container", devices.KindContainer, "MSCU1234566", ""},
		}},
	} {
		d, err := ParseICS1(strings.NewReader(doc(tc.mode, tc.ident, tc.nat)), Limits{})
		if tc.want == nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Errors[0].Path != "HEAHEA.NatOfMeaOfTraCroHEA87" {
				t.Errorf("mode %s nationality %s: err = %v", tc.mode, tc.nat, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("mode %s: %v", tc.mode, err)
		}
		if err := d.Validate(); err != nil {
			t.Errorf("mode %s: Validate: %v", tc.mode, err)
		}
		if g := d.Consignment.GoodsItems[0]; g.HSCode != "620462" || g.CNCode != "31" {
			t.Errorf("commodity code split %q %q", g.HSCode, g.CNCode)
		}
		checkItems(t, d.Check("ens").Items, tc.want)
	}
}
