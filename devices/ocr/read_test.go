package ocr

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want from the current output (review the diff)")

// testNow stands for the time a read arrives.
var testNow = time.Date(2026, 11, 27, 3, 20, 0, 0, time.UTC)

// sharedData returns the folder of the project's reference data, or skips
// the test where it is absent (a user's fresh clone); under CI it fails.
func sharedData(t *testing.T, sub string) string {
	t.Helper()
	if d := os.Getenv("BORDERPOST_DATA"); d != "" {
		return filepath.Join(d, sub)
	}
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "data", sub)
			if _, err := os.Stat(p); err == nil {
				return p
			}
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("reference data %s not found: set BORDERPOST_DATA or place shared/data beside the repository", sub)
	}
	t.Skipf("reference data %s not found beside the repository; set BORDERPOST_DATA to run this test", sub)
	return ""
}

// TestReferenceContainers runs the ISO 6346 vectors of the shared data
// through ParseJSON and Read.Check: valid numbers pass unchanged (apart
// from normalisation), invalid ones are refused or repaired, never passed
// as read.
func TestReferenceContainers(t *testing.T) {
	f, err := os.Open(filepath.Join(sharedData(t, "identifiers"), "vectors.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 3 || cols[0] != "iso6346" {
			continue
		}
		n++
		body, _ := json.Marshal(map[string]any{"value": cols[1], "confidence": 0.9})
		r, err := ParseJSON(body)
		if err != nil {
			t.Fatalf("%s: %v", cols[1], err)
		}
		c, err := r.Check("ref", testNow)
		switch {
		case cols[2] == "true" && err != nil:
			t.Errorf("%s: refused: %v", cols[1], err)
		case cols[2] == "true" && c.Items[0].Correction != "":
			t.Errorf("%s: valid number corrected: %+v", cols[1], c.Items[0])
		case cols[2] == "false" && err == nil && c.Items[0].Correction == "":
			t.Errorf("%s: invalid number accepted as read", cols[1])
		}
		if err == nil {
			if v, perr := ident.ParseContainer(c.Items[0].Value); perr != nil || v != c.Items[0].Value {
				t.Errorf("%s: value %q is not a valid normalised number", cols[1], c.Items[0].Value)
			}
		}
	}
	if n < 5 {
		t.Fatalf("only %d container vectors found", n)
	}
}

func TestReadCheck(t *testing.T) {
	r := Read{Value: "csqu 3O5438 3", Confidence: 0.7, Lane: "gate-2", Device: "gate-ocr-2"}
	c, err := r.Check("ocr-http", testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := devices.Item{Field: "value", Kind: devices.KindContainer, Value: "CSQU3054383", Raw: "csqu 3O5438 3",
		Correction: "OCR O->0 at position 6", Confidence: 0.7}
	if len(c.Items) != 1 || c.Items[0] != want {
		t.Fatalf("item %+v\nwant %+v", c.Items, want)
	}
	if c.Device != "gate-ocr-2" || c.Lane != "gate-2" || !c.Time.Equal(testNow) || c.ID != "" {
		t.Fatalf("check %+v", c)
	}
	// G/6 is a container confusion too.
	c, err = Read{Value: "MSCU12345G6"}.Check("ocr-http", testNow)
	if err != nil || c.Items[0].Value != "MSCU1234566" || c.Items[0].Correction != "OCR G->6 at position 10" || c.Device != "ocr-http" {
		t.Fatalf("G/6: %+v, %v", c, err)
	}
	// A wrong check digit that no single confusion repairs names the digit.
	_, err = Read{Value: "CSQU3054384"}.Check("x", testNow)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "value" || !errors.Is(err, ident.ErrContainerCheckDigit) ||
		!strings.Contains(err.Error(), "check digit should be 3") {
		t.Fatalf("wrong check digit: %v", err)
	}
	if strings.Contains(err.Error(), "CSQU") {
		t.Fatalf("error repeats the number: %v", err)
	}
}

func TestParseJSON(t *testing.T) {
	r, err := ParseJSON([]byte(`{"value":"CSQU 305438 3","confidence":97,"lane":"gate-2-in","image":"https://ocr.local/img/77.jpg","device":"gate-ocr-2","time":"2026-11-27T03:14:07Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Read{Value: "CSQU 305438 3", Confidence: 0.97, Lane: "gate-2-in", Image: "https://ocr.local/img/77.jpg", Device: "gate-ocr-2",
		Time: time.Date(2026, 11, 27, 3, 14, 7, 0, time.UTC)}
	if r != want {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
	cases := []struct {
		in, field string
		is        error
	}{
		{`{"value":"CSQU3054383","plate":"x"}`, "plate", ErrUnknownField},
		{`{"value":"CSQU3054383","value":"CSQU3054383"}`, "value", ErrDuplicateField},
		{`{"value":3054383}`, "value", ErrType},
		{`{"value":"CSQU3054383","confidence":"0.9"}`, "confidence", ErrType},
		{`{"value":"CSQU3054383","confidence":101}`, "confidence", ErrRange},
		{`{"value":"CSQU3054383","time":"yesterday"}`, "time", ErrSyntax},
		{`{"value":"CSQU3054383","time":946684799}`, "time", ErrRange},
		{`{"value":"CSQU\u00853054383"}`, "value", ErrControl},
		{`{"value":"` + strings.Repeat("C", 33) + `"}`, "value", ErrTooLarge},
		{`{"value":"CSQU3054383","lane":"` + strings.Repeat("L", 33) + `"}`, "lane", ErrTooLarge},
		{`{"value":"CSQU3054383","device":"` + strings.Repeat("D", 65) + `"}`, "device", ErrTooLarge},
		{`{"value":null}`, "value", ErrMissing},
		{`{}`, "value", ErrMissing},
		{`{"value":"CSQU3054383"}]`, "", ErrSyntax},
		{"{\"value\":\"CSQU\xc33054383\"}", "", ErrEncoding},
	}
	for _, c := range cases {
		_, err := ParseJSON([]byte(c.in))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, c.is) {
			t.Errorf("%.60s: err = %v, want field %q and %v", c.in, err, c.field, c.is)
		}
	}
}

// TestReadsGolden runs the realistic reads of testdata/reads.json, as one
// batch, through the parser and the conversion and compares with
// testdata/reads.want.
func TestReadsGolden(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "reads.json"))
	if err != nil {
		t.Fatal(err)
	}
	reads, batch, err := decodeBody(body)
	if err != nil || !batch {
		t.Fatalf("batch: %v", err)
	}
	var got bytes.Buffer
	for _, br := range reads {
		err := br.err
		var c devices.Check
		if err == nil {
			c, err = br.read.Check("ocr", testNow)
		}
		if err != nil {
			var fe *FieldError
			errors.As(err, &fe)
			got.WriteString("ERR [" + fe.Field + "] " + identClass(err) + "\n")
			continue
		}
		it := c.Items[0]
		got.WriteString("OK " + it.Value + " device=" + c.Device + " lane=" + c.Lane + " time=" + c.Time.UTC().Format(time.RFC3339Nano))
		if it.Correction != "" {
			got.WriteString(" | " + it.Correction)
		}
		got.WriteByte('\n')
	}
	wantPath := filepath.Join("testdata", "reads.want")
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
			t.Errorf("read %d:\n got  %s\n want %s", i, gl[i], wl[i])
		}
	}
}

// identClass names the devices/ident error that err wraps, or returns
// err's message for this package's own errors: ident words its own
// messages, and a rewording there must not break the golden file.
func identClass(err error) string {
	for _, e := range []struct {
		name string
		err  error
	}{{"ident.ErrContainerCheckDigit", ident.ErrContainerCheckDigit}, {"ident.ErrContainerFormat", ident.ErrContainerFormat}, {"ident.ErrEmpty", ident.ErrEmpty}} {
		if errors.Is(err, e.err) {
			return e.name
		}
	}
	return err.Error()
}
