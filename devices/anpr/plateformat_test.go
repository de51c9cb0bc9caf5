package anpr

import (
	"strings"
	"testing"
)

// TestPlateFormatExamples proves every row of the table matches a real
// shape of plate, and that typical plates of other shapes do not.
func TestPlateFormatExamples(t *testing.T) {
	fit := map[string][]string{
		"AT": {"W12345A", "GU123AB", "GUAB123"},
		"BE": {"1ABC123", "ABC123", "123ABC"},
		"CH": {"ZH123456", "BE1234", "AI1"},
		"CZ": {"1A23456", "5T01234", "2AB1234"},
		"DE": {"BMW1234", "MÜAB123", "SAB1234E", "HHX1", "LÖX12H"},
		"DK": {"AB12345"},
		"ES": {"1234BCD", "M1234AB", "GR1234A"},
		"FR": {"AB123CD", "1234AB75", "123AB2A", "12ABC971"},
		"GB": {"AB12CDE"},
		"HU": {"ABC123", "AAAA123"},
		"IT": {"AB123CD"},
		"LU": {"AB1234", "12345"},
		"NL": {"BT12GH", "12BTG3", "1BTG23", "GH123B", "99BBB9", "BB99BB", "9BB999"},
		"PL": {"WA12345", "KR1234A", "WPR12AC", "WPRA123", "KR1AC23"},
		"PT": {"AA12BB", "12AB34", "1234AB", "AB1234"},
		"SE": {"ABC123", "ABC12D"},
		"SK": {"BA123CD"},
	}
	misfit := map[string][]string{
		"BE": {"1ABC12", "ABCD123"},
		"CH": {"XX123", "ZH1234567"},
		"CZ": {"1O23456", "0A23456"},
		"DE": {"B01234", "BMW0123", "BMW12345"},
		"ES": {"1234ABC", "1234BCDE"}, // vowels are not issued since 2000
		"FR": {"AO123CD", "AB12CD"},
		"IT": {"AB1O3CD", "AI123CD"},
		"NL": {"AA12BB", "123456"}, // NL issues no vowels
		"PL": {"WA1234O", "WA1234B"},
		"SE": {"ABI123", "ABC1234"},
	}
	for country := range fit {
		if _, known := FitsPlateFormat(country, "X"); !known {
			t.Errorf("%s: not in the table", country)
		}
	}
	for country, plates := range fit {
		for _, p := range plates {
			if ok, _ := FitsPlateFormat(country, p); !ok {
				t.Errorf("%s %s: does not fit, want it to", country, p)
			}
		}
	}
	for country, plates := range misfit {
		for _, p := range plates {
			if ok, _ := FitsPlateFormat(country, p); ok {
				t.Errorf("%s %s: fits, want it not to", country, p)
			}
		}
	}
	// Every format row is exercised by some example.
	for _, f := range plateFormatTable {
		used := false
		for _, p := range fit[f.country] {
			if compilePlateFormats([]plateFormat{f})[f.country][0].MatchString(p) {
				used = true
			}
		}
		if !used {
			t.Errorf("%s %q: no example fits this row", f.country, f.name)
		}
	}
}

func TestCorrectPlate(t *testing.T) {
	cases := []struct {
		country, plate string
		want, how      string // how "" means unchanged
	}{
		// Fits already: kept, even holding confusable characters.
		{"DE", "BMW1234", "BMW1234", ""},
		{"DE", "BO1234", "BO1234", ""},
		{"IT", "AB123CD", "AB123CD", ""},
		// One confusion, undone where the format decides it.
		{"IT", "AB1O3CD", "AB103CD", "OCR O->0 at position 4"},
		{"FR", "AB12SCD", "AB125CD", "OCR S->5 at position 5"},
		{"FR", "A8123CD", "AB123CD", "OCR 8->B at position 2"},
		{"DE", "B01234", "BO1234", "OCR 0->O at position 2"},
		{"DE", "8MW1234", "BMW1234", "OCR 8->B at position 1"},
		{"PL", "WA1234O", "WA12340", "OCR O->0 at position 7"},
		{"PL", "WA1234S", "WA1234S", ""}, // S may follow the district
		{"ES", "1234BC2", "1234BCZ", "OCR 2->Z at position 7"},
		// Ambiguous: 1234BCD (since 2000) and I2348CD (provincial) both fit.
		{"ES", "I234BCD", "I234BCD", ""},
		{"CZ", "1AZ3456", "1AZ3456", ""}, // Z is a valid third character
		{"CZ", "1A2345S", "1A23455", "OCR S->5 at position 7"},
		{"NL", "BT12GS", "BT12GS", ""}, // S is an issued letter
		{"NL", "BT12GO", "BT12GO", ""}, // O->0 gives LLDDLD, no sidecode
		// Two confusions: the fewest changes that fit, if unique.
		{"IT", "AB1OOCD", "AB100CD", "OCR O->0 at position 4, O->0 at position 5"},
		// Ambiguous: "ABIO5" and "AB105" both fit DE; keep the read.
		{"DE", "AB1O5", "AB1O5", ""},
		// Nothing fits: keep the read.
		{"IT", "ABCDEFG", "ABCDEFG", ""},
		// Country not in the table: keep the read.
		{"US", "8OI5Z", "8OI5Z", ""},
		{"", "AB1O3CD", "AB1O3CD", ""},
	}
	for _, c := range cases {
		got, how := CorrectPlate(c.country, c.plate)
		if got != c.want || how != c.how {
			t.Errorf("CorrectPlate(%s, %s) = %q, %q; want %q, %q", c.country, c.plate, got, how, c.want, c.how)
		}
		if how != "" {
			if ok, _ := FitsPlateFormat(c.country, got); !ok {
				t.Errorf("%s %s: corrected value %s does not fit", c.country, c.plate, got)
			}
			if !strings.HasPrefix(how, "OCR ") {
				t.Errorf("%s %s: correction %q does not start with OCR", c.country, c.plate, how)
			}
		}
	}
}

func TestEachSubset(t *testing.T) {
	var got []string
	eachSubset(4, 2, func(idx []int) bool {
		got = append(got, string(rune('0'+idx[0]))+string(rune('0'+idx[1])))
		return true
	})
	want := "01 02 03 12 13 23"
	if strings.Join(got, " ") != want {
		t.Fatalf("subsets = %v, want %s", got, want)
	}
	n := 0
	eachSubset(5, 1, func([]int) bool { n++; return n < 3 })
	if n != 3 {
		t.Fatalf("eachSubset did not stop when asked: %d calls", n)
	}
}

func BenchmarkCorrectPlate(b *testing.B) {
	for _, c := range []struct{ name, country, plate string }{
		{"fits", "DE", "BMW1234"},
		{"one-fix", "IT", "AB1O3CD"},
		{"no-fit-12", "NL", "O0I1B8S5Z2OO"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				CorrectPlate(c.country, c.plate)
			}
		})
	}
}
