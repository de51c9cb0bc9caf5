package name

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestJellyfish reproduces jellyfish's published reference values.
func TestJellyfish(t *testing.T) {
	dir := dataDir(t, "namematch/jellyfish")
	float := map[string]func(a, b string) float64{
		"jaro_distance.csv":        Jaro,
		"jaro_winkler.csv":         JaroWinkler,
		"jaro_winkler_longtol.csv": JaroWinklerLongTolerance,
		"levenshtein.csv":          func(a, b string) float64 { return float64(Levenshtein(a, b)) },
		"damerau_levenshtein.csv":  func(a, b string) float64 { return float64(DamerauLevenshtein(a, b)) },
	}
	n := 0
	for file, fn := range float {
		for _, rec := range readCSV(t, filepath.Join(dir, file)) {
			want, err := strconv.ParseFloat(rec[2], 64)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			got := fn(rec[0], rec[1])
			// jellyfish's own tests accept a difference below 0.001.
			if math.Abs(got-want) >= 0.001 {
				t.Errorf("%s(%q, %q) = %.4f, want %.3f", file, rec[0], rec[1], got, want)
			}
			n++
		}
	}
	if n < 40 {
		t.Fatalf("only %d reference values read", n)
	}
}

func TestOSADistanceBudget(t *testing.T) {
	cases := []struct {
		a, b   string
		budget int
		want   int
	}{
		{"martha", "marhta", 1, 1},
		{"kitten", "sitting", 3, 3},
		{"kitten", "sitting", 1, 2},
		{"abc", "abc", 0, 0},
		{"abcdef", "ab", 2, 3},
	}
	for _, c := range cases {
		if got := osaDistance(c.a, c.b, c.budget); got != c.want {
			t.Errorf("osaDistance(%q,%q,%d) = %d, want %d", c.a, c.b, c.budget, got, c.want)
		}
	}
}

func TestWeightedEditCheapConfusions(t *testing.T) {
	// A vowel swap or a doubled letter costs less than an unrelated letter.
	vowel := weightedEditSimilarity("mohammed", "muhammed", 3)
	other := weightedEditSimilarity("mohammed", "mokammed", 3)
	double := weightedEditSimilarity("mohammed", "mohamed", 3)
	if !(vowel > other && double > other) {
		t.Errorf("vowel %.3f, double %.3f, unrelated %.3f: confusable edits should cost less", vowel, double, other)
	}
	if s := weightedEditSimilarity("abcdefgh", "stuvwxyz", 2); s != 0 {
		t.Errorf("over budget gave %.3f, want 0", s)
	}
}
