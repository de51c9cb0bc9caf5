package name

// The frozen evaluation protocol (README.md, "Evaluation protocol").
//
// Development set, on which the matcher may be tuned and whose misses may
// be read case by case: OFAC SDN 2021-07 and cases.csv. Test set, never
// looked at case by case: OFAC non-SDN 2025-12 and the BIS denied persons
// list 2022-09. Queries come from one generator, evalQuery, with the seed
// of the set (evalDevSeed, evalTestSeed). Nothing in this file prints a
// test-set name, query or miss: only aggregate figures.
//
//	go test -count=1 -run TestEvalProtocol -v ./agent/match/name
//
// prints the table; NAME_EVAL_BACKGROUND=1000000 puts each list inside
// that many generated alerts as well (slow: a build per list).

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/borderpost/borderpost/devices/ident"
)

// The seeds of the two sets. The test seed is used for nothing else: a
// change tuned with it in view would make the test set a development set.
const (
	evalDevSeed  = 2021_07
	evalTestSeed = 1812_2025
	// evalNegatives is the size of each negative set.
	evalNegatives = 10000
)

// listEntry is one watch-list entry with every name it is listed under.
type listEntry struct {
	entry   Entry
	aliases []string
}

func (l listEntry) names() []string {
	return append(append([]string{}, l.entry.Names...), l.aliases...)
}

// loadOFACList reads an OFAC legacy CSV list (SDN or consolidated
// non-SDN): entries with primary names, birth dates and nationalities
// from the remarks, and the strong aliases.
func loadOFACList(t testing.TB, sub, prim, alt string) []listEntry {
	dir := dataDir(t, sub)
	var out []listEntry
	pos := map[string]int{}
	for _, r := range readOFACCSV(t, filepath.Join(dir, prim)) {
		if len(r) < 12 {
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSpace(r[0]), 10, 32)
		if err != nil {
			t.Fatalf("%s: ent_num %q: %v", prim, r[0], err)
		}
		kind := KindCompany
		if ofacField(r[2]) == "individual" {
			kind = KindPerson
		}
		e := Entry{ID: uint32(id), Kind: kind, Names: []string{ofacField(r[1])}}
		if kind == KindPerson {
			e.BirthDate = remarksBirthDate(r[11])
			e.Nationalities = remarksNationalities(r[11])
		}
		pos[r[0]] = len(out)
		out = append(out, listEntry{entry: e})
	}
	for _, r := range readOFACCSV(t, filepath.Join(dir, alt)) {
		if len(r) < 4 {
			continue
		}
		if i, ok := pos[r[0]]; ok && ofacField(r[3]) != "" {
			out[i].aliases = append(out[i].aliases, ofacField(r[3]))
		}
	}
	return out
}

// remarksBirthDate reads the first "DOB 12 Mar 1961" of OFAC remarks.
func remarksBirthDate(remarks string) string {
	m := dobRe.FindStringSubmatch(remarks)
	if m == nil {
		return ""
	}
	d := m[3]
	if mo := months[m[2]]; mo != 0 {
		d += fmt.Sprintf("-%02d", mo)
		if m[1] != "" {
			day, _ := strconv.Atoi(m[1])
			d += fmt.Sprintf("-%02d", day)
		}
	}
	return d
}

var nationalityRe = regexp.MustCompile(`nationality ([A-Za-z ,'-]+?)(?:[;.]|$)`)

// remarksNationalities reads the "nationality Iran" items of OFAC remarks
// as alpha-2 codes; names not understood are left out.
func remarksNationalities(remarks string) []string {
	var out []string
	for _, m := range nationalityRe.FindAllStringSubmatch(remarks, -1) {
		if c, err := ident.ParseCountryName(m[1]); err == nil && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// loadDPL reads the BIS denied persons list: one entry per distinct name
// (the list repeats a name for each address). The list does not say
// whether a name is a person's or a company's, so entries and queries are
// of KindUnknown, as a screen of that list would have to be.
func loadDPL(t testing.TB) []listEntry {
	p := filepath.Join(dataDir(t, "ofac/bis_dpl_2022-09"), "dpl.txt")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.Comma = '\t'
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	seen := map[string]bool{}
	var out []listEntry
	for _, rec := range recs[1:] {
		nm := strings.TrimSpace(rec[0])
		key := strings.Join(Normalize(KindUnknown, nm), " ")
		if nm == "" || key == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, listEntry{entry: Entry{ID: uint32(len(out) + 1), Kind: KindUnknown, Names: []string{nm}}})
	}
	return out
}

// evalQuery makes one query for a listed entry, as a declaration or a
// travel document might write it. It is the protocol's only query
// generator, used with each set's own seed:
//
//   - the name is the primary name or one of the strong aliases, chosen
//     uniformly;
//   - one change to the name, and a second one in three queries out of
//     ten, each chosen uniformly among: a slipped letter anywhere,
//     including the first (replaced, dropped or added, a random letter
//     A-Z); two adjacent letters of one token transposed (tokens chosen
//     uniformly, so short tokens as often as long ones); one token
//     dropped (names of three tokens or more, else a slip); the tokens
//     reordered (a random permutation, "SURNAME, Given" read as two
//     tokens; names of two tokens or more, else a transposition);
//   - a listed birth date is kept (4 in 10), a year off either way (2 in
//     10), written with day and month swapped (2 in 10; a year off when
//     the date has no day or the swap would give the same date or an
//     impossible one), or missing (2 in 10);
//   - a listed nationality is given (the first one) or missing, one in
//     two.
func evalQuery(rng *rand.Rand, l listEntry) Query {
	q, _ := evalQueryClassed(rng, l)
	return q
}

// queryClass is what evalQuery did to one query, as its generator knows
// it: the name changes in the order made, what became of the listed birth
// date and of the nationality. The protocol breaks its misses down by
// these classes (aggregate counts only, for the test sets too).
type queryClass struct {
	changes []string
	date    string
	nat     string
}

// The name-change classes of queryClass.changes.
const (
	classSlipFirst  = "slip, first letter of a token"
	classSlipInside = "slip, inside a token"
	classSwapShort  = "transposition, token of 2-5 letters"
	classSwapLong   = "transposition, token of 6+ letters"
	classDropped    = "token dropped"
	classReordered  = "tokens reordered"
)

// evalQueryClassed is evalQuery that also says what it did. It draws from
// rng exactly as evalQuery always has, so the frozen queries are unchanged.
func evalQueryClassed(rng *rand.Rand, l listEntry) (Query, queryClass) {
	var qc queryClass
	names := l.names()
	q := Query{Kind: l.entry.Kind, Name: names[rng.IntN(len(names))]}
	q.Name = perturbName(rng, q.Name, &qc.changes)
	if rng.IntN(10) < 3 {
		q.Name = perturbName(rng, q.Name, &qc.changes)
	}
	qc.date = "no listed birth date"
	if d := parseBirthDate(l.entry.BirthDate); d.year != 0 {
		switch x := rng.IntN(10); {
		case x < 4:
			q.BirthDate = d.String()
			qc.date = "birth date kept"
		case x < 6 || (x < 8 && (d.day == 0 || d.day == d.month || d.day > 12)):
			d.year += 1 - 2*rng.IntN(2)
			q.BirthDate = d.String()
			qc.date = "birth date a year off"
		case x < 8:
			d.day, d.month = d.month, d.day
			q.BirthDate = d.String()
			qc.date = "birth date day/month swapped"
		default:
			qc.date = "birth date missing"
		}
	}
	qc.nat = "no listed nationality"
	if len(l.entry.Nationalities) > 0 {
		qc.nat = "nationality missing"
		if rng.IntN(2) == 0 {
			q.Nationality = l.entry.Nationalities[0]
			qc.nat = "nationality given"
		}
	}
	return q, qc
}

// perturbName applies one of evalQuery's name changes and appends its
// class to changes.
func perturbName(rng *rand.Rand, s string, changes *[]string) string {
	toks := strings.Fields(strings.ReplaceAll(s, ",", " "))
	op := rng.IntN(4)
	if op == 2 && len(toks) < 3 {
		op = 0
	}
	if op == 3 && len(toks) < 2 {
		op = 1
	}
	var class string
	for range 10 { // a slip may leave the name as it was ("LL" transposed)
		if out := perturbOp(rng, s, op, &class); out != s {
			*changes = append(*changes, class)
			return out
		}
	}
	return s
}

// perturbOp applies name change op (0 slip, 1 transposition, 2 dropped
// token, 3 reordered tokens) to s and sets class to what it did.
func perturbOp(rng *rand.Rand, s string, op int, class *string) string {
	toks := strings.Fields(strings.ReplaceAll(s, ",", " "))
	switch op {
	case 0: // a slipped letter anywhere
		b := []rune(s)
		var letters []int
		for i, c := range b {
			if unicode.IsLetter(c) {
				letters = append(letters, i)
			}
		}
		if len(letters) == 0 {
			return s
		}
		i := letters[rng.IntN(len(letters))]
		*class = classSlipInside
		if i == 0 || !unicode.IsLetter(b[i-1]) && !unicode.IsDigit(b[i-1]) && b[i-1] != '\'' {
			*class = classSlipFirst
		}
		c := rune('A' + rng.IntN(26))
		switch rng.IntN(3) {
		case 0:
			b[i] = c
		case 1:
			if len(letters) > 1 {
				b = append(b[:i], b[i+1:]...)
			}
		case 2:
			b = append(b[:i], append([]rune{c}, b[i:]...)...)
		}
		return string(b)
	case 1: // a transposition inside one token
		var long []int
		for i, t := range toks {
			if len([]rune(t)) >= 2 {
				long = append(long, i)
			}
		}
		if len(long) == 0 {
			return s
		}
		i := long[rng.IntN(len(long))]
		r := []rune(toks[i])
		j := rng.IntN(len(r) - 1)
		// The class counts the letters of the run swapped in ("EP-MOC"
		// is two tokens to the matcher, and its swap one of three letters).
		lo, hi := j, j+1
		for lo > 0 && isWordRune(r[lo-1]) {
			lo--
		}
		for hi+1 < len(r) && isWordRune(r[hi+1]) {
			hi++
		}
		r[j], r[j+1] = r[j+1], r[j]
		toks[i] = string(r)
		*class = classSwapShort
		if hi-lo+1 > 5 {
			*class = classSwapLong
		}
	case 2: // a dropped token
		i := rng.IntN(len(toks))
		toks = append(toks[:i], toks[i+1:]...)
		*class = classDropped
	case 3: // reordered tokens
		*class = classReordered
		orig := slices.Clone(toks)
		for slices.Equal(orig, toks) {
			rng.Shuffle(len(toks), func(i, j int) { toks[i], toks[j] = toks[j], toks[i] })
			if allSame(toks) {
				break
			}
		}
	}
	return strings.Join(toks, " ")
}

func isWordRune(c rune) bool { return unicode.IsLetter(c) || unicode.IsDigit(c) || c == '\'' }

func allSame(ts []string) bool {
	for _, t := range ts[1:] {
		if t != ts[0] {
			return false
		}
	}
	return true
}

// evalNegativeSet makes n generated queries none of whose names is, once
// normalised, a name of the list: a negative set sharing no entry with it.
// Each carries its generated birth date and nationality.
func evalNegativeSet(seed uint64, list []listEntry, n int) []Query {
	listed := map[string]bool{}
	for _, l := range list {
		for _, nm := range l.names() {
			listed[normKey(nm)] = true
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0xbad))
	var out []Query
	for len(out) < n {
		for _, e := range Generate(rng, n) {
			if len(out) == n || listed[normKey(e.Names[0])] {
				continue
			}
			nat := ""
			if len(e.Nationalities) > 0 {
				nat = e.Nationalities[0]
			}
			out = append(out, Query{Kind: e.Kind, Name: e.Names[0], BirthDate: e.BirthDate, Nationality: nat, Sex: e.Sex})
		}
	}
	return out
}

// normKey is a name's tokens as both normalisations see them, sorted.
func normKey(s string) string {
	t := Normalize(KindUnknown, s)
	sort.Strings(t)
	return strings.Join(t, " ")
}

// evalBackgroundID is added to the IDs of generated background entries;
// list entries are numbered below it.
const evalBackgroundID = 1 << 24

// listFigures are the aggregate figures of one list.
type listFigures struct {
	set, list        string
	entries, queries int
	hit, first       float64 // right entry among the hits at DefaultThreshold / first
	nameOnlyHit      float64 // same queries without birth date and nationality
	falseHit         float64 // negatives with any hit at DefaultThreshold
	// p50 and p99 of one search of the list's queries (with their birth
	// dates and nationalities): wall clock, and the searching thread's
	// CPU time, which waiting for a core does not inflate.
	wallP50, wallP99, cpuP50, cpuP99 time.Duration
	// byClass breaks the queries down by what the generator did to them
	// (classRows gives the order) and each miss by the stage it was lost at.
	byClass map[string]*classTally
}

// classTally counts the queries of one perturbation class and where the
// misses among them were lost.
type classTally struct {
	queries, hit int
	// retrieval: the right entry was never scored in full (not among the
	// candidates); retrievalWouldHit of those score at least the threshold
	// when compared directly, so retrieval alone lost them.
	retrieval, retrievalWouldHit int
	// scoring: scored in full, under the threshold.
	scoring int
	// rankedOut: at or above the threshold, cut by the limit of 10.
	rankedOut int
}

// classRows is the order of the breakdown's rows: all queries, then by
// name change (one change, or two), birth date and nationality.
var classRows = []string{
	"all queries",
	classSlipFirst, classSlipInside, classSwapShort, classSwapLong, classDropped, classReordered, "two changes",
	"birth date kept", "birth date a year off", "birth date day/month swapped", "birth date missing", "no listed birth date",
	"nationality given", "nationality missing", "no listed nationality",
}

// missStage says where the right entry of a missed query was lost:
// "retrieval" (never scored in full), "scoring" (under the threshold) or
// "ranked out" (at or above it but behind the limit), and for retrieval
// whether a direct comparison would have made it a hit.
func missStage(ix *Index, q Query, e Entry) (stage string, wouldHit bool) {
	all := ix.Search(q, 0, 1<<16)
	r := rankOf(all, e.ID)
	switch {
	case r == 0:
		return "retrieval", ix.Compare(q, e).Score >= DefaultThreshold
	case all[r-1].Score < DefaultThreshold:
		return "scoring", false
	default:
		return "ranked out", false
	}
}

// evalIndex indexes a list's entries, with all their names, inside
// background entries generated from seed (none when background is 0), as
// every run of the protocol and its tools does.
func evalIndex(list []listEntry, seed uint64, background int, opts Options) *Index {
	ix := NewIndex(opts)
	if background > 0 {
		for _, e := range Generate(rand.New(rand.NewPCG(seed, 0xb9)), background) {
			e.ID += evalBackgroundID
			ix.Add(e)
		}
	}
	for _, l := range list {
		e := l.entry
		e.Names = l.names()
		ix.Add(e)
	}
	return ix
}

// evalBackground is the count of generated alerts around each list that
// $NAME_EVAL_BACKGROUND asks for (0 when unset).
func evalBackground(t testing.TB) int {
	s := os.Getenv("NAME_EVAL_BACKGROUND")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		t.Fatalf("NAME_EVAL_BACKGROUND=%q: want a count of generated alerts", s)
	}
	return n
}

// evalList indexes a list (inside background generated entries, if any),
// asks one evalQuery per entry and the negative set.
func evalList(set, listName string, list []listEntry, seed uint64, background int, opts Options) listFigures {
	ix := evalIndex(list, seed, background, opts)
	f := listFigures{set: set, list: listName, entries: len(list)}
	rng := rand.New(rand.NewPCG(seed, 0x9e))
	var hit, first, nameOnly int
	var wall, cpu []time.Duration
	runtime.LockOSThread() // threadCPU times this thread
	defer runtime.UnlockOSThread()
	f.byClass = map[string]*classTally{}
	for _, l := range list {
		q, qc := evalQueryClassed(rng, l)
		f.queries++
		t0, c0 := time.Now(), threadCPU()
		ms := ix.Search(q, DefaultThreshold, 10)
		cpu, wall = append(cpu, threadCPU()-c0), append(wall, time.Since(t0))
		r := rankOf(ms, l.entry.ID)
		if r > 0 {
			hit++
		}
		nameClass := "two changes"
		if len(qc.changes) == 1 {
			nameClass = qc.changes[0]
		}
		var stage string
		var wouldHit bool
		if r == 0 {
			e := l.entry
			e.Names = l.names()
			stage, wouldHit = missStage(ix, q, e)
		}
		for _, c := range []string{"all queries", nameClass, qc.date, qc.nat} {
			ct := f.byClass[c]
			if ct == nil {
				ct = &classTally{}
				f.byClass[c] = ct
			}
			ct.queries++
			switch stage {
			case "":
				ct.hit++
			case "retrieval":
				ct.retrieval++
				if wouldHit {
					ct.retrievalWouldHit++
				}
			case "scoring":
				ct.scoring++
			default:
				ct.rankedOut++
			}
		}
		if r == 1 {
			first++
		}
		q.BirthDate, q.Nationality = "", ""
		if rankOf(ix.Search(q, DefaultThreshold, 10), l.entry.ID) > 0 {
			nameOnly++
		}
	}
	n := float64(f.queries)
	f.hit, f.first, f.nameOnlyHit = float64(hit)/n, float64(first)/n, float64(nameOnly)/n
	slices.Sort(wall)
	slices.Sort(cpu)
	if k := len(wall); k > 0 {
		f.wallP50, f.wallP99, f.cpuP50, f.cpuP99 = wall[k/2], wall[k*99/100], cpu[k/2], cpu[k*99/100]
	}
	neg := evalNegativeSet(seed, list, evalNegatives)
	falseHits := 0
	for _, q := range neg {
		// Only a hit on a listed entry is a false hit: the negatives and
		// the background come from one generator, whose namesakes are
		// real hits on each other.
		for _, m := range ix.Search(q, DefaultThreshold, 10) {
			if m.ID < evalBackgroundID {
				falseHits++
				break
			}
		}
	}
	f.falseHit = float64(falseHits) / float64(len(neg))
	return f
}

// crossValidatedF1 scores cases.csv by k-fold cross-validation: the
// threshold is chosen on k-1 folds (the F1-best of 0.40-0.95 by 0.01) and
// the fifth is scored at it; the counts of the held-out folds are pooled.
// It returns the pooled F1 and the thresholds chosen.
func crossValidatedF1(scores []float64, cases []labelledCase, k int, seed uint64) (float64, []float64) {
	idx := rand.New(rand.NewPCG(seed, 5)).Perm(len(cases))
	var tp, fp, fn float64
	var chosen []float64
	for fold := range k {
		var trainS, testS []float64
		var trainC, testC []labelledCase
		for j, i := range idx {
			if j%k == fold {
				testS, testC = append(testS, scores[i]), append(testC, cases[i])
			} else {
				trainS, trainC = append(trainS, scores[i]), append(trainC, cases[i])
			}
		}
		best, bestF := 0.0, -1.0
		for c := 40; c <= 95; c++ {
			th := float64(c) / 100
			if x := f1At(trainS, trainC, th); x.f1 > bestF {
				best, bestF = th, x.f1
			}
		}
		chosen = append(chosen, best)
		for i, c := range testC {
			hit := testS[i] >= best
			switch {
			case hit && c.match:
				tp++
			case hit && !c.match:
				fp++
			case !hit && c.match:
				fn++
			}
		}
	}
	p, r := tp/max(1, tp+fp), tp/max(1, tp+fn)
	return 2 * p * r / max(1e-9, p+r), chosen
}

// casesScores scores every pair of cases.csv as TestCasesF1 does.
func casesScores(cases []labelledCase, opts Options) []float64 {
	ix := NewIndex(opts)
	for _, e := range Generate(rand.New(rand.NewPCG(7, 7)), 20000) {
		ix.Add(e)
	}
	scores := make([]float64, len(cases))
	for i, c := range cases {
		k := schemaKind(c.schema)
		scores[i] = ix.Compare(Query{Kind: k, Name: c.name1}, Entry{ID: 1, Kind: k, Names: []string{c.name2}}).Score
	}
	return scores
}

// evalBars are the protocol's pass bars, set below the figures measured
// when they were fixed (README.md gives both and the margin), so that a
// rule changed on the development set cannot make the test figures fall
// unseen. The goals of issue 18 are higher where they are not reached.
var evalBars = map[string]listFigures{
	"dev/OFAC SDN 2021-07":            {hit: 0.885, falseHit: 0.008},
	"test/OFAC non-SDN 2025-12":       {hit: 0.83, falseHit: 0.005},
	"test/BIS denied persons 2022-09": {hit: 0.92, falseHit: 0.005},
}

// evalCasesBar is the pass bar of the cross-validated cases.csv F1.
const evalCasesBar = 0.85

// evalLists are the protocol's three lists, loaded.
type evalLists struct{ sdn, nonSDN, dpl []listEntry }

func loadEvalLists(t testing.TB) evalLists {
	return evalLists{
		sdn:    loadOFACList(t, "ofac/sdn_2021-07", "sdn.csv", "alt.csv"),
		nonSDN: loadOFACList(t, "ofac/non_sdn_2025-12", "cons_prim.csv", "cons_alt.csv"),
		dpl:    loadDPL(t),
	}
}

// evalAll runs the protocol with opts: the three lists' figures, the
// cross-validated cases.csv F1 and the thresholds it chose.
func evalAll(t *testing.T, background int, opts Options) ([]listFigures, float64, []float64) {
	return evalWith(t, loadEvalLists(t), loadCases(t), background, opts)
}

// evalSet is one list of the protocol, with the seed its queries and
// negatives are made from.
type evalSet struct {
	set, list, tag string // "dev" or "test", the list's name, a short tag
	entries        []listEntry
	seed           uint64
}

// sets returns the protocol's lists in its order: the development list,
// then the test lists. Every run of the protocol's queries takes them
// from here, so that none draws other queries than the table reports.
func (l evalLists) sets() []evalSet {
	return []evalSet{
		{"dev", "OFAC SDN 2021-07", "dev-sdn", l.sdn, evalDevSeed},
		{"test", "OFAC non-SDN 2025-12", "test-nonsdn", l.nonSDN, evalTestSeed},
		{"test", "BIS denied persons 2022-09", "test-bis", l.dpl, evalTestSeed},
	}
}

func evalWith(t *testing.T, l evalLists, cases []labelledCase, background int, opts Options) ([]listFigures, float64, []float64) {
	var figs []listFigures
	for _, s := range l.sets() {
		figs = append(figs, evalList(s.set, s.list, s.entries, s.seed, background, opts))
	}
	f1, ths := crossValidatedF1(casesScores(cases, opts), cases, 5, evalDevSeed)
	return figs, f1, ths
}

// TestEvalProtocol runs the frozen evaluation protocol and prints its
// table; it fails when a figure falls under its bar.
func TestEvalProtocol(t *testing.T) {
	background := evalBackground(t)
	figs, f1, ths := evalAll(t, background, Options{})

	var b strings.Builder
	fmt.Fprintf(&b, "\nthreshold %.2f, %d negatives per list, %d generated alerts around each list\n\n", DefaultThreshold, evalNegatives, background)
	b.WriteString("| set | list | entries | queries | right entry in hits | first | name only, in hits | false hits on negatives | search p50 / p99, wall (CPU) |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	us := func(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) }
	for _, f := range figs {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %.4f | %.4f | %.4f | %.2f %% | %s / %s µs (%s / %s) |\n", f.set, f.list, f.entries, f.queries, f.hit, f.first, f.nameOnlyHit, 100*f.falseHit,
			us(f.wallP50), us(f.wallP99), us(f.cpuP50), us(f.cpuP99))
	}
	fmt.Fprintf(&b, "\ncases.csv, 5-fold cross-validated F1: %.3f (thresholds chosen %v)\n", f1, ths)
	for _, f := range figs {
		writeBreakdown(&b, f)
	}
	atDefault := writeCurves(&b, loadEvalLists(t), background)
	t.Log(b.String())
	for i, f := range figs {
		// The curves make the protocol's queries: at the default
		// threshold they give its figure.
		if math.Abs(atDefault[i]-f.hit) > 1e-9 {
			t.Errorf("%s %s: the curve gives %.4f at the default threshold, the protocol %.4f", f.set, f.list, atDefault[i], f.hit)
		}
	}

	for _, f := range figs {
		bar := evalBars[f.set+"/"+f.list]
		if f.hit < bar.hit {
			t.Errorf("%s %s: right entry in hits %.4f under its bar %.2f", f.set, f.list, f.hit, bar.hit)
		}
		if f.falseHit > bar.falseHit {
			t.Errorf("%s %s: false hits %.4f above their bar %.3f", f.set, f.list, f.falseHit, bar.falseHit)
		}
	}
	if f1 < evalCasesBar {
		t.Errorf("cases.csv cross-validated F1 %.3f under its bar %.2f", f1, evalCasesBar)
	}
}

// curveThresholds are the thresholds of the operating curves.
var curveThresholds = []float64{0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70}

// writeCurves appends each list's operating curve: right entry in the hits
// and false hits on the negatives at each of curveThresholds, the list as a
// whole. It shows whether a goal is a matter of threshold or of what the
// engine separates; DefaultThreshold is never read off it (it is chosen on
// cases.csv), and no case is looked at. It returns each list's right-entry
// share at DefaultThreshold.
func writeCurves(b *strings.Builder, l evalLists, background int) []float64 {
	var atDefault []float64
	b.WriteString("\noperating curves (right entry in hits / false hits on negatives, by threshold):\n\n| list |")
	for _, th := range curveThresholds {
		fmt.Fprintf(b, " %.2f |", th)
	}
	b.WriteString("\n| --- |" + strings.Repeat(" --- |", len(curveThresholds)) + "\n")
	low := curveThresholds[0]
	for _, set := range l.sets() {
		ix := evalIndex(set.entries, set.seed, background, Options{})
		rng := rand.New(rand.NewPCG(set.seed, 0x9e)) // the queries evalList makes
		var right, neg []float64
		for _, le := range set.entries {
			q, _ := evalQueryClassed(rng, le)
			s := 0.0
			for _, m := range ix.Search(q, low, 10) {
				if m.ID == le.entry.ID {
					s = m.Score
				}
			}
			right = append(right, s)
		}
		for _, q := range evalNegativeSet(set.seed, set.entries, evalNegatives) {
			s := 0.0
			for _, m := range ix.Search(q, low, 10) {
				if m.ID < evalBackgroundID {
					s = max(s, m.Score)
				}
			}
			neg = append(neg, s)
		}
		share := func(xs []float64, th float64) float64 {
			n := 0
			for _, x := range xs {
				if x >= th {
					n++
				}
			}
			return float64(n) / float64(len(xs))
		}
		atDefault = append(atDefault, share(right, DefaultThreshold))
		fmt.Fprintf(b, "| %s %s |", set.set, set.list)
		for _, th := range curveThresholds {
			fmt.Fprintf(b, " %.3f / %.2f %% |", share(right, th), 100*share(neg, th))
		}
		b.WriteString("\n")
	}
	return atDefault
}

// TestEvalQuery checks the generator does what its contract says: every
// query differs from the listed name, and each kind of change occurs.
func TestEvalQuery(t *testing.T) {
	l := listEntry{entry: Entry{ID: 1, Kind: KindPerson, Names: []string{"KIM, Jong Un"}, BirthDate: "1984-01-08", Nationalities: []string{"KP"}}}
	rng := rand.New(rand.NewPCG(1, 2))
	dates := map[string]int{}
	var nat, reordered, dropped int
	for range 2000 {
		q := evalQuery(rng, l)
		if q.Name == "KIM, Jong Un" {
			t.Fatalf("query left the name unchanged")
		}
		dates[q.BirthDate]++
		if q.Nationality == "KP" {
			nat++
		}
		if strings.Fields(q.Name)[0] != "KIM," && !strings.HasPrefix(q.Name, "KIM ") && len(strings.Fields(q.Name)) == 3 {
			reordered++
		}
		if len(strings.Fields(q.Name)) == 2 {
			dropped++
		}
	}
	for _, d := range []string{"1984-01-08", "1983-01-08", "1985-01-08", "1984-08-01", ""} {
		if dates[d] == 0 {
			t.Errorf("birth date %q never generated: %v", d, dates)
		}
	}
	if nat == 0 || nat == 2000 || reordered == 0 || dropped == 0 {
		t.Errorf("nationality given %d, reordered %d, dropped %d of 2000", nat, reordered, dropped)
	}
}

func TestRemarksNationalities(t *testing.T) {
	got := remarksNationalities("DOB 1961; nationality Korea, North; nationality Iran.; nationality possibly Palestinian")
	if !slices.Equal(got, []string{"KP", "IR"}) {
		t.Errorf("got %v", got)
	}
}

// writeBreakdown prints a list's queries by perturbation class, each
// class's share in hits and where its misses were lost (counts of
// queries; aggregate only, so it may be printed for the test sets).
func writeBreakdown(b *strings.Builder, f listFigures) {
	fmt.Fprintf(b, "\n%s %s, by perturbation class (misses by stage: never a candidate / scored under %.2f / ranked out):\n\n", f.set, f.list, DefaultThreshold)
	b.WriteString("| class | queries | in hits | missed: retrieval (would hit if retrieved) | scoring | ranked out |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
	for _, c := range classRows {
		ct := f.byClass[c]
		if ct == nil {
			continue
		}
		fmt.Fprintf(b, "| %s | %d | %.4f | %d (%d) | %d | %d |\n", c, ct.queries, float64(ct.hit)/float64(ct.queries), ct.retrieval, ct.retrievalWouldHit, ct.scoring, ct.rankedOut)
	}
}
