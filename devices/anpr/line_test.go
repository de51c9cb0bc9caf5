package anpr

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices/ident"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want from the current output (review the diff)")

// testNow stands for the time a read arrives.
var testNow = time.Date(2026, 11, 27, 3, 20, 0, 0, time.UTC)

// summarise says what becomes of one line: the item checked, or the field
// and message of the refusal.
func summarise(line []byte) string {
	r, err := ParseLine(line)
	if err == nil {
		ck, cerr := r.Check("cam", testNow)
		if cerr != nil {
			err = cerr
		} else {
			it := ck.Items[0]
			s := "OK " + it.Country + " " + it.Value + " time=" + ck.Time.UTC().Format(time.RFC3339Nano) +
				" lane=" + ck.Lane + " conf=" + strings.TrimRight(strings.TrimRight(strconvF(it.Confidence), "0"), ".")
			if it.Correction != "" {
				s += " | " + it.Correction
			}
			return s
		}
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		return "ERR (no field) " + err.Error()
	}
	// devices/ident words its own messages; the golden file records only
	// which of its errors it was, so that a rewording there does not
	// break this test.
	for _, e := range []struct {
		name string
		err  error
	}{{"ident.ErrCountry", ident.ErrCountry}, {"ident.ErrPlateFormat", ident.ErrPlateFormat}, {"ident.ErrEmpty", ident.ErrEmpty}} {
		if errors.Is(err, e.err) {
			return "ERR [" + fe.Field + "] " + e.name
		}
	}
	return "ERR [" + fe.Field + "] " + err.Error()
}

func strconvF(f float64) string { return string(AppendLine(nil, Read{Confidence: f})[4:]) }

// TestLinesGolden runs the realistic reads of testdata/lines.txt through
// ParseLine and Read.Check and compares with testdata/lines.want.
func TestLinesGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "lines.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(in))
	for sc.Scan() {
		got.WriteString(summarise(sc.Bytes()))
		got.WriteByte('\n')
	}
	wantPath := filepath.Join("testdata", "lines.want")
	if *update {
		if err := os.WriteFile(wantPath, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(wantPath)
	if err != nil {
		t.Fatal(err)
	}
	gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
	if len(gl) != len(wl) {
		t.Fatalf("%d results, want %d", len(gl), len(wl))
	}
	for i := range gl {
		if gl[i] != wl[i] {
			t.Errorf("line %d:\n got  %s\n want %s", i+1, gl[i], wl[i])
		}
	}
}

func TestParseLineGrammar(t *testing.T) {
	ok := []struct {
		line string
		want Read
	}{
		{"2026-11-27T03:14:07Z;3;B MW 1234;D;0.93", Read{Time: time.Date(2026, 11, 27, 3, 14, 7, 0, time.UTC), Lane: "3", Plate: "B MW 1234", Country: "D", Confidence: 0.93}},
		{" 1795749249 , 2 , AB-123-CD , F , 87 \r", Read{Time: time.Unix(1795749249, 0).UTC(), Lane: "2", Plate: "AB-123-CD", Country: "F", Confidence: 0.87}},
		{"1795749249.5\t\tAB123CD\tF\t0,5", Read{Time: time.Unix(1795749249, 5e8).UTC(), Plate: "AB123CD", Country: "F", Confidence: 0.5}},
		{"1795749249512;;AB123CD;F;", Read{Time: time.UnixMilli(1795749249512).UTC(), Plate: "AB123CD", Country: "F"}},
		{";;AB123CD;F;1;x.jpg", Read{Plate: "AB123CD", Country: "F", Confidence: 1, Image: "x.jpg"}},
		{";;AB,123;F;1", Read{Plate: "AB,123", Country: "F", Confidence: 1}}, // ';' rules, ',' is text
	}
	for _, c := range ok {
		got, err := ParseLine([]byte(c.line))
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if !got.Time.Equal(c.want.Time) || got.Lane != c.want.Lane || got.Plate != c.want.Plate ||
			got.Country != c.want.Country || got.Confidence != c.want.Confidence || got.Image != c.want.Image {
			t.Errorf("%q:\n got  %+v\n want %+v", c.line, got, c.want)
		}
	}
	bad := []struct {
		line, field string
		is          error
	}{
		{"", "", ErrSyntax},
		{"no separators at all", "", ErrSyntax},
		{"a;b;c;d", "", ErrSyntax},
		{";;P;D;0.5;img;extra", "", ErrSyntax},
		{";;P;D;0.5\x00", "", ErrControl},
		{";;P\u202e;D;0.5", "", ErrControl}, // right-to-left override
		{";;P;D;0.5\xff", "", ErrEncoding},
		{strings.Repeat("x", MaxLineBytes+1), "", ErrTooLarge},
		{"2026-13-01T00:00:00Z;;P;D;1", "time", ErrSyntax},
		{"0;;P;D;1", "time", ErrRange},
		{"99999999999999;;P;D;1", "time", ErrSyntax},
		{"1e9;;P;D;1", "time", ErrSyntax},
		{";;;D;1", "plate", ErrMissing},
		{";;P;;1", "country", ErrMissing},
		{";;P;D;-1", "confidence", ErrSyntax},
		{";;P;D;NaN", "confidence", ErrSyntax},
		{";;P;D;0x1p-2", "confidence", ErrSyntax},
		{";;P;D;101", "confidence", ErrRange},
		{";" + strings.Repeat("L", 33) + ";P;D;1", "lane", ErrTooLarge},
		{";;" + strings.Repeat("P", 33) + ";D;1", "plate", ErrTooLarge},
	}
	for _, c := range bad {
		_, err := ParseLine([]byte(c.line))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, c.is) {
			t.Errorf("%q: err = %v, want field %q and %v", c.line, err, c.field, c.is)
		}
	}
}

// A decimal comma (when the separator is not ',') reads like a point, and
// a value over 1 is percent.
func TestParseLineDecimalCommaPercent(t *testing.T) {
	r, err := ParseLine([]byte(";;P;D;87,5"))
	if err != nil || r.Confidence != 0.875 {
		t.Fatalf("87,5 = %v, %v; want 0.875", r.Confidence, err)
	}
}

func TestAppendLineRoundTrip(t *testing.T) {
	r := Read{Time: time.Date(2026, 11, 27, 3, 14, 7, 5e8, time.UTC), Lane: "3", Plate: "B MW 1234", Country: "D", Confidence: 0.93, Image: "img/1.jpg"}
	got, err := ParseLine(AppendLine(nil, r))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Time.Equal(r.Time) || got.Lane != r.Lane || got.Plate != r.Plate || got.Country != r.Country || got.Confidence != r.Confidence || got.Image != r.Image {
		t.Fatalf("round trip:\n got  %+v\n want %+v", got, r)
	}
}
