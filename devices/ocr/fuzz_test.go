package ocr

import (
	"errors"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/devices/ident"
)

// checkParsed asserts what every accepted read must satisfy and that its
// conversion either fails naming "value" or yields a valid number that
// differs from the read by at most one OCR confusion.
func checkParsed(t *testing.T, r Read) {
	t.Helper()
	if r.Value == "" {
		t.Fatalf("accepted without value: %+v", r)
	}
	for _, f := range []struct {
		s   string
		max int
	}{{r.Value, maxValueBytes}, {r.Lane, maxLaneBytes}, {r.Device, maxDeviceBytes}, {r.Image, maxImageBytes}} {
		if err := checkText(f.s, f.max); err != nil {
			t.Fatalf("accepted text that checkText refuses (%v): %+v", err, r)
		}
	}
	if !(r.Confidence >= 0 && r.Confidence <= 1) {
		t.Fatalf("confidence %v outside 0..1", r.Confidence)
	}
	if !r.Time.IsZero() && (r.Time.Before(minTime) || !r.Time.Before(maxTime)) {
		t.Fatalf("time %v outside the window", r.Time)
	}
	c, err := r.Check("fuzz", testNow)
	if err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "value" {
			t.Fatalf("conversion error without field value: %v", err)
		}
		return
	}
	it := c.Items[0]
	if v, err := ident.ParseContainer(it.Value); err != nil || v != it.Value {
		t.Fatalf("value %q is not a valid normalised number", it.Value)
	}
	if it.Raw != r.Value {
		t.Fatalf("raw %q, read %q", it.Raw, r.Value)
	}
	// A correction is made exactly when the read as such is invalid.
	if _, perr := ident.ParseContainer(r.Value); (perr == nil) != (it.Correction == "") {
		t.Fatalf("correction %q for a read that ParseContainer says %v", it.Correction, perr)
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"value":"CSQU 305438 3","confidence":0.97,"lane":"gate-2-in","image":"https://ocr.local/img/77.jpg","device":"gate-ocr-2","time":"2026-11-27T03:14:07Z"}`,
		`{"value":"MAEU845O125","confidence":71,"time":1795749301250}`,
		`{"value":"MSCU12345G6"}`,
		`{"value":"CSQU3054384"}`,
		`{"value":"CSQU\u00853054383"}`,
		`{"value":"CSQU3054383","value":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseJSON(data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FieldError: %v", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error message spans lines: %q", err.Error())
			}
			return
		}
		checkParsed(t, r)
	})
}

func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		`[{"value":"MSCU 123456 6"},{"value":"TCLU5001761"},{"value":"x","y":1}]`,
		`{"value":"CSQU3054383"}`,
		`[]`, `[null, 1, "x"]`, `[{}] [`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		reads, batch, err := decodeBody(body)
		if err != nil {
			return
		}
		if len(reads) == 0 || len(reads) > MaxBatch || (!batch && len(reads) != 1) {
			t.Fatalf("%d reads, batch %v", len(reads), batch)
		}
		for _, br := range reads {
			if br.err == nil {
				checkParsed(t, br.read)
			}
		}
	})
}
