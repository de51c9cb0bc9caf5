package name

import (
	"strconv"
	"strings"
	"unicode/utf8"
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
	// Appended by hand, not through fmt: every hit carries its
	// explanation, and formatting ten of them took a tenth of a name
	// check's CPU at 100M alerts. The text is the one fmt wrote
	// (TestExplanationTextUnchanged).
	b := make([]byte, 0, 160+96*len(x.Pairs)+96*len(x.Evidence))
	b = append(b, "alert name "...)
	b = strconv.AppendQuote(b, x.AlertName)
	b = append(b, " ("...)
	b = strconv.AppendInt(b, int64(x.NameIndex+1), 10)
	b = append(b, " of "...)
	b = strconv.AppendInt(b, int64(x.NameCount), 10)
	b = append(b, ")\n"...)
	for _, p := range x.Pairs {
		b = append(b, "  "...)
		b = padRight(b, p.Query, 20)
		b = append(b, " ~ "...)
		b = padRight(b, p.Alert, 20)
		b = append(b, ' ')
		b = padRight(b, p.Method.String(), 10)
		b = num(b, " similarity ", p.Similarity, 2)
		b = num(b, ", weight ", p.Weight, 2)
		b = append(b, '\n')
	}
	if len(x.ExtraQuery) > 0 {
		b = append(b, "  not in alert: "...)
		b = appendJoined(b, x.ExtraQuery)
		b = num(b, " (weight ", x.ExtraQW, 2)
		b = append(b, ")\n"...)
	}
	if len(x.ExtraAlert) > 0 {
		b = append(b, "  not in query: "...)
		b = appendJoined(b, x.ExtraAlert)
		b = num(b, " (weight ", x.ExtraAW, 2)
		b = append(b, ")\n"...)
	}
	b = append(b, "  "...)
	if x.Conflict > 0 {
		b = num(b, "left over on both sides (a conflict): ", x.Conflict, 2)
		b = append(b, "\n  "...)
	}
	b = num(b, "name: ", x.Weighted, 3)
	b = num(b, " / (", x.Matched, 3)
	if x.Conflict > 0 {
		b = num(b, " + ", conflictWeight, 2)
		b = num(b, " x ", x.Conflict, 3)
	}
	qw, aw := x.ExtraQW, x.ExtraAW
	if x.Conflict > 0 {
		qw, aw = max(0, x.ExtraQW-x.Conflict), max(0, x.ExtraAW-x.Conflict)
	}
	b = num(b, " + ", extraQuery, 2)
	b = num(b, " x ", qw, 3)
	b = num(b, " + ", extraAlert, 2)
	b = num(b, " x ", aw, 3)
	b = num(b, ") = ", x.NameBase, 3)
	if x.InfoFactor < 1 {
		b = num(b, ", x ", x.InfoFactor, 2)
		b = append(b, " for little distinctive information"...)
	}
	b = num(b, " = ", x.NameScore, 3)
	b = append(b, '\n')
	f, bonus := noEvidenceCeiling, 0.0
	for _, e := range x.Evidence {
		b = append(b, "  "...)
		b = append(b, e.Field...)
		b = append(b, ": query "...)
		b = append(b, e.Query...)
		b = append(b, ", alert "...)
		b = append(b, e.Alert...)
		b = append(b, ": "...)
		b = append(b, e.Effect...)
		if e.Factor != 1 {
			b = num(b, " (x ", e.Factor, 2)
			b = append(b, ')')
		}
		if e.Bonus != 0 {
			b = num(b, " (+", e.Bonus, 2)
			b = append(b, ')')
		}
		b = append(b, '\n')
		f *= e.Factor
		bonus += e.Bonus
	}
	b = num(b, "  score: ", x.NameScore, 3)
	b = num(b, " x (", f, 3)
	b = num(b, " + ", bonus, 2)
	b = num(b, ") = ", x.Score, 3)
	return string(b)
}

// num appends before, then v with prec decimals as fmt's %.Nf.
func num(b []byte, before string, v float64, prec int) []byte {
	return strconv.AppendFloat(append(b, before...), v, 'f', prec, 64)
}

// padRight appends s and spaces up to width characters, as fmt's %-Ns.
func padRight(b []byte, s string, width int) []byte {
	b = append(b, s...)
	for n := utf8.RuneCountInString(s); n < width; n++ {
		b = append(b, ' ')
	}
	return b
}

// appendJoined appends ss joined by spaces.
func appendJoined(b []byte, ss []string) []byte {
	for i, s := range ss {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, s...)
	}
	return b
}
