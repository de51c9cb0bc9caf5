package name

import (
	"fmt"
	"strings"
)

// TokenMatch is one aligned pair: query token(s) against alert token(s).
type TokenMatch struct {
	Query      string  // query token, or tokens joined by spaces for a merge
	Alert      string  // alert token, or tokens joined by spaces for a split
	Method     Method  // how they matched
	Similarity float64 // in [0, 1]
	Weight     float64 // the pair's weight in the name score (rarity and class)
}

// Explanation says why a match scored what it did: which tokens matched
// which and how, which were left over, what evidence was weighed, and the
// arithmetic from these to the score.
type Explanation struct {
	AlertName  string // the alert's name that matched best, normalised
	NameIndex  int    // its position among the alert's names (0 = primary)
	NameCount  int    // how many names the alert has
	Pairs      []TokenMatch
	ExtraQuery []string // query tokens with no partner in the alert name
	ExtraAlert []string // alert tokens with no partner in the query
	Evidence   []Evidence

	Matched    float64 // sum of pair weights
	Weighted   float64 // sum of pair weight x contribution(similarity)
	ExtraQW    float64 // weight of ExtraQuery
	ExtraAW    float64 // weight of ExtraAlert
	Conflict   float64 // tokens left over on both sides, counted by presence (see presence)
	NameBase   float64 // Weighted / (Matched + 2.5 Conflict + 0.5 (ExtraQW - Conflict) + 0.35 (ExtraAW - Conflict)), each difference at least 0
	InfoFactor float64 // min(1, matched information / needInfo)
	NameScore  float64 // NameBase x InfoFactor
	Score      float64 // NameScore x evidence, the final score
}

func explain(q, c []stok, chose []pairing, res nameResult, evid []Evidence, score float64, nameIdx, nameCount uint32) Explanation {
	x := Explanation{
		AlertName: joinStok(c), NameIndex: int(nameIdx), NameCount: int(nameCount),
		Evidence: evid, Matched: res.matched, ExtraQW: res.extraQ, ExtraAW: res.extraA, Conflict: res.conflict,
		NameBase: res.base, InfoFactor: res.infoFactor, NameScore: res.score, Score: score,
	}
	var usedQ, usedC uint32
	for _, p := range chose {
		wq := sumW(q[p.qi : p.qi+p.qn])
		wc := sumW(c[p.ci : p.ci+p.cn])
		pw := p.weight(wq, wc)
		x.Weighted += pw * contribution(p.sim)
		x.Pairs = append(x.Pairs, TokenMatch{
			Query: joinStok(q[p.qi : p.qi+p.qn]), Alert: joinStok(c[p.ci : p.ci+p.cn]),
			Method: p.method, Similarity: p.sim, Weight: pw,
		})
		usedQ |= runMask(p.qi, p.qn)
		usedC |= runMask(p.ci, p.cn)
	}
	for i := range q {
		if i < maxTokens && usedQ&(1<<i) == 0 {
			x.ExtraQuery = append(x.ExtraQuery, q[i].text)
		}
	}
	for j := range c {
		if j < maxTokens && usedC&(1<<j) == 0 {
			x.ExtraAlert = append(x.ExtraAlert, c[j].text)
		}
	}
	return x
}

func joinStok(ts []stok) string {
	parts := make([]string, len(ts))
	for i := range ts {
		parts[i] = ts[i].text
	}
	return strings.Join(parts, " ")
}

// String renders the explanation for an officer, one fact per line.
func (x Explanation) String() string {
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
