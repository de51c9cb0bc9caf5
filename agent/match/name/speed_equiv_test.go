package name

import (
	"math/bits"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// equivQueries makes n queries from generated entries of entries: single
// names with a typo, reordered, and long names (two to four names run
// into one, of mixed kinds, searched as the kind of the first or as
// unknown), the shapes whose scoring the row cache and the lazy merges
// serve.
func equivQueries(rng *rand.Rand, entries []Entry, n int) []Query {
	qs := make([]Query, 0, n)
	pick := func() Entry { return entries[rng.IntN(len(entries))] }
	for len(qs) < n {
		e := pick()
		name := e.Names[rng.IntN(len(e.Names))]
		kind := e.Kind
		switch rng.IntN(4) {
		case 0:
			name = typo(rng, name)
		case 1:
			f := strings.Fields(name)
			rng.Shuffle(len(f), func(i, j int) { f[i], f[j] = f[j], f[i] })
			name = strings.Join(f, " ")
		case 2:
			for range 1 + rng.IntN(3) {
				name += " " + pick().Names[0]
			}
			name = typo(rng, name)
		}
		if rng.IntN(3) == 0 {
			kind = KindUnknown
		}
		q := Query{Kind: kind, Name: name}
		if rng.IntN(3) == 0 {
			q.BirthDate = e.BirthDate
		}
		qs = append(qs, q)
	}
	return qs
}

// TestRowCacheChangesNoResult searches thousands of generated queries,
// long names among them, inside a generated index with the search's row
// cache and without it (every token pair compared afresh, as before the
// cache): every result (IDs, order, scores, explanations) must be the
// same, at the default threshold and at 0.
func TestRowCacheChangesNoResult(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 300))
	entries := Generate(rng, 30_000)
	ix := NewIndex(Options{})
	for _, e := range entries {
		ix.Add(e)
	}
	// One token in names of both kinds, where kind-bound rules score it
	// otherwise (a plural in a company name, an initial in a person's),
	// searched as either kind: a row is the query against a token for
	// one kind.
	next := uint32(len(entries))
	for _, e := range []Entry{
		{Kind: KindCompany, Names: []string{"Lottery Partners Zenith"}},
		{Kind: KindPerson, Names: []string{"Lottery Zenith"}},
		{Kind: KindPerson, Names: []string{"Zenith Lottery"}},
		{Kind: KindCompany, Names: []string{"Zenith Lottery Group"}},
		{Kind: KindPerson, Names: []string{"Marek Zenith"}},
		{Kind: KindCompany, Names: []string{"Marek Zenith Works"}},
	} {
		next++
		e.ID = next
		ix.Add(e)
	}
	qs := append(equivQueries(rng, entries, 3000),
		Query{Name: "Lotteries Zenith"}, Query{Name: "Zenith Lotteries Partners"}, Query{Name: "M Zenith"}, Query{Name: "Zenith M Works"})
	for i, q := range qs {
		for _, th := range []float64{DefaultThreshold, 0} {
			ix.noRowCache = false
			got := ix.Search(q, th, 10)
			ix.noRowCache = true
			want := ix.Search(q, th, 10)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("query %d (kind %v, %d tokens) at threshold %.2f: with the row cache %v, without %v", i, q.Kind, len(Normalize(q.Kind, q.Name)), th, matchSummary(got), matchSummary(want))
			}
		}
	}
	ix.noRowCache = false
}

// matchSummary is what a failure message shows of matches: IDs and
// scores, no names.
func matchSummary(ms []Match) []struct {
	ID    uint32
	Score float64
} {
	out := make([]struct {
		ID    uint32
		Score float64
	}, len(ms))
	for i, m := range ms {
		out[i].ID, out[i].Score = m.ID, m.Score
	}
	return out
}

// mergesEager is scorer.merges as it was before it wrote a run out only
// once a token passed the filters: the reference the lazy one is held to.
func (sc *scorer) mergesEager(a, b []stok, swapped bool) {
	for i := 0; i+1 < len(a); i++ {
		for n := 2; n <= 3 && i+n <= len(a); n++ {
			start := len(sc.arena)
			for k := i; k < i+n; k++ {
				sc.arena = append(sc.arena, a[k].text...)
			}
			run := unsafe.String(&sc.arena[start], len(sc.arena)-start)
			var runMask uint32
			for k := i; k < i+n; k++ {
				runMask |= a[k].mask
			}
			for j := range b {
				t := b[j].text
				if !sameOnset(t[0], run[0]) || len(t) < len(run)-2 || len(t) > len(run)+2 {
					continue
				}
				if bits.OnesCount32(runMask^b[j].mask) > mergeLetterSlack {
					continue
				}
				s := 1.0
				if t != run {
					s = stringSimAtLeast(run, t, simFloor)
					if s < simFloor {
						continue
					}
					s = min(s, 0.97)
				}
				sc.pairs = append(sc.pairs, oriented(i, n, j, 1, MethodMerge, s, swapped))
			}
		}
	}
}

// TestMergesMatchEager holds merges to the eager reference on the token
// lists of generated names against their typo'd, split and run-together
// forms: the same pairs, in the same order (the scorer's sort is not
// stable, so order matters).
func TestMergesMatchEager(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 301))
	entries := Generate(rng, 5000)
	ix := NewIndex(Options{})
	for _, e := range entries[:2500] {
		ix.Add(e)
	}
	pairs := 0
	for _, q := range equivQueries(rng, entries, 4000) {
		qt := ix.queryTokens(normalize(ix.lx, q.Kind, q.Name), nil)
		other := entries[rng.IntN(len(entries))].Names[0]
		if rng.IntN(2) == 0 {
			// Split and joined forms of the query's own words.
			other = strings.ReplaceAll(typo(rng, q.Name), " ", "")
			if rng.IntN(2) == 0 {
				other = q.Name[:len(q.Name)/2] + " " + q.Name[len(q.Name)/2:]
			}
		}
		ct := ix.queryTokens(normalize(ix.lx, q.Kind, other), nil)
		if len(qt) == 0 || len(ct) == 0 {
			continue
		}
		for _, swapped := range []bool{false, true} {
			a, b := qt, ct
			if swapped {
				a, b = ct, qt
			}
			var lazy, eager scorer
			lazy.merges(a, b, swapped)
			eager.mergesEager(a, b, swapped)
			if !reflect.DeepEqual(lazy.pairs, eager.pairs) {
				t.Fatalf("merges of %d against %d tokens (swapped %v): %v, eager %v", len(a), len(b), swapped, lazy.pairs, eager.pairs)
			}
			pairs += len(lazy.pairs)
		}
	}
	if pairs == 0 {
		t.Fatal("no merge pair made: the test compares nothing")
	}
}

// TestEvidenceWithoutText holds the evidence Search weighs for ranking
// (no values' text) to the evidence of the explanations: the same fields,
// effects, factors and bonuses, in the same order.
func TestEvidenceWithoutText(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 303))
	entries := Generate(rng, 4000)
	weighed := 0
	for i, e := range entries {
		rec := entryRecord{id: e.ID, kind: e.Kind, birth: packDate(parseBirthDate(e.BirthDate)), nats: normCountries(e.Nationalities), sex: normSex(e.Sex)}
		o := entries[(i+1+rng.IntN(50))%len(entries)]
		birth := o.BirthDate
		if rng.IntN(2) == 0 {
			birth = e.BirthDate
			if d := parseBirthDate(birth); d.year != 0 && rng.IntN(2) == 0 {
				d.year += 1 - 2*rng.IntN(2)
				birth = d.String()
			}
		}
		nat := ""
		if len(o.Nationalities) > 0 {
			nat = o.Nationalities[0]
		}
		if len(e.Nationalities) > 0 && rng.IntN(2) == 0 {
			nat = e.Nationalities[0]
		}
		q := queryEvidence{birth: parseBirthDate(birth), nat: normCountry(nat), sex: normSex(o.Sex)}
		for _, off := range []RuleSet{0, RuleSet(0).With(RuleDateNear)} {
			full := weighEvidence(q, &rec, off, nil)
			bare := weighEvidenceText(q, &rec, off, nil, false)
			if len(full) != len(bare) {
				t.Fatalf("entry %d: %d pieces of evidence with text, %d without", i, len(full), len(bare))
			}
			for k := range full {
				f, b := full[k], bare[k]
				if f.Field != b.Field || f.Effect != b.Effect || f.Factor != b.Factor || f.Bonus != b.Bonus {
					t.Fatalf("entry %d, %s: with text %+v, without %+v", i, f.Field, f, b)
				}
			}
			if finalScore(0.8, full) != finalScore(0.8, bare) {
				t.Fatalf("entry %d: final scores differ", i)
			}
			weighed += len(full)
		}
	}
	if weighed == 0 {
		t.Fatal("no evidence weighed: the test compares nothing")
	}
}

// TestLetterSetBoundsEdits checks the lemma neighbours' filter rests on:
// tokens within k edits (OSA) have letter sets differing in at most 2k
// letters, digits folded as letterMask folds them.
func TestLetterSetBoundsEdits(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 304))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	checked := 0
	for range 200000 {
		a := make([]byte, 1+rng.IntN(12))
		for i := range a {
			a[i] = alphabet[rng.IntN(len(alphabet))]
		}
		b := []byte(typo(rng, string(a)))
		for i := range b {
			if b[i] >= 'A' && b[i] <= 'Z' {
				b[i] += 'a' - 'A'
			}
		}
		for k := 1; k <= 2; k++ {
			if osaDistance(string(a), string(b), k) <= k {
				checked++
				if d := bits.OnesCount32(letterMask(string(a)) ^ letterMask(string(b))); d > 2*k {
					t.Fatalf("%q and %q: within %d edits, letter sets differ in %d", a, b, k, d)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no pair within the edits: the test checks nothing")
	}
}
