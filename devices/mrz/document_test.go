package mrz

import (
	"reflect"
	"testing"

	"github.com/borderpost/borderpost/devices"
)

func TestDocumentCheck(t *testing.T) {
	// The ICAO specimen with Germany's "D<<" as issuing state and
	// nationality: neither field is under a check digit.
	lines := []string{"P<D<<ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36D<<7408122F1204159ZE184226B<<<<<10"}
	d, err := Parse(lines, now)
	if err != nil {
		t.Fatal(err)
	}
	got := d.Check("mrz-1", "lane-3", now)
	want := devices.Check{Device: "mrz-1", Lane: "lane-3", Time: now, Items: []devices.Item{{
		Field: ItemDocument, Kind: devices.KindDocument, Value: "L898902C3", Raw: lines[0] + "\n" + lines[1], Country: "DE",
		BirthDate: "1974-08-12", Nationality: "DE", Sex: "F",
	}, {
		Field: ItemHolder, Kind: devices.KindPerson, Value: "ANNA MARIA ERIKSSON", Raw: "ERIKSSON<<ANNA<MARIA",
		BirthDate: "1974-08-12", Nationality: "DE", Sex: "F",
	}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

// A zone without a name still checks the document, but asks for no person.
func TestDocumentCheckWithoutName(t *testing.T) {
	d, err := Parse([]string{"P<UTO<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"}, now)
	if err != nil {
		t.Fatal(err)
	}
	c := d.Check("d", "", now)
	if len(c.Items) != 1 || c.Items[0].Kind != devices.KindDocument || c.Items[0].Country != "" {
		t.Errorf("items %+v: want one document item without country (UTO is no country)", c.Items)
	}
}

func TestNameWithoutGivenNames(t *testing.T) {
	d, err := Parse([]string{"P<UTOERIKSSON<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if d.FullName() != "ERIKSSON" || d.GivenNames != "" || d.NameTruncated {
		t.Errorf("full name %q given %q truncated %v", d.FullName(), d.GivenNames, d.NameTruncated)
	}
}

func TestExpired(t *testing.T) {
	d, err := Parse(td3("740812", "F", "261127"), now)
	if err != nil {
		t.Fatal(err)
	}
	if d.Expired(now) {
		t.Error("expired on its expiry date")
	}
	if !d.Expired(now.AddDate(0, 0, 1)) {
		t.Error("not expired the day after")
	}
}
