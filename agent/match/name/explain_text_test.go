package name

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// explanationByFmt is Explanation.String as it was written with fmt: the
// reference the hand-appended text must equal, character for character
// (the officer's page, the audit and central read it).
func explanationByFmt(x Explanation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "alert name %q (%d of %d)\n", x.AlertName, x.NameIndex+1, x.NameCount)
	for _, p := range x.Pairs {
		fmt.Fprintf(&b, "  %-20s ~ %-20s %-10s similarity %.2f, weight %.2f\n", p.Query, p.Alert, p.Method, p.Similarity, p.Weight)
	}
	if len(x.ExtraQuery) > 0 {
		fmt.Fprintf(&b, "  not in alert: %s (weight %.2f)\n", strings.Join(x.ExtraQuery, " "), x.ExtraQW)
	}
	if len(x.ExtraAlert) > 0 {
		fmt.Fprintf(&b, "  not in query: %s (weight %.2f)\n", strings.Join(x.ExtraAlert, " "), x.ExtraAW)
	}
	if x.Conflict > 0 {
		fmt.Fprintf(&b, "  left over on both sides (a conflict): %.2f\n", x.Conflict)
		fmt.Fprintf(&b, "  name: %.3f / (%.3f + %.2f x %.3f + %.2f x %.3f + %.2f x %.3f) = %.3f", x.Weighted, x.Matched,
			conflictWeight, x.Conflict, extraQuery, max(0, x.ExtraQW-x.Conflict), extraAlert, max(0, x.ExtraAW-x.Conflict), x.NameBase)
	} else {
		fmt.Fprintf(&b, "  name: %.3f / (%.3f + %.2f x %.3f + %.2f x %.3f) = %.3f", x.Weighted, x.Matched, extraQuery, x.ExtraQW, extraAlert, x.ExtraAW, x.NameBase)
	}
	if x.InfoFactor < 1 {
		fmt.Fprintf(&b, ", x %.2f for little distinctive information", x.InfoFactor)
	}
	fmt.Fprintf(&b, " = %.3f\n", x.NameScore)
	f, bonus := noEvidenceCeiling, 0.0
	for _, e := range x.Evidence {
		fmt.Fprintf(&b, "  %s: query %s, alert %s: %s", e.Field, e.Query, e.Alert, e.Effect)
		if e.Factor != 1 {
			fmt.Fprintf(&b, " (x %.2f)", e.Factor)
		}
		if e.Bonus != 0 {
			fmt.Fprintf(&b, " (+%.2f)", e.Bonus)
		}
		b.WriteByte('\n')
		f *= e.Factor
		bonus += e.Bonus
	}
	fmt.Fprintf(&b, "  score: %.3f x (%.3f + %.2f) = %.3f", x.NameScore, f, bonus, x.Score)
	return b.String()
}

// The explanation reads as it did when fmt wrote it, for searches of
// every kind: conflicts, extra tokens, little information, evidence.
func TestExplanationTextUnchanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	es := Generate(rng, 3000)
	ix := NewIndex(Options{})
	for i, e := range es {
		e.ID = uint32(i + 1)
		ix.Add(e)
	}
	n := 0
	for i, e := range es[:600] {
		q := Query{Kind: e.Kind, Name: e.Names[0]}
		switch i % 4 {
		case 1:
			q.Name = strings.ToUpper(q.Name) + " Kelvo"
		case 2:
			q.BirthDate, q.Nationality = "1970-01-02", "DE"
		case 3:
			toks := strings.Fields(q.Name)
			q.Name = strings.Join(toks[:max(1, len(toks)-1)], " ") + " Zorvani"
		}
		for _, m := range ix.Search(q, 0.3, 5) {
			n++
			if got, want := m.Explanation.String(), explanationByFmt(m.Explanation); got != want {
				t.Fatalf("query %+v:\n got %q\nwant %q", q, got, want)
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d explanations compared", n)
	}
	x := Explanation{AlertName: "Ünïcode \"q\"", Pairs: []TokenMatch{{Query: "ščř", Alert: "scr", Method: MethodFuzzy, Similarity: -0.004, Weight: 1}},
		ExtraQuery: []string{"a", "b"}, ExtraAlert: []string{"c"}, Conflict: 0.5, InfoFactor: 0.5,
		Evidence: []Evidence{{Field: "birth date", Query: "1970", Alert: "1971", Effect: "near", Factor: 0.97, Bonus: 0.01}}}
	if got, want := x.String(), explanationByFmt(x); got != want {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
	_ = fmt.Sprint
}
