package name

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

type labelledCase struct {
	group, schema, name1, name2 string
	match                       bool
}

func loadCases(t *testing.T) []labelledCase {
	recs := readCSV(t, filepath.Join(dataDir(t, "namematch"), "cases.csv"))
	var out []labelledCase
	for _, r := range recs[1:] {
		out = append(out, labelledCase{group: r[0], schema: r[1], name1: r[2], name2: r[3], match: r[4] == "true"})
	}
	if len(out) != 826 {
		t.Fatalf("read %d cases, want 826", len(out))
	}
	return out
}

func schemaKind(s string) Kind {
	switch s {
	case "Person":
		return KindPerson
	case "Company", "Organization", "Vessel":
		return KindCompany
	}
	return KindUnknown
}

// backgroundIndex gives the scorer realistic token statistics: a list of
// generated names of many origins, as a post's replica would hold.
func backgroundIndex() *Index {
	ix := NewIndex(Options{})
	for _, e := range Generate(rand.New(rand.NewPCG(7, 7)), 20000) {
		ix.Add(e)
	}
	return ix
}

type prf struct{ p, r, f1 float64 }

func f1At(scores []float64, cases []labelledCase, th float64) prf {
	var tp, fp, fn float64
	for i, c := range cases {
		hit := scores[i] >= th
		switch {
		case hit && c.match:
			tp++
		case hit && !c.match:
			fp++
		case !hit && c.match:
			fn++
		}
	}
	p, r := tp/max(1, tp+fp), tp/max(1, tp+fn)
	return prf{p, r, 2 * p * r / max(1e-9, p+r)}
}

// TestCasesF1 scores OpenSanctions' 826 labelled name pairs and fails
// below F1 0.85 at DefaultThreshold (their production comparator: 0.79).
func TestCasesF1(t *testing.T) {
	cases := loadCases(t)
	ix := backgroundIndex()
	scores := make([]float64, len(cases))
	for i, c := range cases {
		k := schemaKind(c.schema)
		m := ix.Compare(Query{Kind: k, Name: c.name1}, Entry{ID: 1, Kind: k, Names: []string{c.name2}})
		scores[i] = m.Score
	}
	got := f1At(scores, cases, DefaultThreshold)
	t.Logf("at threshold %.2f: precision %.3f recall %.3f F1 %.3f", DefaultThreshold, got.p, got.r, got.f1)
	for th := 0.50; th < 0.95; th += 0.05 {
		x := f1At(scores, cases, th)
		t.Logf("  threshold %.2f: P %.3f R %.3f F1 %.3f", th, x.p, x.r, x.f1)
	}
	if got.f1 < 0.85 {
		t.Errorf("F1 %.3f below 0.85", got.f1)
	}
	if os.Getenv("NAME_CASES_DUMP") != "" {
		type row struct {
			s float64
			c labelledCase
		}
		var wrong []row
		for i, c := range cases {
			if (scores[i] >= DefaultThreshold) != c.match {
				wrong = append(wrong, row{scores[i], c})
			}
		}
		sort.Slice(wrong, func(i, j int) bool { return wrong[i].s > wrong[j].s })
		for _, w := range wrong {
			fmt.Printf("%.3f %v %s | %s | %s\n", w.s, w.c.match, w.c.schema, w.c.name1, w.c.name2)
		}
	}
}
