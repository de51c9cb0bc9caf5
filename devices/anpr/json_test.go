package anpr

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
)

func TestParseJSON(t *testing.T) {
	r, err := ParseJSON([]byte(`{"time":"2026-11-27T03:14:07.5Z","lane":"3","plate":"B MW 1234","country":"D",
		"confidence":93,"camera":"gate-a-in","image":"https://cam-a.local/img/000123.jpg"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Read{Time: time.Date(2026, 11, 27, 3, 14, 7, 5e8, time.UTC), Lane: "3", Plate: "B MW 1234", Country: "D",
		Confidence: 0.93, Camera: "gate-a-in", Image: "https://cam-a.local/img/000123.jpg"}
	if r != want {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
	r, err = ParseJSON([]byte(`{"plate":"AB-123-CD","country":"F","time":1795749249,"lane":null,"image":null}`))
	if err != nil || !r.Time.Equal(time.Unix(1795749249, 0)) || r.Lane != "" {
		t.Fatalf("unix time, nulls: %+v, %v", r, err)
	}
}

func TestParseJSONRefusals(t *testing.T) {
	cases := []struct {
		in, field string
		is        error
	}{
		{`{"plate":"B1","country":"D","colour":"red"}`, "colour", ErrUnknownField},
		{`{"plate":"B1","country":"D","Plate":"B2"}`, "Plate", ErrUnknownField}, // keys are case-sensitive
		{`{"plate":"B1","country":"D","plate":"B2"}`, "plate", ErrDuplicateField},
		{`{"plate":"B1","country":"D","pl\u0061te":"B2"}`, "plate", ErrDuplicateField},
		{`{"plate":"B1","country":"D"} {}`, "", ErrSyntax},
		{`{"plate":"B1","country":"D"`, "", ErrSyntax},
		{`["plate"]`, "", ErrSyntax},
		{`"B1"`, "", ErrSyntax},
		{``, "", ErrSyntax},
		{`{"plate":12,"country":"D"}`, "plate", ErrType},
		{`{"plate":"B1","country":"D","confidence":"0.9"}`, "confidence", ErrType},
		{`{"plate":"B1","country":"D","confidence":1e400}`, "confidence", ErrRange},
		{`{"plate":"B1","country":"D","confidence":-0.1}`, "confidence", ErrRange},
		{`{"plate":"B1","country":"D","confidence":100.5}`, "confidence", ErrRange},
		{`{"plate":"B1","country":"D","time":"27.11.2026 03:14"}`, "time", ErrSyntax},
		{`{"plate":"B1","country":"D","time":0}`, "time", ErrRange},
		{`{"plate":"B1","country":"D","time":1.7e9}`, "time", ErrSyntax},
		{`{"plate":"B1","country":"D","time":true}`, "time", ErrType},
		{`{"plate":"B\u0000","country":"D"}`, "plate", ErrControl},
		{`{"plate":"B\u200b1","country":"D"}`, "plate", ErrControl}, // zero-width space
		{`{"plate":"B\ud8001","country":"D"}`, "plate", ErrControl}, // lone surrogate
		{"{\"plate\":\"B\xff1\",\"country\":\"D\"}", "", ErrEncoding},
		{`{"plate":"` + strings.Repeat("B", 33) + `","country":"D"}`, "plate", ErrTooLarge},
		{`{"plate":"B1","country":"D","image":"` + strings.Repeat("i", MaxReadBytes) + `"}`, "", ErrTooLarge},
		{`{"country":"D"}`, "plate", ErrMissing},
		{`{"plate":"","country":"D"}`, "plate", ErrMissing},
		{`{"plate":"B1"}`, "country", ErrMissing},
	}
	for _, c := range cases {
		_, err := ParseJSON([]byte(c.in))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, c.is) {
			t.Errorf("%.60s: err = %v, want field %q and %v", c.in, err, c.field, c.is)
		}
	}
}

// TestErrorsDoNotRepeatValues guards the rule that errors may reach logs:
// no refusal quotes the plate it refused.
func TestErrorsDoNotRepeatValues(t *testing.T) {
	for _, in := range []string{
		`{"plate":"SECRET\u0007","country":"D"}`,
		`{"plate":"SECRET-PLATE-TOO-LONG-FOR-ANY-COUNTRY","country":"D"}`,
		`{"plate":"SECRET","country":"D","time":"SECRET"}`,
	} {
		r, err := ParseJSON([]byte(in))
		if err == nil {
			_, err = r.Check("cam", testNow)
		}
		if err == nil {
			t.Errorf("%s: accepted", in)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "SECRET") {
			t.Errorf("%s: error repeats the value: %s", in, err)
		}
	}
}

func TestReadCheck(t *testing.T) {
	r := Read{Plate: "ab 1o3 cd", Country: "I", Confidence: 0.6, Lane: "2", Image: "x.jpg"}
	c, err := r.Check("gate-a", testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := devices.Item{Field: "plate", Kind: devices.KindPlate, Value: "AB103CD", Raw: "ab 1o3 cd", Country: "IT",
		Correction: "OCR O->0 at position 4", Confidence: 0.6}
	if len(c.Items) != 1 || c.Items[0] != want {
		t.Fatalf("item = %+v\nwant %+v", c.Items, want)
	}
	if c.Device != "gate-a" || c.Lane != "2" || !c.Time.Equal(testNow) || c.ID != "" {
		t.Fatalf("check = %+v", c)
	}
	r.Camera, r.Time = "cam-7", testNow.Add(-time.Minute)
	c, _ = r.Check("gate-a", testNow)
	if c.Device != "cam-7" || !c.Time.Equal(testNow.Add(-time.Minute)) {
		t.Fatalf("camera and time of the read not kept: %+v", c)
	}
	for _, bad := range []Read{{Plate: "B1", Country: " "}, {Plate: "B1", Country: "ZZZ"}, {Plate: "B_1", Country: "D"}} {
		if _, err := bad.Check("x", testNow); err == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}
