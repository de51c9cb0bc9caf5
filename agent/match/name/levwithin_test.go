package name

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestLevenshteinWithin holds the banded, bounded Levenshtein to
// min(Levenshtein, budget+1), which osaDistance returned for strings over
// 32 bytes before it: legal phrases with slips, random strings, every
// budget from -1 to 6.
func TestLevenshteinWithin(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 302))
	lx := defaultLexicon()
	var phrases []string
	for _, ps := range lx.legalPhrases {
		phrases = append(phrases, ps...)
	}
	if len(phrases) == 0 {
		t.Fatal("the lexicon holds no legal phrase")
	}
	mutate := func(s string) string {
		for range rng.IntN(5) {
			s = strings.ToLower(typo(rng, s))
		}
		return s
	}
	random := func() string {
		b := make([]byte, rng.IntN(90))
		for i := range b {
			b[i] = "abcdeo "[rng.IntN(7)]
		}
		return string(b)
	}
	for range 20000 {
		var a, b string
		if rng.IntN(3) > 0 {
			p := phrases[rng.IntN(len(phrases))]
			a, b = mutate(p), phrases[rng.IntN(len(phrases))]
			if rng.IntN(2) == 0 {
				b = p
			}
		} else {
			a = random()
			b = mutate(a)
			if rng.IntN(3) == 0 {
				b = random()
			}
		}
		for budget := -1; budget <= 6; budget++ {
			want := min(Levenshtein(a, b), budget+1)
			if got := levenshteinWithin(a, b, budget); got != want {
				t.Fatalf("levenshteinWithin(%q, %q, %d) = %d, want %d", a, b, budget, got, want)
			}
			if len(a) > 32 || len(b) > 32 {
				if got := osaDistance(a, b, budget); got != want {
					t.Fatalf("osaDistance(%q, %q, %d) = %d, want %d", a, b, budget, got, want)
				}
			}
		}
	}
}
