package store

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

// An alert written before posts and regions existed (codecBinary1) must
// still read, and one written now must keep them.
func TestAlertCodecReadsBothForms(t *testing.T) {
	a := Alert{ID: "NAT-1", Version: 3, Source: "NATIONAL", Category: "art36", Action: "report",
		Issued: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Purposes: []string{"customs"},
		Subject: Subject{Kind: SubjectVehicle, Vehicle: &Vehicle{Plate: "AB123CD", PlateCountry: "FR"}}}
	v1 := encodeAlert(nil, &a)
	// The old form is the new one without its two trailing empty lists.
	if !bytes.HasSuffix(v1, []byte{0, 0}) {
		t.Fatalf("posts and regions not at the end of the encoding")
	}
	v1 = append([]byte{codecBinary1}, v1[1:len(v1)-2]...)
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
	if id, err := alertIDOf(encodeAlert(nil, &a)); err != nil || id != "NAT-1" {
		t.Fatalf("alertIDOf = %q, %v", id, err)
	}
}
