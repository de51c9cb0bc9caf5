package name

import (
	"cmp"
	"math/bits"
	"slices"
	"strings"
	"unsafe"
)

// letterMask is the set of letters of an ASCII token, digits folded onto
// the last bits.
func letterMask(t string) uint32 {
	var m uint32
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'a' && c <= 'z':
			m |= 1 << (c - 'a')
		case c >= '0' && c <= '9':
			m |= 1 << (26 + (c-'0')%6)
		}
	}
	return m
}

// mayHoldDigraph says from a token's letter set whether it can hold one
// of the digraphs of RuleDigraphs (kh, ks, dj, dzh): most tokens cannot,
// and the test spares a scan of both tokens for every pair compared.
func mayHoldDigraph(m uint32) bool {
	const k, h, s, d, j = 1 << ('k' - 'a'), 1 << ('h' - 'a'), 1 << ('s' - 'a'), 1 << ('d' - 'a'), 1 << ('j' - 'a')
	return m&k != 0 && m&(h|s) != 0 || m&d != 0 && m&(j|h) != 0
}

// Method says how a query token was matched to an alert token.
type Method uint8

// The ways two tokens (or runs of tokens) can match, strongest first.
const (
	MethodExact         Method = iota + 1 // the same normalised token
	MethodVariant                         // the same name-variant group (Mohammed / Muhammad)
	MethodMerge                           // tokens written together on one side ("Abdul Rahman" / "Abdulrahman")
	MethodFuzzy                           // similar spelling (Jaro-Winkler or weighted edit distance)
	MethodSkeleton                        // similar spelling with the same consonant skeleton
	MethodInitial                         // an initial standing for a given name
	MethodLegalForm                       // two different legal forms (one class)
	MethodInflection                      // a word and its plural in a company name ("Lottery" / "Lotteries")
	MethodAcronym                         // initials standing for the words of a company name ("IRISL")
	MethodAbbreviation                    // leading letters of a company name's words joined ("COMECARNES")
	MethodTranscription                   // a Latin name as a Cyrillic document writes it (Валид / Waleed: RuleCyrillicReadings)
)

// String names the method for explanations.
func (m Method) String() string {
	switch m {
	case MethodExact:
		return "exact"
	case MethodVariant:
		return "variant"
	case MethodMerge:
		return "merge"
	case MethodFuzzy:
		return "fuzzy"
	case MethodSkeleton:
		return "skeleton"
	case MethodInitial:
		return "initial"
	case MethodLegalForm:
		return "legal form"
	case MethodInflection:
		return "inflection"
	case MethodAcronym:
		return "acronym"
	case MethodAbbreviation:
		return "abbreviation"
	case MethodTranscription:
		return "transcription"
	}
	return "none"
}

// Scoring constants, set on the labelled cases and the OFAC evaluation
// (README.md says how).
const (
	simFloor       = 0.78 // token pairs below this similarity are weak
	weakFloor      = 0.58 // token pairs below this similarity do not match
	weakShare      = 0.5  // what a weak pair earns at most, relative to a strong one
	variantSim     = 0.92 // same variant group
	initialSim     = 0.9  // "V" for "Vladimir"
	legalClassSim  = 0.8  // "Ltd" against "LLC"
	inflectionSim  = 0.95 // "Lottery" against "Lotteries", in company names
	syllableSim    = 0.88 // one East Asian syllable in two romanisations (Chol / Cheol)
	skeletonFloor  = 0.75 // at least, two names with the same consonants (Menhem / Munim)
	articleSim     = 0.95 // a name and the same with its article joined (Sharif / Elsharif)
	extraQuery     = 0.5  // weight of a query token the alert lacks
	extraAlert     = 0.35 // weight of an alert token the query lacks
	conflictWeight = 2.5  // weight of tokens left over on both sides
	presenceFloor  = 0.6  // least weight of a name token in a conflict
	needInfo       = 1.0  // matched weight a name needs to score in full
	maxTokens      = 24   // tokens per name considered by the scorer
)

// stok is a token prepared for scoring.
type stok struct {
	text  string
	mask  uint32 // the set of letters (and digits, folded) in text
	skel  string
	group uint32
	syl   uint64 // syllableCode(text)
	class tokenClass
	cyr   bool // a query token written in Cyrillic (RuleCyrillicReadings)
	w     float64
	vid   uint32 // vocabulary id + 1 of an indexed name's token; 0 for query tokens
}

// pairing is one aligned pair of token runs.
type pairing struct {
	qi, qn, ci, cn uint8
	method         Method
	sim            float64
}

// weight is what a chosen pair weighs, given the weights of its query
// and alert runs: their mean, or the lesser for an initial or an acronym,
// which stand for words without spelling them.
func (p pairing) weight(wq, wc float64) float64 {
	if p.method == MethodInitial || p.method == MethodAcronym || p.method == MethodAbbreviation {
		return min(wq, wc)
	}
	return (wq + wc) / 2
}

// scorer holds the reusable buffers of one search.
type scorer struct {
	off RuleSet // rules switched off (Options.Disable)
	// rows, when set, holds the tokSim rows of alert tokens already met
	// in this search (Search sets it; Compare scores one pair and does
	// without).
	rows  *rowCache
	grid  []simCell // tokSim outcomes of this pair, alert token by alert token
	arena []byte
	pairs []pairing
	chose []pairing
}

// contribution maps a similarity to what it adds to the score: exact
// pairs count fully, weaker ones fall off steeply.
func contribution(sim float64) float64 {
	if sim < simFloor {
		// A weak pair (a badly typed token) earns little, but it is not
		// the conflict an unmatched pair would be.
		return sim * sim * (sim - weakFloor) / (simFloor - weakFloor) * weakShare
	}
	return sim * sim
}

// tokSim compares two single tokens.
func tokSim(a, b *stok, kind Kind, off RuleSet) (float64, Method) {
	if a.text == b.text {
		return 1, MethodExact
	}
	if a.class == classLegal && b.class == classLegal {
		if off.Has(RuleLegalForms) {
			return 0, 0
		}
		return legalClassSim, MethodLegalForm
	}
	if a.class == classLegal || b.class == classLegal || a.class == classNumber || b.class == classNumber {
		return 0, 0
	}
	if a.group != 0 && a.group == b.group && !off.Has(RuleVariants) {
		return variantSim, MethodVariant
	}
	if kind != KindCompany && !off.Has(RuleInitials) {
		if a.class == classInitial && len(b.text) > 1 && b.class != classParticle && b.text[0] == a.text[0] {
			return initialSim, MethodInitial
		}
		if b.class == classInitial && len(a.text) > 1 && a.class != classParticle && a.text[0] == b.text[0] {
			return initialSim, MethodInitial
		}
	}
	if kind == KindCompany && !off.Has(RuleInflections) && (inflects(a.text, b.text) || inflects(b.text, a.text)) {
		return inflectionSim, MethodInflection
	}
	if kind != KindCompany && a.syl != 0 && a.syl == b.syl && !off.Has(RuleSyllables) {
		// At least syllableSim: a rule must not score a pair lower than
		// their spelling does (Chol / Cheol are 0.92 as strings).
		return max(syllableSim, stringSimAtLeast(a.text, b.text, syllableSim)), MethodVariant
	}
	if kind != KindCompany && !off.Has(RuleArticles) && (len(a.text) == len(b.text)+2 || len(b.text) == len(a.text)+2) {
		// The article joined on one side (Elsharif, Sharif).
		if n, ok := articleJoined(a.text); ok && n == b.text {
			return articleSim, MethodMerge
		}
		if n, ok := articleJoined(b.text); ok && n == a.text {
			return articleSim, MethodMerge
		}
	}
	if !off.Has(RuleTranspositions) && transposed(a.text, b.text) {
		return transpositionSim, MethodFuzzy
	}
	dsim := 0.0
	if !off.Has(RuleDigraphs) && (mayHoldDigraph(a.mask) || mayHoldDigraph(b.mask)) {
		if dsim = digraphTokSim(a.text, b.text); dsim == digraphSim {
			return digraphSim, MethodVariant
		}
	}
	if (a.cyr || b.cyr) && a.class == className && b.class == className && !off.Has(RuleCyrillicReadings) {
		csim := cyrTokSim(a.text, b.text)
		if csim == cyrReadingSim {
			return cyrReadingSim, MethodTranscription
		}
		dsim = max(dsim, csim)
	}
	// One slip changes at most two letters of the letter sets: most pairs
	// end at that test.
	if !off.Has(RuleShortSlips) && a.class == className && b.class == className && bits.OnesCount32(a.mask^b.mask) <= 2 && shortSlip(a.text, b.text) {
		sim := max(shortSlipSim, stringSimAtLeast(a.text, b.text, weakFloor))
		if a.skel == b.skel && len(a.skel) >= 3 && !off.Has(RuleSkeletons) {
			return min(0.95, sim+0.04), MethodSkeleton
		}
		return sim, MethodFuzzy
	}
	sameSkel := a.skel == b.skel && len(a.skel) >= 3 && !off.Has(RuleSkeletons)
	// Arabic and Persian names are written without their vowels: in a
	// person's name the same consonants in the same order are one name
	// however the vowels were guessed (Menhem, Munim).
	vowelsGuessed := sameSkel && kind != KindCompany
	// Tokens sharing less than half their letters are strangers: skip
	// the string similarity (most pairs of a candidate end here).
	if 2*bits.OnesCount32(a.mask&b.mask) < bits.OnesCount32(a.mask|b.mask) && !vowelsGuessed {
		if dsim < simFloor {
			return 0, 0
		}
		return dsim, MethodFuzzy
	}
	sim := max(stringSimAtLeast(a.text, b.text, weakFloor), dsim)
	switch {
	case vowelsGuessed:
		return max(skeletonFloor, min(0.95, sim+0.04)), MethodSkeleton
	case sim < weakFloor, sim < simFloor && off.Has(RuleWeakPairs):
		return 0, 0
	case sameSkel:
		return min(0.95, sim+0.04), MethodSkeleton
	}
	return sim, MethodFuzzy
}

// inflects says whether long is short's plural by a rule that English,
// French, Spanish and Portuguese share: -s, -es, or -y to -ies. Company
// names are written in the singular and the plural alike ("Lottery",
// "Lotteries"; "Comunicacion", "Comunicaciones"); the edit distance of
// such a pair is too large for a word that means the same. Stems under
// four letters are left to the edit distance.
func inflects(long, short string) bool {
	n, m := len(long), len(short)
	if m < 4 || n <= m || n > m+2 || long[0] != short[0] {
		return false
	}
	switch {
	case n == m+1:
		if long[n-1] == 's' && long[:m] == short {
			return short[m-1] != 's'
		}
		return false
	case strings.HasSuffix(long, "es") && long[:m] == short:
		return true
	case strings.HasSuffix(long, "ies") && short[m-1] == 'y' && long[:n-3] == short[:m-1]:
		return true
	}
	return false
}

// stringSim is Jaro-Winkler for short tokens and a budgeted weighted edit
// distance for long ones (where Jaro-Winkler is too generous to distinct
// names sharing a prefix); tokens of three letters or fewer must be equal.
func stringSimAtLeast(a, b string, floor float64) float64 {
	la, lb := len(a), len(b)
	m := max(la, lb)
	switch {
	case min(la, lb) <= 1 || (min(la, lb) == 2 && m > 3):
		return 0
	case m <= 5:
		return jaroWinklerASCII(a, b)
	}
	// Jaro-Winkler is cheap and never far below the edit similarity of
	// tokens this close: use it to skip the edit distance for strangers.
	if jaroWinklerASCII(a, b) < 0.65 {
		return 0
	}
	budget := float64(m) / 2
	if floor > 0 {
		// 1 - cost/(m+2) >= floor
		budget = min(budget, (1-floor)*float64(m+2))
	}
	return weightedEditSimilarity(a, b, budget)
}

// mergeLenSlots is how many token lengths merges files b's tokens
// under; longer tokens are compared with every run.
const mergeLenSlots = 64

// mergeLetterSlack is how many letters may be in one side's letter set
// and not the other's for a merge to be worth the edit distance
// ("abd al razziq" and "abdelrazik" differ by q, e and k).
const mergeLetterSlack = 3

// jaroWinklerASCII is JaroWinkler on byte strings (normalised tokens are
// ASCII), without allocating.
func jaroWinklerASCII(a, b string) float64 {
	if a == "" || b == "" {
		return 0
	}
	return jaroWinkler(unsafe.Slice(unsafe.StringData(a), len(a)), unsafe.Slice(unsafe.StringData(b), len(b)), true, false)
}

// nameResult is the outcome of scoring one name pair.
type nameResult struct {
	score      float64
	base       float64 // weighted similarity before the information factor
	infoFactor float64
	matched    float64 // weight of the matched pairs
	conflict   float64 // weight of query and alert tokens left over on both sides
	extraQ     float64 // weight of unmatched query tokens
	extraA     float64 // weight of unmatched alert tokens
	info       float64
}

// score aligns query tokens q with alert tokens c, independent of order,
// with merges and splits of up to three adjacent tokens, and returns the
// name score in [0, 1]. The chosen pairs stay in sc.chose.
func (sc *scorer) score(q, c []stok, kind Kind) nameResult {
	if len(q) > maxTokens {
		q = q[:maxTokens]
	}
	if len(c) > maxTokens {
		c = c[:maxTokens]
	}
	sc.pairs = sc.pairs[:0]
	sc.arena = sc.arena[:0]
	var exactQ, exactC uint32   // tokens with an exact partner
	var strongQ, strongC uint32 // tokens with a partner of simFloor or more
	// The outcomes are gathered alert token by alert token (a row per
	// alert token, reused from the search's cache when the token was met
	// in an earlier candidate), then read in the order they were always
	// appended, query token by query token: the sort below is not
	// stable, so the order of equal pairs must not change.
	nq := len(q)
	sc.grid = sc.grid[:0]
	for j := range c {
		if sc.rows != nil && c[j].vid != 0 && nq > 0 && len(sc.rows.q) >= nq && &sc.rows.q[0] == &q[0] {
			sc.grid = append(sc.grid, sc.rows.row(&c[j], c[j].vid, kind, sc.off)[:nq]...)
			continue
		}
		for i := range q {
			s, m := tokSim(&q[i], &c[j], kind, sc.off)
			sc.grid = append(sc.grid, simCell{sim: s, method: m})
		}
	}
	for i := range q {
		for j := range c {
			if cell := sc.grid[j*nq+i]; cell.sim >= weakFloor {
				s, m := cell.sim, cell.method
				sc.pairs = append(sc.pairs, pairing{qi: uint8(i), qn: 1, ci: uint8(j), cn: 1, method: m, sim: s})
				if m == MethodExact {
					exactQ |= 1 << i
					exactC |= 1 << j
				}
				if s >= simFloor {
					strongQ |= 1 << i
					strongC |= 1 << j
				}
			}
		}
	}
	// Merges and splits: a run of 2 or 3 tokens on one side against one
	// token on the other, compared as written together.
	if !sc.off.Has(RuleMerges) {
		sc.merges(q, c, false)
		sc.merges(c, q, true)
		sc.resplits(q, c, exactQ, exactC)
	}
	switch {
	case kind == KindCompany && sc.off.Has(RuleAcronyms), kind != KindCompany && sc.off.Has(RuleCompounds):
	case kind == KindCompany:
		// A word with a partner spelt like it is that word, not an
		// abbreviation of several.
		sc.acronyms(q, c, strongQ, false)
		sc.acronyms(c, q, strongC, true)
	default:
		sc.compounds(q, c, false)
		sc.compounds(c, q, true)
	}
	slices.SortFunc(sc.pairs, func(a, b pairing) int {
		return cmp.Or(cmp.Compare(b.sim, a.sim), int(b.qn+b.cn)-int(a.qn+a.cn))
	})
	var usedQ, usedC uint32
	sc.chose = sc.chose[:0]
	var r nameResult
	var num float64
	for _, p := range sc.pairs {
		mq := runMask(p.qi, p.qn)
		mc := runMask(p.ci, p.cn)
		if usedQ&mq != 0 || usedC&mc != 0 {
			continue
		}
		usedQ |= mq
		usedC |= mc
		sc.chose = append(sc.chose, p)
		wq := sumW(q[p.qi : p.qi+p.qn])
		wc := sumW(c[p.ci : p.ci+p.cn])
		pw := p.weight(wq, wc)
		r.matched += pw
		num += pw * contribution(p.sim)
		r.info += min(wq, wc) * sc.infoShare(p.sim, q[p.qi:p.qi+p.qn], c[p.ci:p.ci+p.cn])
	}
	var presQ, presA float64
	for i := range q {
		if usedQ&(1<<i) == 0 {
			r.extraQ += q[i].w
			presQ += presence(&q[i])
		}
	}
	for j := range c {
		if usedC&(1<<j) == 0 {
			r.extraA += c[j].w
			presA += presence(&c[j])
		}
	}
	// A query token and an alert token both left over disagree: that is a
	// conflict (a different middle name), which weighs far more than a
	// part simply missing on one side.
	// Conflicts count tokens by presence, not rarity: a different common
	// given name still says "another person".
	r.conflict = min(presQ, presA)
	den := r.matched + conflictWeight*r.conflict + extraQuery*max(0, r.extraQ-r.conflict) + extraAlert*max(0, r.extraA-r.conflict)
	if den <= 0 || r.matched == 0 {
		return r
	}
	r.base = num / den
	if sc.completeName(q, c, usedQ, usedC) {
		r.info = max(r.info, needInfo)
	}
	r.infoFactor = min(1, r.info/needInfo)
	r.score = r.base * r.infoFactor
	return r
}

// completeName says whether the chosen pairs cover every token of q and
// of c, each pair of strongInfoSim or more, two of them on name words
// (RuleCompleteName). The information factor asks whether a partial
// match says enough to single anyone out; a name matched whole, each
// word as written or with one slip, is the listed name, and a list
// that names "Golden Global Logistics" means that company although
// each of its words is common. Names of fewer than two name words are
// left to the factor: a one-word name ("Ali"), or a generic word and a
// legal form ("Trading LLC"), are the cases it exists for.
func (sc *scorer) completeName(q, c []stok, usedQ, usedC uint32) bool {
	if sc.off.Has(RuleCompleteName) || len(sc.chose) < 2 || usedQ != runMask(0, uint8(len(q))) || usedC != runMask(0, uint8(len(c))) {
		return false
	}
	names := 0
	for _, p := range sc.chose {
		if p.sim < strongInfoSim {
			return false
		}
		for _, t := range q[p.qi : p.qi+p.qn] {
			if t.class == className {
				names++
				break
			}
		}
	}
	return names >= 2
}

// presence is how much a left-over token counts towards a conflict.
func presence(t *stok) float64 {
	if t.class == className {
		return max(t.w, presenceFloor)
	}
	return t.w
}

func runMask(i, n uint8) uint32 { return ((1 << n) - 1) << i }

func sumW(ts []stok) float64 {
	var s float64
	for i := range ts {
		s += ts[i].w
	}
	return s
}

// merges adds pairs of a run of 2-3 tokens of a against single tokens of
// b; swapped says a is the alert side.
func (sc *scorer) merges(a, b []stok, swapped bool) {
	// b's tokens by length, so that a run visits only those of its
	// length, give or take two (in the order of b, as before); tokens of
	// mergeLenSlots letters or more, and every token past the 64th, are
	// visited by every run.
	var byLen [mergeLenSlots]uint64
	var always uint64
	for j := range b {
		switch {
		case j >= 64:
		case len(b[j].text) >= mergeLenSlots:
			always |= 1 << j
		default:
			byLen[len(b[j].text)] |= 1 << j
		}
	}
	for i := 0; i+1 < len(a); i++ {
		var runMask uint32
		runLen := 0
		for n := 2; n <= 3 && i+n <= len(a); n++ {
			if n == 2 {
				runMask, runLen = a[i].mask, len(a[i].text)
			}
			runMask |= a[i+n-1].mask
			runLen += len(a[i+n-1].text)
			// The run is written out only once a token passes the
			// filters below: most runs meet none, and long names have
			// many runs (a third of a long name's scoring went into
			// writing them).
			run := ""
			near := always
			for l := max(0, runLen-2); l <= runLen+2 && l < mergeLenSlots; l++ {
				near |= byLen[l]
			}
			for j := range b {
				if j < 64 && near&(1<<j) == 0 {
					continue
				}
				t := b[j].text
				if !sameOnset(t[0], a[i].text[0]) || len(t) < runLen-2 || len(t) > runLen+2 {
					continue
				}
				// Written together, the two sides use nearly the same
				// letters: skip the edit distance for the rest.
				if bits.OnesCount32(runMask^b[j].mask) > mergeLetterSlack {
					continue
				}
				if run == "" {
					start := len(sc.arena)
					for k := i; k < i+n; k++ {
						sc.arena = append(sc.arena, a[k].text...)
					}
					run = unsafe.String(&sc.arena[start], len(sc.arena)-start)
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

// oriented returns the pair of the run of na tokens at i on side a with
// the run of nb tokens at j on side b, a being the query unless swapped:
// merges, acronyms and compounds look for runs on either side.
func oriented(i, na, j, nb int, m Method, sim float64, swapped bool) pairing {
	if swapped {
		i, na, j, nb = j, nb, i, na
	}
	return pairing{qi: uint8(i), qn: uint8(na), ci: uint8(j), cn: uint8(nb), method: m, sim: sim}
}

// sameOnset says whether two words may start with these letters and still
// be one name: the same letter, or two of c, k, q and g (Qolam, Gholam;
// Kasim, Qasim), which romanisations exchange most at the start of a
// name. The test is a filter before the edit distance, so it is narrow.
func sameOnset(a, b byte) bool {
	return a == b || (isVelar(a) && isVelar(b))
}

func isVelar(c byte) bool { return c == 'c' || c == 'k' || c == 'q' || c == 'g' }

// resplits adds pairs of two adjacent tokens on each side that read the
// same written together but are cut elsewhere: a particle or a letter
// slipped across the space ("A-LHADUL" / "AL-HADUL", "MEZ ACAZAREZ" /
// "MEZA CAZAREZ").
// Runs whose two tokens both have an exact partner are left alone.
func (sc *scorer) resplits(q, c []stok, exactQ, exactC uint32) {
	if len(q) < 2 || len(c) < 2 {
		return
	}
	var cm [maxTokens]uint32
	for j := 0; j+1 < len(c); j++ {
		cm[j] = c[j].mask | c[j+1].mask
	}
	for i := 0; i+1 < len(q); i++ {
		if exactQ>>i&3 == 3 {
			continue
		}
		a0, a1 := q[i].text, q[i+1].text
		lq := len(a0) + len(a1)
		qm := q[i].mask | q[i+1].mask
		for j := 0; j+1 < len(c); j++ {
			if exactC>>j&3 == 3 {
				continue
			}
			b0, b1 := c[j].text, c[j+1].text
			// The cut moved by one to three letters; the letters differ
			// by at most two (one or two slips elsewhere).
			d := len(a0) - len(b0)
			if d == 0 || d < -3 || d > 3 || a0[0] != b0[0] {
				continue
			}
			// The shorter first token starts the longer one.
			if (d < 0 && b0[:len(a0)] != a0) || (d > 0 && a0[:len(b0)] != b0) {
				continue
			}
			lc := len(b0) + len(b1)
			if lq < lc-2 || lq > lc+2 || min(lq, lc) < 5 || bits.OnesCount32(qm^cm[j]) > 2 {
				continue
			}
			start := len(sc.arena)
			sc.arena = append(append(sc.arena, a0...), a1...)
			mid := len(sc.arena)
			sc.arena = append(append(sc.arena, b0...), b1...)
			a := unsafe.String(&sc.arena[start], mid-start)
			b := unsafe.String(&sc.arena[mid], len(sc.arena)-mid)
			s := 1.0
			if a != b {
				if s = stringSimAtLeast(a, b, simFloor); s < simFloor {
					continue
				}
				s = min(s, 0.95)
			}
			sc.pairs = append(sc.pairs, pairing{qi: uint8(i), qn: 2, ci: uint8(j), cn: 2, method: MethodMerge, sim: s})
		}
	}
}

// strongInfoSim is the similarity from which a token pair carries its
// token's whole information (RuleStrongInfo): one slip in a long token
// (0.85-0.92), two letters swapped (0.88), a variant spelling (0.92).
// The information factor asks whether the name says enough to single
// anyone out; a slip does not make a rare word common. Counting such a
// pair at weight x similarity took the similarity twice (it is already
// squared in the score), so that a one-word name with one slip ("Zomoroud"
// / "Homoroud") scored sim^3 and fell under the threshold. Under 0.85 the
// pair may be another word, and its information stays discounted.
const strongInfoSim = 0.85

// infoShare is the share of a pair's information that counts towards
// the information factor. Runs holding a digit keep the discount: a
// changed digit makes another registration or number, not a slip.
func (sc *scorer) infoShare(sim float64, a, b []stok) float64 {
	if sim < strongInfoSim || sim >= 1 || sc.off.Has(RuleStrongInfo) || anyDigit(a) || anyDigit(b) || runLen(a) < strongInfoLen || runLen(b) < strongInfoLen {
		return sim
	}
	return 1
}

// strongInfoLen is the least length of a token (or run) whose slip keeps
// its information: in four letters one slip is as likely another word
// ("Snow", "Snoe"), as fuzzy retrieval holds too.
const strongInfoLen = 5

// runLen is the number of letters of a run of tokens.
func runLen(ts []stok) int {
	n := 0
	for i := range ts {
		n += len(ts[i].text)
	}
	return n
}

// anyDigit says whether a token of ts holds a digit.
func anyDigit(ts []stok) bool {
	for i := range ts {
		if strings.ContainsAny(ts[i].text, "0123456789") {
			return true
		}
	}
	return false
}
