package ident

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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

func TestVectors(t *testing.T) {
	f, err := os.Open(filepath.Join(sharedData(t, "identifiers"), "vectors.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	n := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 3 {
			continue
		}
		kind, value, want := cols[0], cols[1], cols[2] == "true"
		var err error
		switch kind {
		case "iso6346":
			_, err = ParseContainer(value)
		case "imo":
			_, err = ParseIMO(value)
		case "mrn":
			_, err = ParseMRN(value)
		default:
			t.Fatalf("unknown kind %q in vectors", kind)
		}
		if (err == nil) != want {
			t.Errorf("%s %q: valid=%v, want %v (err %v)", kind, value, err == nil, want, err)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d vectors read", n)
	}
}

func TestContainerCheckDigitError(t *testing.T) {
	_, err := ParseContainer("CSQU3054384")
	if !errors.Is(err, ErrContainerCheckDigit) {
		t.Fatalf("err = %v, want ErrContainerCheckDigit", err)
	}
	if !strings.Contains(err.Error(), "check digit should be 3") {
		t.Errorf("message %q does not name the expected digit", err)
	}
	if strings.Contains(err.Error(), "CSQU") {
		t.Errorf("message %q repeats the value", err)
	}
}

func TestCorrectContainer(t *testing.T) {
	cases := []struct{ raw, want, how string }{
		{"CSQU3054383", "CSQU3054383", ""},
		{"CSQU3O54383", "CSQU3054383", "OCR O->0 at position 6"},
		{"C5QU3054383", "CSQU3054383", "OCR 5->S at position 2"},
	}
	for _, c := range cases {
		got, how, err := CorrectContainer(c.raw)
		if err != nil || got != c.want || how != c.how {
			t.Errorf("CorrectContainer(%q) = %q, %q, %v; want %q, %q", c.raw, got, how, err, c.want, c.how)
		}
	}
	// A wrong digit that no single confusion explains stays an error.
	if _, _, err := CorrectContainer("CSQU3054384"); err == nil {
		t.Error("CSQU3054384 corrected, want error")
	}
}

func TestNormalizePlate(t *testing.T) {
	cases := []struct{ country, raw, iso, plate string }{
		{"D", "m-ab 1234", "DE", "MAB1234"},
		{"de", "B.MW.1", "DE", "BMW1"},
		{"SLO", "lj 12-abc", "SI", "LJ12ABC"},
		{"FIN", "äbc-123", "FI", "ÄBC123"},
		{"NL", "12-ABC-3", "NL", "12ABC3"},
	}
	for _, c := range cases {
		iso, plate, err := NormalizePlate(c.country, c.raw)
		if err != nil || iso != c.iso || plate != c.plate {
			t.Errorf("NormalizePlate(%q, %q) = %q, %q, %v; want %q, %q", c.country, c.raw, iso, plate, err, c.iso, c.plate)
		}
	}
	for _, bad := range [][2]string{{"D", ""}, {"D", "AB#12"}, {"XX", "AB12"}, {"D", "ABCDEFGHIJKLM"}, {"D", "AB\xff"}} {
		if _, _, err := NormalizePlate(bad[0], bad[1]); err == nil {
			t.Errorf("NormalizePlate(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestEORIAndCountry(t *testing.T) {
	for _, ok := range []string{"DE123456789012345", "GB123456789000", "XI123456789000", "fr12345"} {
		if _, err := ParseEORI(ok); err != nil {
			t.Errorf("ParseEORI(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"ZZ1234", "DE", "DE1234567890123456", "DE12#4"} {
		if _, err := ParseEORI(bad); err == nil {
			t.Errorf("ParseEORI(%q) accepted", bad)
		}
	}
	if c, err := ParseCountry("deu"); err != nil || c != "DE" {
		t.Errorf("ParseCountry(deu) = %q, %v", c, err)
	}
	if _, err := ParseCountry("EU"); err == nil {
		t.Error("EU accepted as a country")
	}
}

func FuzzParseContainer(f *testing.F) {
	for _, s := range []string{"CSQU3054383", "csqu 305438 3", "", "ÄÖÜ", "CSQU3O54383"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseContainer(s)
		if err == nil {
			// A valid number is a fixed point of normalisation.
			if again, err := ParseContainer(v); err != nil || again != v {
				t.Fatalf("ParseContainer(%q) = %q, but re-parsing gives %q, %v", s, v, again, err)
			}
		}
		if c, _, err := CorrectContainer(s); err == nil {
			if _, err := ParseContainer(c); err != nil {
				t.Fatalf("CorrectContainer(%q) = %q, which does not parse: %v", s, c, err)
			}
		}
	})
}

func FuzzNormalizePlate(f *testing.F) {
	f.Add("D", "M-AB 1234")
	f.Add("SLO", "LJ 12-ABC")
	f.Add("", "\x00")
	f.Fuzz(func(t *testing.T, country, raw string) {
		iso, p, err := NormalizePlate(country, raw)
		if err != nil {
			return
		}
		if iso2, p2, err := NormalizePlate(iso, p); err != nil || iso2 != iso || p2 != p {
			t.Fatalf("not idempotent: %q,%q -> %q,%q -> %q,%q (%v)", country, raw, iso, p, iso2, p2, err)
		}
	})
}

func TestSimplePhoneEmail(t *testing.T) {
	if v, err := NormalizeSimple("c01x-00t<4<"); err != nil || v != "C01X00T4" {
		t.Errorf("NormalizeSimple = %q, %v", v, err)
	}
	if _, err := NormalizeSimple("AB#1"); err == nil {
		t.Error("NormalizeSimple accepted #")
	}
	for in, want := range map[string]string{"+49 (30) 123-4567": "+49301234567", "0033 1 23 45 67 89": "+33123456789"} {
		if v, err := NormalizePhone(in); err != nil || v != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, v, err, want)
		}
	}
	for _, bad := range []string{"030 1234567", "+0123456789", "+49x1234567", "+4912", "+1234567890123456"} {
		if _, err := NormalizePhone(bad); err == nil {
			t.Errorf("NormalizePhone(%q) accepted", bad)
		}
	}
	if v, err := NormalizeEmail(" John.Doe@Example.ORG "); err != nil || v != "John.Doe@example.org" {
		t.Errorf("NormalizeEmail = %q, %v", v, err)
	}
	for _, bad := range []string{"nobody", "@x.org", "a@", "a b@x.org", "a@localhost", "a@x..org"} {
		if _, err := NormalizeEmail(bad); err == nil {
			t.Errorf("NormalizeEmail(%q) accepted", bad)
		}
	}
}
