package store

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

// Alerts written before posts and regions existed (codecBinary1) and
// before the vehicle's colour (codecBinary2) must still read, and one
// written now must keep them.
func TestAlertCodecReadsEveryForm(t *testing.T) {
	a := Alert{ID: "NAT-1", Version: 3, Source: "NATIONAL", Category: "art36", Action: "report",
		Issued: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Purposes: []string{"customs"},
		Subject: Subject{Kind: SubjectVehicle, Vehicle: &Vehicle{Plate: "AB123CD", PlateCountry: "FR"}}}
	v3 := encodeAlert(nil, &a)
	// The older forms are the new one without its trailing empty colour
	// and vessel aliases, then without its two trailing empty lists.
	if !bytes.HasSuffix(v3, []byte{0, 0, 0, 0}) {
		t.Fatalf("posts, regions, colour and vessel aliases not at the end of the encoding")
	}
	v2 := append([]byte{codecBinary2}, v3[1:len(v3)-2]...)
	if old, err := decodeAlertValue(v2); err != nil || !reflect.DeepEqual(old, a) {
		t.Fatalf("form 2 decoded as %+v, %v; want %+v", old, err, a)
	}
	v1 := append([]byte{codecBinary1}, v3[1:len(v3)-4]...)
	old, err := decodeAlertValue(v1)
	if err != nil {
		t.Fatalf("decode the format written before posts and regions: %v", err)
	}
	if !reflect.DeepEqual(old, a) {
		t.Fatalf("old form decoded as %+v, want %+v", old, a)
	}

	a.Posts, a.Regions = []string{"road", "rail"}, []string{"FR-HDF"}
	back, err := decodeAlertValue(encodeAlert(nil, &a))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Posts, a.Posts) || !reflect.DeepEqual(back.Regions, a.Regions) {
		t.Fatalf("posts and regions came back as %v %v", back.Posts, back.Regions)
	}
	a.Subject.Vehicle.Colour = "dark blue"
	if back, err := decodeAlertValue(encodeAlert(nil, &a)); err != nil || back.Subject.Vehicle.Colour != "dark blue" {
		t.Fatalf("colour came back as %+v, %v", back.Subject.Vehicle, err)
	}
	ship := Alert{ID: "V-1", Version: 1, Subject: Subject{Kind: SubjectVessel, Vessel: &Vessel{IMO: "9074729", Name: "SEA STAR", Aliases: []string{"OCEAN STAR", "STAR I"}}}}
	if back, err := decodeAlertValue(encodeAlert(nil, &ship)); err != nil || !reflect.DeepEqual(back.Subject.Vessel, ship.Subject.Vessel) {
		t.Fatalf("vessel came back as %+v, %v", back.Subject.Vessel, err)
	}
	if id, err := alertIDOf(encodeAlert(nil, &a)); err != nil || id != "NAT-1" {
		t.Fatalf("alertIDOf = %q, %v", id, err)
	}
}
