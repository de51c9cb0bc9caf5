package name

import (
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// weightedEditRef is the weighted edit distance written plainly, in
// floating point, as the similarity was first defined: the integer
// version must give the same results.
func weightedEditRef(a, b string, budget float64) float64 {
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 || float64(abs(la-lb)) > budget {
		return 0
	}
	indel := func(s string, i int) float64 {
		ch := s[i]
		if (i > 0 && s[i-1] == ch) || (i+1 < len(s) && s[i+1] == ch) {
			return 0.5
		}
		if ch == 'h' {
			return 0.6
		}
		return 1
	}
	subst := func(x, y byte) float64 {
		switch {
		case x == y:
			return 0
		case confusable[x-'a']&(1<<(y-'a')) != 0:
			return 0.6
		}
		return 1
	}
	d := make([][]float64, la+1)
	for i := range d {
		d[i] = make([]float64, lb+1)
		if i > 0 {
			d[i][0] = float64(i)
		}
	}
	for j := 1; j <= lb; j++ {
		d[0][j] = float64(j)
	}
	for i := 1; i <= la; i++ {
		for j := 1; j <= lb; j++ {
			v := min(d[i-1][j]+indel(a, i-1), d[i][j-1]+indel(b, j-1), d[i-1][j-1]+subst(a[i-1], b[j-1]))
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, d[i-2][j-2]+1)
			}
			d[i][j] = v
		}
	}
	if d[la][lb] > budget+1e-9 {
		return 0
	}
	return 1 - d[la][lb]/float64(max(la, lb)+2)
}

func TestWeightedEditMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	word := func() string {
		const letters = "aehiklmnoqrsuy"
		b := make([]byte, 3+rng.IntN(12))
		for i := range b {
			b[i] = letters[rng.IntN(len(letters))]
		}
		return string(b)
	}
	for k := 0; k < 20000; k++ {
		a := word()
		b := typo(rng, a) // mostly close pairs, where the budget matters
		if rng.IntN(4) == 0 {
			b = word()
		}
		b = strings.ToLower(b)
		if strings.ContainsFunc(b, func(r rune) bool { return r < 'a' || r > 'z' }) {
			continue
		}
		budget := float64(max(len(a), len(b))) / 2
		if rng.IntN(2) == 0 {
			budget = (1 - simFloor) * float64(max(len(a), len(b))+2)
		}
		got, want := weightedEditSimilarity(a, b, budget), weightedEditRef(a, b, budget)
		if math.Abs(got-want) > 1e-9 {
			t.Fatalf("weightedEditSimilarity(%q, %q, %.2f) = %.6f, definition gives %.6f", a, b, budget, got, want)
		}
	}
}
