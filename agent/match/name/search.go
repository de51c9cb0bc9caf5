package name

import (
	"cmp"
	"math/bits"
	"slices"
)

// Query is a name to look up, with optional evidence about the subject.
type Query struct {
	Kind        Kind   // KindUnknown searches people and companies alike
	Name        string // free text, any script
	BirthDate   string // "", "YYYY", "YYYY-MM" or "YYYY-MM-DD"
	Nationality string // ISO 3166-1 alpha-2
	Sex         string // "M", "F" or ""
}

// Match is one entry found by Search.
type Match struct {
	ID          uint32
	Score       float64 // in [0, 1]; see DefaultThreshold
	Explanation Explanation
}

// DefaultThreshold is the score from which a match is a hit. It was chosen
// as the threshold that maximises F1 on the 826 labelled pairs of
// OpenSanctions' name_bench cases (names only, so at most
// noEvidenceCeiling), rounded down to two decimals; README.md gives the
// curve and the false-hit rate on the OFAC lists at this threshold.
const DefaultThreshold = 0.70

// expansion is one posting list a query token reaches.
type expansion struct {
	tok  uint16
	sim  float32
	w    float32 // weight credited per posting
	sig  uint64  // signature bits of the token or group the list is of; 0 for others
	wq   uint16  // w in the accumulator's fixed point
	list []uint32
}

// searchState is the per-search scratch kept in a pool so that searches
// do not allocate in proportion to the index.
type searchState struct {
	acc      []accCell // open addressing by name, a power of two long
	touched  []uint32  // the cells of acc in use, in the order filled
	exps     []expansion
	probes   []expansion
	nbrs     []uint32
	q        []stok
	c        []stok
	sc       scorer
	rows     rowCache
	top      []cand
	sel      []selCand
	tied     []selCand // the names tying with the best weight so far, for the namesakes past the candidates
	scored   scoredNames
	kept     []uint32 // the candidates' names, sorted, while namesakes are added
	cut      bool     // gather left a list of the query unwalked or walked in part (whole.go)
	wholeIDs []uint32 // the query's vocabulary numbers, sorted (whole.go)
	alts     []tokAlt // vocabulary tokens each query token reads as (whole.go)
	metas    []uint64
	best     []cand
	evid     []Evidence
	inter    []uint32    // RuleIntersect's lists
	extra    []expansion // RuleIntersect's walks
}

// accCell is one name's gathered weight and the query tokens that
// credited it, side by side for cache locality. The cells are a hash
// table over the names the walk meets, not an array over all names: the
// posting budget bounds those to a few thousand, whose cells stay in the
// processor's cache, where an array over millions of names took a cache
// miss per posting (and megabytes per search state).
type accCell struct {
	name uint32 // name number + 1; 0 for a free cell
	acc  uint16 // weight x accScale
	got  uint16 // bit i: query token i credited the name (tokens past 15 share bit 15)
}

// accCells is the length of the accumulator for a posting budget: the
// walk meets at most twice the budget's names (RuleIntersect's walks
// come on top of the budget), kept at most half full.
func accCells(budget int) int {
	n := 1024
	for n < 4*budget {
		n <<= 1
	}
	return n
}

// accSlot returns the cell of name n in acc (of a power-of-two length),
// taking a free one, recorded in touched, when n has none. ok is false
// when the table is three quarters full: the name is not counted.
func accSlot(acc []accCell, touched []uint32, n uint32) (*accCell, []uint32, bool) {
	mask := uint32(len(acc) - 1)
	i := (n * 0x9e3779b1) >> (32 - bits.TrailingZeros(uint(len(acc)))) // Fibonacci hashing: the product's top bits
	for {
		c := &acc[i]
		if c.name == n+1 {
			return c, touched, true
		}
		if c.name == 0 {
			if 4*len(touched) >= 3*len(acc) {
				return nil, touched, false
			}
			c.name = n + 1
			return c, append(touched, i), true
		}
		i = (i + 1) & mask
	}
}

// tokBit is query token i's bit in accCell.got.
func tokBit(i uint16) uint16 { return 1 << min(i, 15) }

// accScale turns weights into the accumulator's fixed point: 24 tokens of
// weight up to 2 stay below 65,535.
const accScale = 1000

type cand struct {
	name  uint32
	acc   float32
	score float64
	res   nameResult
}

// getState takes a search scratch from the free list. A channel, not a
// sync.Pool: the pool empties at every GC, and refilling it means zeroing
// an accumulator as long as the index, on the search path.
func (ix *Index) getState() *searchState {
	var st *searchState
	select {
	case st = <-ix.states:
	default:
		st = &searchState{}
	}
	if n := accCells(ix.opts.PostingBudget); len(st.acc) != n {
		st.acc = make([]accCell, n)
	}
	return st
}

func (ix *Index) putState(st *searchState) {
	st.scored.reset()
	select {
	case ix.states <- st:
	default: // enough kept already
	}
}

// tieCeiling bounds how far Search goes past its limit to keep entries
// that tie with the last one kept: namesakes. A name on many alerts is a
// hit on each of them, and an officer told of five must not take them
// for all (RuleNamesakes; 4 before it).
const tieCeiling = 20

// namesakeNames is how many names, per entry Search may return, gather
// scores at most when names tie with the best candidate past
// Options.Candidates: an entry's aliases often tie too.
const namesakeNames = 2

// namesakeFresh bounds, in multiples of the limit, the names past
// Options.Candidates that Search scores in full because they tied with
// the best while gathering, when their tokens differ from every name
// scored before. Namesakes proper (the same tokens) take the result
// scored first and cost no scoring; names that only gathered as much (a
// query of two common tokens, every three-token name holding both) rarely
// tie in full, and scoring 200 of them raised the search CPU p99 by a
// third on the 2M-name development list.
const namesakeFresh = 4

// Search returns the entries whose best name scores at least threshold
// against q, best first, at most limit of them (limit <= 0 means 10), and
// more when entries tie with the limit-th one (up to tieCeiling times
// limit): equal scores are never cut arbitrarily.
// Each match carries its explanation. Search never scans the whole index:
// it gathers candidates from the inverted indexes and scores at most
// Options.Candidates names in full.
func (ix *Index) Search(q Query, threshold float64, limit int) []Match {
	return ix.search(q, threshold, limit, -1)
}

// SearchNamesakes is Search for a caller that reads only the first
// explained matches and keeps the rest as references (alert IDs an
// officer is told of): those after the first explained carry their ID and
// Score but no Explanation, since explaining a match scores its name
// again. Past the limit and the entries tying with the limit-th, it also
// returns the other entries the search scored at or above threshold,
// best first, up to Options.Ties times limit in all: a name that many
// alerts match, each a little less well than the last hit kept, is not
// cut at the limit without a word (a query lacking one token of
// "Golden Grainix Logistics Limited" meets every "... Grainix Logistics
// Limited" alike). It scores no more names than Search does.
func (ix *Index) SearchNamesakes(q Query, threshold float64, limit, explained int) []Match {
	return ix.search(q, threshold, limit, max(explained, 0))
}

// search is Search explaining the first explained matches, or every
// match when explained < 0; with explained >= 0 it keeps the scored
// matches past the ties (SearchNamesakes).
func (ix *Index) search(q Query, threshold float64, limit, explained int) []Match {
	if limit <= 0 {
		limit = 10
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	toks := normalizeQuery(ix.lx, q.Kind, q.Name, ix.queryRules())
	if len(toks) == 0 || ix.liveNames == 0 {
		return nil
	}
	if !ix.opts.Disable.Has(RuleRunTogether) {
		toks = ix.splitRunTogether(toks)
	}
	if q.Kind != KindPerson && !ix.opts.Disable.Has(RuleLegalTypos) {
		toks = ix.legalTypos(toks)
	}
	if len(toks) > maxTokens {
		toks = toks[:maxTokens]
	}
	st := ix.getState()
	defer ix.putState(st)
	st.sc.off = ix.opts.Disable

	st.q = ix.queryTokens(toks, st.q[:0])
	ix.expand(q.Kind, toks, st)
	ix.gather(q.Kind, st, namesakeNames*ix.opts.Ties*limit)
	ev := queryEvidence{birth: parseBirthDate(q.BirthDate), nat: normCountry(q.Nationality), sex: normSex(q.Sex)}
	st.rows.reset(st.q)
	st.sc.rows = &st.rows
	if ix.noRowCache {
		st.sc.rows = nil
	}

	// Score the candidates in full; keep each entry's best name.
	st.best = st.best[:0]
	var floor float32
	if len(st.top) > 0 {
		floor = st.top[0].acc * candidateCutoff
	}
	fresh := namesakeFresh * limit
	score := func(cd cand, namesake bool) {
		kind := q.Kind
		if kind == KindUnknown {
			kind = ix.nameKind[cd.name]
		}
		toks := ix.nameToks[ix.nameStart[cd.name]:ix.nameStart[cd.name+1]]
		th := tokensHash(toks)
		res, ok := st.scored.get(toks, th, kind)
		if !ok {
			if namesake {
				// A namesake past the candidates whose tokens were not
				// scored before: another name, which seldom ties in
				// full. Only so many are scored (namesakeFresh).
				if fresh == 0 {
					return
				}
				fresh--
			}
			st.c = ix.nameTokensCached(cd.name, st.c[:0], st.sc.rows)
			res = st.sc.score(st.q, st.c, kind)
			st.scored.put(toks, th, kind, res)
		}
		if res.score == 0 {
			return
		}
		e := &ix.entries[ix.nameEntry[cd.name]]
		st.evid = weighEvidenceText(ev, e, ix.opts.Disable, st.evid[:0], false)
		total := finalScore(res.score, st.evid)
		if total < threshold {
			return
		}
		cd.score, cd.res = total, res
		st.best = append(st.best, cd)
	}
	for i, cd := range st.top {
		if cd.acc >= floor {
			score(cd, i >= ix.opts.Candidates)
		}
	}
	// Retrieval cut a list and did not find as many names made of the
	// query's very tokens, or of the known tokens they read as, as Search
	// may return: look them up whole (RuleWholeName).
	if st.cut && !ix.opts.Disable.Has(RuleWholeName) {
		n0 := len(st.top)
		ix.addWholeNames(q.Kind, st, limit)
		for _, cd := range st.top[n0:] {
			score(cd, false)
		}
	}
	// Keep each entry's best name: sorted by entry, best first, the
	// first of each run.
	slices.SortStableFunc(st.best, func(a, b cand) int {
		return cmp.Or(cmp.Compare(ix.nameEntry[a.name], ix.nameEntry[b.name]), cmp.Compare(b.score, a.score))
	})
	st.best = slices.CompactFunc(st.best, func(a, b cand) bool { return ix.nameEntry[a.name] == ix.nameEntry[b.name] })
	slices.SortFunc(st.best, func(a, b cand) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(ix.entries[ix.nameEntry[a.name]].id, ix.entries[ix.nameEntry[b.name]].id))
	})
	if len(st.best) > limit {
		// Entries that tie with the last one kept are kept too, up to
		// tieCeiling times limit (RuleNamesakes): choosing among equals by entry number
		// would hide an alert for no reason an officer could know.
		// SearchNamesakes keeps the lesser matches too, as references.
		cut := limit
		for cut < len(st.best) && cut < ix.opts.Ties*limit && (explained >= 0 || st.best[cut].score == st.best[limit-1].score) {
			cut++
		}
		st.best = st.best[:cut]
	}
	out := make([]Match, 0, len(st.best))
	for i, cd := range st.best {
		e := &ix.entries[ix.nameEntry[cd.name]]
		if explained >= 0 && i >= explained {
			out = append(out, Match{ID: e.id, Score: cd.score})
			continue
		}
		st.c = ix.nameTokens(cd.name, st.c[:0])
		kind := q.Kind
		if kind == KindUnknown {
			kind = ix.nameKind[cd.name]
		}
		res := st.sc.score(st.q, st.c, kind)
		evid := weighEvidence(ev, e, ix.opts.Disable, nil)
		out = append(out, Match{ID: e.id, Score: cd.score, Explanation: explain(st.q, st.c, st.sc.chose, res, evid, cd.score, cd.name-e.first, e.count)})
	}
	return out
}

// Compare scores q against e without adding e to the index, using the
// index's token statistics for rarity. It is the scorer Search uses; the
// labelled-pair tests call it.
func (ix *Index) Compare(q Query, e Entry) Match {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	kind := q.Kind
	if kind == KindUnknown {
		kind = e.Kind
	}
	qn := normalizeQuery(ix.lx, kind, q.Name, ix.queryRules())
	if kind != KindPerson && !ix.opts.Disable.Has(RuleLegalTypos) {
		qn = ix.legalTypos(qn)
	}
	qt := ix.queryTokens(qn, nil)
	rec := entryRecord{id: e.ID, kind: e.Kind, birth: packDate(parseBirthDate(e.BirthDate)), nats: normCountries(e.Nationalities), sex: normSex(e.Sex)}
	ev := queryEvidence{birth: parseBirthDate(q.BirthDate), nat: normCountry(q.Nationality), sex: normSex(q.Sex)}
	sc := scorer{off: ix.opts.Disable}
	best := Match{ID: e.ID}
	for i, n := range e.Names {
		ct := ix.queryTokens(normalize(ix.lx, kind, n), nil)
		res := sc.score(qt, ct, kind)
		evid := weighEvidence(ev, &rec, ix.opts.Disable, nil)
		total := finalScore(res.score, evid)
		if total > best.Score || i == 0 {
			best.Score = total
			best.Explanation = explain(qt, ct, sc.chose, res, evid, total, uint32(i), uint32(len(e.Names)))
		}
	}
	return best
}

// finalScore weighs the evidence into a name score: a name alone reaches
// noEvidenceCeiling; agreeing evidence adds up to the rest, conflicting
// evidence multiplies the score down.
func finalScore(name float64, evid []Evidence) float64 {
	f, b := noEvidenceCeiling, 0.0
	for _, e := range evid {
		f *= e.Factor
		b += e.Bonus
	}
	return min(1, name*(f+b))
}

// splitRunTogether cuts query tokens that the index does not know but
// that are two or three known tokens written without spaces
// ("PROMAINDUSTRY" -> "proma industry"), a common slip in typed names.
func (ix *Index) splitRunTogether(toks []token) []token {
	var out []token
	var nb [8]uint32
	for i, t := range toks {
		var parts []string
		if !ix.known(t.text) && t.class == className && len(t.text) >= 8 && len(ix.neighbours(t.text, ^uint32(0), 1, nb[:0])) == 0 && !ix.knownSkeleton(t.text) {
			parts = ix.splitKnown(t.text, 2)
		}
		if parts == nil {
			if out != nil {
				out = append(out, t)
			}
			continue
		}
		if out == nil {
			out = append(make([]token, 0, len(toks)+2), toks[:i]...)
		}
		for _, p := range parts {
			cls := className
			if c, ok := ix.lx.legal[p]; ok {
				p, cls = c, classLegal
			} else if id, ok := ix.vocab[p]; ok {
				cls = ix.toks[id].class
			}
			out = append(out, token{text: p, class: cls})
		}
	}
	if out == nil {
		return toks
	}
	return out
}

// knownSkeleton says whether some vocabulary token has t's consonant
// skeleton: then t is more likely a misspelling of it than words run
// together.
func (ix *Index) knownSkeleton(t string) bool {
	_, ok := ix.skelVocab[skeleton(t)]
	return ok
}

// legalTail says whether every token of toks is a legal form: the end
// of a company name, where its legal forms stand.
func legalTail(toks []token) bool {
	for _, t := range toks {
		if t.class != classLegal {
			return false
		}
	}
	return true
}

// legalTypos turns the query words the index does not know but that
// misspell a legal form or generic business word ("Holdnigs", "Limitd"),
// or a legal form of several words ("Obshchestvo s ogranichenoi
// otvetstvennostyu"), into that form: left as names, they would count as
// rare words the alert lacks, a conflict, and sink the right alert.
// toks is rewritten in place; the result may be shorter.
func (ix *Index) legalTypos(toks []token) []token {
	out := toks[:0]
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.class != className {
			out = append(out, t)
			continue
		}
		known := ix.known(t.text)
		// A misspelt phrase starts with its first word or a misspelling
		// of it, not with another word the index knows.
		if ix.lx.legalStart[t.text] || !known {
			if canon, n := ix.lx.nearLegalPhrase(toks[i:]); n > 0 && !ix.allKnown(toks[i:i+n]) {
				out = append(out, token{text: canon, class: classLegal})
				i += n - 1
				continue
			}
		}
		if !known && len(t.text) >= legalTypoLen {
			if canon, ok := ix.lx.nearLegal(t.text); ok {
				t = token{text: canon, class: classLegal}
			}
		} else if !known {
			// Short forms are too easily made by a substitution, but two
			// letters swapped ("Ldt", "Oc", "Icn") are still the form.
			if canon, ok := ix.lx.transposedLegal(t.text); ok {
				t = token{text: canon, class: classLegal}
			} else if i > 0 && (i == len(toks)-1 || len(t.text) >= 4 && legalTail(toks[i+1:])) && !ix.opts.Disable.Has(RuleLegalEndSlips) {
				// The last word of a company name, where its legal
				// form stands, takes any one slip, and so does a word
				// of four letters or more followed only by legal forms
				// ("Goup Inc"; three letters are one slip from too
				// many forms: "Gae Limited", "Sua Inc").
				if canon, ok := ix.lx.nearShortLegal(t.text); ok {
					t = token{text: canon, class: classLegal}
				}
			}
		}
		out = append(out, t)
	}
	return out
}

// known says whether the index knows token t.
func (ix *Index) known(t string) bool {
	_, ok := ix.vocab[t]
	return ok
}

// allKnown says whether the index knows every token of toks.
func (ix *Index) allKnown(toks []token) bool {
	for _, t := range toks {
		if !ix.known(t.text) {
			return false
		}
	}
	return true
}

// splitKnown returns t cut into at most depth+1 known tokens (vocabulary
// or legal forms) of three or more letters, the most even cut first, or
// nil when t is itself known or cannot be cut.
func (ix *Index) splitKnown(t string, depth int) []string {
	if _, ok := ix.vocab[t]; ok || depth == 0 {
		return nil
	}
	known := func(s string) bool {
		if _, l := ix.lx.legal[s]; l {
			return true
		}
		_, v := ix.vocab[s]
		return v && len(s) >= 4
	}
	n := len(t)
	for d := 0; d < n; d++ {
		for _, i := range [2]int{n/2 - d, n/2 + d + 1} {
			if i < 2 || n-i < 2 {
				continue
			}
			if !known(t[:i]) {
				continue
			}
			if known(t[i:]) {
				return []string{t[:i], t[i:]}
			}
			if rest := ix.splitKnown(t[i:], depth-1); rest != nil {
				return append([]string{t[:i]}, rest...)
			}
		}
	}
	return nil
}

// queryTokens prepares tokens for scoring with the index's statistics.
func (ix *Index) queryTokens(toks []token, out []stok) []stok {
	for _, t := range toks {
		s := stok{text: t.text, mask: letterMask(t.text), class: t.class, cyr: t.cyr, skel: skeleton(t.text), group: ix.lx.groups[t.text], syl: syllableCode(t.text)}
		var df uint32
		if id, ok := ix.vocab[t.text]; ok {
			df = ix.toks[id].df
		}
		if s.group != 0 {
			df = max(df, ix.groupDF[s.group])
		}
		s.w = ix.tokenWeight(df, t.class)
		out = append(out, s)
	}
	return out
}

// nameTokens prepares an indexed name's tokens for scoring.
func (ix *Index) nameTokens(n uint32, out []stok) []stok {
	return ix.nameTokensCached(n, out, nil)
}

// nameTokensCached is nameTokens taking the tokens' weights from the
// search's cache when rc is not nil: a token's weight depends only on
// the index's statistics, fixed while the search holds the read lock.
func (ix *Index) nameTokensCached(n uint32, out []stok, rc *rowCache) []stok {
	for _, id := range ix.nameToks[ix.nameStart[n]:ix.nameStart[n+1]] {
		vt := &ix.toks[id]
		w, ok := rc.weight(id)
		if !ok {
			df := vt.df
			if vt.group != 0 {
				df = max(df, ix.groupDF[vt.group])
			}
			w = ix.tokenWeight(df, vt.class)
			rc.keepWeight(id, w)
		}
		out = append(out, stok{text: vt.text, mask: vt.mask, class: vt.class, skel: ix.skelText[vt.skel], group: vt.group, syl: vt.syl, w: w, vid: id + 1})
	}
	return out
}

// expand lists the posting lists each query token reaches: the token
// itself, its variant group, its skeleton, its fuzzy neighbours in the
// vocabulary, alert names that write it as two tokens, and for adjacent
// query tokens the alert token that writes them as one.
func (ix *Index) expand(kind Kind, toks []token, st *searchState) {
	st.exps = st.exps[:0]
	st.alts = st.alts[:0]
	off := ix.opts.Disable
	if kind != KindPerson && len(toks) >= acronymMin && !off.Has(RuleAcronyms) {
		ix.expandAcronyms(toks, st)
	}
	if kind != KindCompany && !off.Has(RuleCompounds) {
		ix.compoundKeys(toks, func(key uint64, tok int) {
			if cid, ok := ix.concatVocab[key]; ok {
				st.exps = append(st.exps, expansion{tok: uint16(tok), sim: compoundSim, w: float32(st.q[tok].w) * compoundSim, list: ix.concatPost[cid]})
			}
		})
	}
	// The last and first query tokens as a pair, in either order: a name
	// written surname first ("Kim Il Nam") meets the alert's "SURNAME,
	// Given" turned round ("Il Nam Kim"), whose adjacent pairs the query
	// otherwise shares only in part. Among many namesakes of common
	// tokens, the pair is what lifts the name into the candidates.
	if n := len(toks); n >= 3 && !off.Has(RuleAdjacentPairs) {
		first, last := toks[0].text, toks[n-1].text
		pw := float32(st.q[0].w) + float32(st.q[n-1].w)
		if cid, ok := ix.concatVocab[keyedHash(ix.seed, last+first)]; ok {
			st.exps = append(st.exps, expansion{tok: uint16(n - 1), sim: 1, w: pw, list: ix.concatPost[cid]})
		}
		if cid, ok := ix.concatVocab[keyedHash(ix.seed, first+last)]; ok {
			st.exps = append(st.exps, expansion{tok: uint16(n - 1), sim: 0.99, w: pw, list: ix.concatPost[cid]})
		}
	}
	for i, t := range toks {
		qs := &st.q[i]
		w := float32(qs.w)
		exact := ^uint32(0)
		id, known := ix.vocab[t.text]
		if known {
			exact = id
		}
		// A variant group's list holds the token's own: walk only the
		// group's (the full score tells exact from variant).
		if qs.group != 0 && !off.Has(RuleVariants) {
			st.exps = append(st.exps, expansion{tok: uint16(i), sim: 1, w: w, sig: sigBits(sigGroup, qs.group), list: ix.groupPost[qs.group]})
		} else if known {
			st.exps = append(st.exps, expansion{tok: uint16(i), sim: 1, w: w, sig: sigBits(sigToken, id), list: ix.toks[id].post})
		}
		if known {
			st.alts = append(st.alts, tokAlt{pos: uint8(i), id: id, exact: true})
		}
		// A token the index does not know, read through the
		// transliteration digraphs (Dzhon, Khussein: RuleDigraphs), may
		// be a name the index holds spelt the Latin way.
		if !known && len(t.text) <= maxDigraphToken && hasDigraph(t.text) && !off.Has(RuleDigraphs) {
			var buf [maxDigraphToken]byte
			if r := reduceDigraphs(t.text, &buf); len(r) < len(t.text) {
				if id, ok := ix.vocab[string(r)]; ok {
					// The token itself, another way: walked with the
					// query's own lists (primarySim), at its similarity.
					st.exps = append(st.exps, expansion{tok: uint16(i), sim: primarySim, w: w * digraphSim, sig: sigBits(sigToken, id), list: ix.toks[id].post})
					st.alts = append(st.alts, tokAlt{pos: uint8(i), id: id})
					if qs.group == 0 {
						qs.w = min(qs.w, ix.tokenWeight(ix.toks[id].df, t.class))
					}
				}
			}
		}
		// A token written in Cyrillic may be a Latin name as a
		// Russian-language document writes it (Валид, Waleed): it
		// walks, as the token itself another way, the lists of the
		// tokens of its reading (RuleCyrillicReadings).
		if t.cyr && t.class == className && !off.Has(RuleCyrillicReadings) {
			ix.readingsOf(t.text, exact, func(id uint32) {
				st.exps = append(st.exps, expansion{tok: uint16(i), sim: primarySim, w: w * cyrReadingSim, sig: sigBits(sigToken, id), list: ix.toks[id].post})
				st.alts = append(st.alts, tokAlt{pos: uint8(i), id: id})
				if !known && qs.group == 0 {
					qs.w = min(qs.w, ix.tokenWeight(ix.toks[id].df, t.class))
				}
			})
		}
		if i+1 < len(toks) && !off.Has(RuleAdjacentPairs) {
			next := toks[i+1].text
			pw := w + float32(st.q[i+1].w)
			cat := t.text + next
			if id, ok := ix.vocab[cat]; ok {
				st.exps = append(st.exps, expansion{tok: uint16(i), sim: 0.97, w: pw, sig: sigBits(sigToken, id), list: ix.toks[id].post})
			}
			if i+2 < len(toks) {
				// Three tokens written as one ("NAM CHON GANG").
				var cb [96]byte
				if id, ok := ix.vocab[string(append(append(cb[:0], cat...), toks[i+2].text...))]; ok {
					st.exps = append(st.exps, expansion{tok: uint16(i), sim: 0.97, w: pw + float32(st.q[i+2].w), sig: sigBits(sigToken, id), list: ix.toks[id].post})
				}
			}
			// The pair itself, in either order: names made only of common
			// tokens ("Global Golden Industries") are found through their
			// rarer adjacent pairs.
			if cid, ok := ix.concatVocab[keyedHash(ix.seed, cat)]; ok {
				st.exps = append(st.exps, expansion{tok: uint16(i), sim: 1, w: pw, list: ix.concatPost[cid]})
			}
			if cid, ok := ix.concatVocab[keyedHash(ix.seed, next+t.text)]; ok {
				st.exps = append(st.exps, expansion{tok: uint16(i), sim: 0.99, w: pw, list: ix.concatPost[cid]})
			}
			// The pair written as one word, spelt otherwise (Kheir Beik,
			// Khayrbik): the alert word with the pair's consonants.
			if kind != KindCompany && t.class == className && toks[i+1].class == className && len(qs.skel) >= 2 && len(st.q[i+1].skel) >= 2 && !(known && ix.known(next)) {
				// The pair's consonants must say more than either token's
				// alone ("Fazli Ail" is fzl, Fazli's own): else the key
				// reaches every name with the first token's skeleton, at
				// the weight of both tokens, ahead of the name itself.
				if _, ok := ix.vocab[cat]; !ok {
					if sk := skeleton(cat); len(sk) > max(len(qs.skel), len(st.q[i+1].skel)) {
						if sid, ok := ix.skelVocab[sk]; ok {
							st.exps = append(st.exps, expansion{tok: uint16(i), sim: 0.8, w: pw * 0.8, list: ix.skelPost[sid]})
						}
					}
				}
			}
		}
		if t.class == classLegal || t.class == classStop || t.class == classNumber || len(t.text) < 3 {
			continue
		}
		if kind != KindPerson && acronymCandidate(qs) && !off.Has(RuleAcronyms) {
			if l := ix.acronymList(t.text); len(l) > 0 {
				st.exps = append(st.exps, expansion{tok: uint16(i), sim: float32(acronymSim(len(t.text))), w: w * float32(acronymSim(len(t.text))), list: l})
			}
		}
		// Skeletons serve tokens the index does not know (misspellings).
		if sid, ok := ix.skelVocab[qs.skel]; ok && !known && len(qs.skel) >= 3 && !off.Has(RuleSkeletons) {
			st.exps = append(st.exps, expansion{tok: uint16(i), sim: 0.8, w: w * 0.8, list: ix.skelPost[sid]})
		}
		if cid, ok := ix.concatVocab[keyedHash(ix.seed, t.text)]; ok && !off.Has(RuleAdjacentPairs) {
			st.exps = append(st.exps, expansion{tok: uint16(i), sim: 0.97, w: w, list: ix.concatPost[cid]})
		}
		// An unknown three-letter token reaches the known ones it writes
		// with two adjacent letters swapped (RuleTranspositions): three-
		// letter tokens are not filed under their deletions, so the
		// neighbours below never meet a swap ("EP-OMC" / "EP-MOC").
		if len(t.text) == 3 && !known && t.class == className && !off.Has(RuleTranspositions) {
			var sb [3]byte
			for j := range 2 {
				copy(sb[:], t.text)
				sb[j], sb[j+1] = sb[j+1], sb[j]
				if id, ok := ix.vocab[string(sb[:])]; ok {
					st.exps = append(st.exps, expansion{tok: uint16(i), sim: transpositionSim, w: w * transpositionSim, sig: sigBits(sigToken, id), list: ix.toks[id].post})
					st.alts = append(st.alts, tokAlt{pos: uint8(i), id: id})
				}
			}
		}
		// Three-letter tokens (acronyms, mostly) reach their neighbours
		// only when the index does not know them: a known one is more
		// likely right than a slip.
		if (len(t.text) >= 4 || (len(t.text) == 3 && !known && t.class == className)) && !off.Has(RuleFuzzyNeighbours) {
			st.nbrs = ix.neighbours(t.text, exact, 2, st.nbrs[:0])
			var maxDF uint32
			for _, id := range st.nbrs {
				st.exps = append(st.exps, expansion{tok: uint16(i), sim: 0.85, w: w * 0.85, sig: sigBits(sigToken, id), list: ix.toks[id].post})
				st.alts = append(st.alts, tokAlt{pos: uint8(i), id: id})
				maxDF = max(maxDF, ix.toks[id].df)
			}
			if exact == ^uint32(0) && maxDF > 0 && qs.group == 0 {
				// A misspelt token is as common as the words it misspells.
				qs.w = min(qs.w, ix.tokenWeight(maxDF, t.class))
			}
			if !known && len(st.nbrs) == 0 && len(t.text) >= runTogetherLen && t.class == className && !off.Has(RuleRunTogether) {
				ix.fuzzyPairs(t.text, uint16(i), w, st)
			}
			// A company word the index does not know and that misspells
			// none it knows may abbreviate several.
			if kind != KindPerson && !known && len(st.nbrs) == 0 && len(t.text) >= abbreviationMin && abbreviationCandidate(qs) && !off.Has(RuleAcronyms) {
				if len(t.text) > abbreviationMin {
					ix.expandAbbreviation(t.text, uint16(i), w, st)
				}
				ix.expandSyllables(t.text, uint16(i), w, st)
			}
		}
	}
}

// compoundSim is what a shared compound key is worth in retrieval: the
// element matches and the name has the same consonants.
const compoundSim = 0.85

// runTogetherLen is the least length of an unknown query token searched
// for as two alert tokens written together with a slip.
const runTogetherLen = 7

// fuzzyPairs adds the alert names holding two adjacent tokens that t
// writes together with one slip: a letter typed for the space
// ("CARIBECSOL"), or a misspelling in one of the two ("TIYUANACARTEL").
// Each cut of t is tried; one side must be a known token, the other
// known or one edit from a known token, and the pair must stand together
// in some alert name (the index of adjacent pairs says which).
func (ix *Index) fuzzyPairs(t string, tok uint16, w float32, st *searchState) {
	var na, nb [8]uint32
	var h keyHash
	found := 0
	pair := func(a, b uint32) {
		h.SetSeed(ix.seed)
		h.WriteString(ix.toks[a].text)
		h.WriteString(ix.toks[b].text)
		if cid, ok := ix.concatVocab[h.Sum64()]; ok && found < 4 {
			found++
			st.exps = append(st.exps, expansion{tok: tok, sim: 0.85, w: w * 0.85, list: ix.concatPost[cid]})
		}
	}
	side := func(p string, buf []uint32, fuzzy bool) []uint32 {
		if id, ok := ix.vocab[p]; ok {
			return append(buf, id)
		}
		if fuzzy && len(p) >= 3 {
			return ix.neighbours(p, ^uint32(0), 1, buf)
		}
		return buf
	}
	for i := 2; i+2 <= len(t) && found < 4; i++ {
		for skip := 0; skip <= 1 && i+skip+2 <= len(t); skip++ {
			p, q := t[:i], t[i+skip:]
			_, pk := ix.vocab[p]
			_, qk := ix.vocab[q]
			if !pk && !qk {
				continue
			}
			left := side(p, na[:0], skip == 0)
			right := side(q, nb[:0], skip == 0)
			for _, a := range left {
				for _, b := range right {
					pair(a, b)
				}
			}
		}
	}
}

// neighbours returns the vocabulary tokens within edit distance 1 of t
// (2 when reach is 2, for unknown tokens of longTokenLen letters or
// more), other than t itself,
// through the deletion keys: the index files each token under its
// one-letter deletions, the query looks up its own deletions (two deep
// for long tokens), so every single edit and most double edits meet.
func (ix *Index) neighbours(t string, self uint32, reach int, out []uint32) []uint32 {
	var buf, buf2 [64]byte
	if len(t) > len(buf) {
		return out
	}
	maxDist := 1
	if reach > 1 && len(t) >= longTokenLen && self == ^uint32(0) {
		maxDist = 2 // only for tokens the index does not know: likely misspelt
	}
	// Each edit adds at most one letter to a token's letter set and
	// takes at most one away: tokens whose sets differ by more than two
	// letters per edit allowed are further than maxDist, and need no
	// distance computed.
	tm := letterMask(t)
	visit := func(k []byte) {
		h := keyedHash(ix.seed, k)
		for p := ix.delHead(h); p != 0; p = ix.delNext[p-1] {
			id := ix.delTok[p-1]
			if id == self || slices.Contains(out, id) {
				continue
			}
			vt := &ix.toks[id]
			if bits.OnesCount32(tm^vt.mask) > 2*maxDist {
				continue
			}
			if osaDistance(t, vt.text, maxDist) <= maxDist {
				out = append(out, id)
			}
		}
	}
	visit(append(buf[:0], t...))
	for i := 0; i < len(t); i++ {
		if i > 0 && t[i] == t[i-1] {
			continue
		}
		visit(append(append(buf[:0], t[:i]...), t[i+1:]...))
	}
	if maxDist < 2 || len(out) > 0 {
		return out // two edits only when one found nothing
	}
	for i := 0; i < len(t); i++ {
		if i > 0 && t[i] == t[i-1] {
			continue
		}
		d1 := append(append(buf[:0], t[:i]...), t[i+1:]...)
		for j := i; j < len(d1); j++ {
			if j > i && d1[j] == d1[j-1] {
				continue
			}
			visit(append(append(buf2[:0], d1[:j]...), d1[j+1:]...))
		}
	}
	return out
}

// longTokenLen is the length from which fuzzy retrieval reaches two edits.
const longTokenLen = 7

// gather walks the chosen posting lists, accumulating each name's
// weighted evidence, and leaves the best Options.Candidates names in
// st.top. The query tokens' own lists are walked first (RulePrimaryFirst),
// then the lists of near spellings, the shorter first in each; lists
// that would overrun the posting budget are probed instead, through the
// signatures of the names walked (their tokens still count in the full
// score). When the shortest own list overruns the budget, the names it
// shares with another token's lists are walked in its place
// (RuleIntersect); when nothing was walked before it, the shortest list
// is walked cut to the budget, so that a query of common tokens alone
// still finds candidates.
func (ix *Index) gather(kind Kind, st *searchState, namesakes int) {
	primaryFirst := !ix.opts.Disable.Has(RulePrimaryFirst)
	slices.SortFunc(st.exps, func(a, b expansion) int {
		if primaryFirst {
			if pa, pb := a.sim >= primarySim, b.sim >= primarySim; pa != pb {
				if pa {
					return -1
				}
				return 1
			}
		}
		return len(a.list) - len(b.list)
	})
	budget := ix.opts.PostingBudget
	st.cut = false
	keep := st.exps[:0]
	st.probes = st.probes[:0]
	shortest := -1
	for i, e := range st.exps {
		if len(e.list) == 0 {
			continue
		}
		if shortest < 0 || len(e.list) < len(st.exps[shortest].list) {
			shortest = i
		}
	}
	intersect := primaryFirst && !ix.opts.Disable.Has(RuleIntersect)
	st.inter = st.inter[:0]
	st.extra = st.extra[:0]
	for i, e := range st.exps {
		if len(e.list) == 0 {
			continue
		}
		if len(e.list) > budget {
			st.cut = true
		}
		if len(e.list) > budget && intersect && len(keep) == 0 && e.sim >= primarySim {
			// The shortest of the tokens' own lists overruns the budget:
			// walk the names it shares with another token's lists rather
			// than an arbitrary cut of it (RuleIntersect).
			if n := ix.intersectOthers(e, budget, st); n > 0 {
				budget -= n
				intersect = false
				continue
			}
		}
		if len(e.list) > budget {
			if i != shortest || len(keep) > 0 || len(st.extra) > 0 {
				if e.sig != 0 {
					e.wq = uint16(min(1000, max(1, e.w*accScale)))
					st.probes = append(st.probes, e)
				}
				continue
			}
			e.list = e.list[:budget]
		}
		budget -= len(e.list)
		keep = append(keep, e)
	}
	keep = append(keep, st.extra...)
	slices.SortFunc(keep, func(a, b expansion) int {
		return cmp.Or(int(a.tok)-int(b.tok), cmp.Compare(b.sim, a.sim))
	})
	st.touched = st.touched[:0]
	for _, e := range keep {
		bit := tokBit(e.tok)
		wq := uint16(min(1000, max(1, e.w*accScale)))
		for _, n := range e.list {
			c, touched, ok := accSlot(st.acc, st.touched, n)
			st.touched = touched
			if !ok || c.got&bit != 0 {
				continue
			}
			c.got |= bit
			c.acc += wq
		}
	}
	// The lists left out still count for the names found: probed through
	// each name's token signature, best similarity first per token.
	slices.SortFunc(st.probes, func(a, b expansion) int { return cmp.Compare(b.sim, a.sim) })
	// Keep the best candidates, then clear the scratch for the next search.
	// st.top ends sorted by gathered weight, best first. The selection
	// runs on small (name, weight) pairs; st.top is filled at the end.
	sel := st.sel[:0]
	k := ix.opts.Candidates
	// Names that gathered less than half the best weight are left out
	// when enough names gathered more: they would need all the common
	// tokens to catch up, and reading their signatures costs a cache miss
	// each.
	var best uint16
	for _, i := range st.touched {
		best = max(best, st.acc[i].acc)
	}
	floor := best / 2
	strong := 0
	for _, i := range st.touched {
		if st.acc[i].acc >= floor {
			strong++
		}
	}
	if strong < 2*k {
		floor = 0
	}
	// Read the names' meta words first, in a loop of independent loads
	// that the processor overlaps: each is a cache miss, and the
	// selection below branches on them.
	metas := st.metas[:0]
	for _, i := range st.touched {
		var m uint64
		if c := st.acc[i]; c.acc >= floor {
			m = ix.nameMeta[c.name-1]
		}
		metas = append(metas, m)
	}
	st.metas = metas
	tied := st.tied[:0]
	for i, ci := range st.touched {
		n, raw, got := st.acc[ci].name-1, st.acc[ci].acc, st.acc[ci].got
		st.acc[ci] = accCell{}
		if raw < floor {
			continue
		}
		meta := metas[i]
		// Removed names and names of the other kind are dropped here,
		// not while walking, to keep the walk to one memory access.
		if nk := metaKind(meta); nk == KindUnknown || (kind != KindUnknown && nk != kind) {
			continue
		}
		for i := range st.probes {
			p := &st.probes[i]
			bit := tokBit(p.tok)
			if (meta&p.sig^p.sig)|uint64(got&bit) == 0 {
				raw += p.wq
				got |= bit
			}
		}
		// Rank by gathered weight, a little against long names, which
		// gather as much as short ones but pay for their extra tokens.
		a := float32(raw) / accScale / (1 + candidateLengthCost*float32(metaLen(meta)))
		if len(tied) > 0 && a > tied[0].acc {
			tied = tied[:0]
		}
		if len(tied) == 0 || a == tied[0].acc {
			tied = append(tied, selCand{name: n, acc: a})
		}
		if len(sel) < k {
			sel = append(sel, selCand{name: n, acc: a})
			if len(sel) == k {
				slices.SortFunc(sel, func(x, y selCand) int { return cmp.Compare(y.acc, x.acc) })
			}
			continue
		}
		if a <= sel[k-1].acc {
			continue
		}
		// insert into the sorted top list
		j := k - 1
		for j > 0 && sel[j-1].acc < a {
			sel[j] = sel[j-1]
			j--
		}
		sel[j] = selCand{name: n, acc: a}
	}
	if len(sel) < k {
		slices.SortFunc(sel, func(x, y selCand) int { return cmp.Compare(y.acc, x.acc) })
	}
	// When every candidate ties with the best, the names cut are its
	// equals: namesakes, which choosing by name number would hide for no
	// reason an officer could know (RuleNamesakes). They are scored too,
	// up to namesakes names.
	if len(sel) == k && k > 0 && sel[k-1].acc == sel[0].acc && !ix.opts.Disable.Has(RuleNamesakes) {
		kept := st.kept[:0]
		for _, c := range sel {
			kept = append(kept, c.name)
		}
		slices.Sort(kept)
		st.kept = kept
		// tied holds the names of sel[0]'s weight, the best of all.
		for _, c := range tied {
			if len(sel) >= namesakes {
				break
			}
			if _, in := slices.BinarySearch(kept, c.name); !in {
				sel = append(sel, c)
			}
		}
	}
	st.tied = tied
	st.sel = sel
	st.top = st.top[:0]
	for _, c := range sel {
		st.top = append(st.top, cand{name: c.name, acc: c.acc})
	}
}

// intersectFirstMax and intersectOtherMax bound, in multiples of the
// posting budget, the lists RuleIntersect reads: the list that overran the budget, and each list
// of another token it is intersected with. The cost is the shorter list
// times the logarithm of the ratio (galloping), tens of microseconds at
// these bounds.
const (
	intersectFirstMax = 16
	intersectOtherMax = 64
)

// intersectWork bounds, in multiples of the posting budget, the steps
// RuleIntersect's galloping takes over all the lists it intersects: at
// 2,000,000 names (the simulator bench's development list) 16 kept most
// of what no bound finds (one edit 0.902 of 0.903, two edits 0.812 of
// 0.846) for a search CPU p99 of about 187 µs instead of 520 (160
// without the rule).
const intersectWork = 16

// intersectOthers walks, in place of e's list, the names it shares with
// each list of another query token: both tokens are credited to those
// names (expansions appended to st.extra). It returns the postings
// added, at most budget; 0 when no list gives a name in common.
func (ix *Index) intersectOthers(e expansion, budget int, st *searchState) int {
	if len(e.list) > intersectFirstMax*ix.opts.PostingBudget {
		return 0
	}
	used, work := 0, 0
	for _, o := range st.exps {
		if o.tok == e.tok || len(o.list) == 0 || len(o.list) > intersectOtherMax*ix.opts.PostingBudget {
			continue
		}
		// Galloping costs the shorter list times the logarithm of the
		// ratio; the lists go shortest first (gather's order), so the
		// work bound leaves out the longest.
		short, long := min(len(e.list), len(o.list)), max(len(e.list), len(o.list))
		if work += short * bits.Len(uint(long/short)+1); work > intersectWork*ix.opts.PostingBudget {
			break
		}
		from := len(st.inter)
		st.inter = intersectSorted(st.inter, e.list, o.list)
		got := st.inter[from:]
		if len(got) == 0 || used+2*len(got) > budget {
			st.inter = st.inter[:from]
			continue
		}
		used += 2 * len(got)
		st.extra = append(st.extra, expansion{tok: e.tok, sim: e.sim, w: e.w, list: got}, expansion{tok: o.tok, sim: o.sim, w: o.w, list: got})
	}
	return used
}

// intersectSorted appends to dst the values of ascending lists a and b
// that both hold, ascending, galloping through the longer.
func intersectSorted(dst, a, b []uint32) []uint32 {
	if len(a) > len(b) {
		a, b = b, a
	}
	j := 0
	for _, x := range a {
		if j >= len(b) {
			break
		}
		if b[j] < x {
			// Gallop: find the first b[k] >= x past j.
			lo, step := j, 1
			for lo+step < len(b) && b[lo+step] < x {
				lo += step
				step <<= 1
			}
			hi := min(lo+step, len(b)) // b[lo] < x; b[hi] >= x or hi == len(b)
			for lo+1 < hi {
				mid := int(uint(lo+hi) >> 1)
				if b[mid] < x {
					lo = mid
				} else {
					hi = mid
				}
			}
			j = hi
		}
		if j < len(b) && b[j] == x {
			dst = append(dst, x)
			j++
		}
	}
	return dst
}

// primarySim is the similarity from which a posting list is the query
// token's own (the token, its variant group, an adjacent pair): walked
// before the lists of spellings near another token (RulePrimaryFirst).
const primarySim = 0.97

// selCand is a candidate while the best are selected.
type selCand struct {
	name uint32
	acc  float32
}

// candidateCutoff: a candidate that gathered less than this share of the
// best candidate's weight is not worth a full score.
const candidateCutoff = 0.25

// candidateLengthCost is what each token of a candidate name costs in the
// ranking of candidates.
const candidateLengthCost = 0.08

// scoredNames remembers the last few names scored in full in one search,
// so that a namesake, whose tokens are those of a name scored before it,
// takes that name's result instead of a second alignment: at millions of
// names a common name is held by tens of alerts (RuleNamesakes).
type scoredNames struct {
	toks [8][]uint32 // the name's tokens (a view of Index.nameToks)
	hash [8]uint64   // tokensHash of toks: most names kept differ from the one sought there
	kind [8]Kind
	res  [8]nameResult
	n    int // names kept, at most 8; the next is put at n % 8
}

// reset forgets the names kept, and their views of Index.nameToks, so
// that a search state kept for later holds no array a writer replaced.
func (s *scoredNames) reset() {
	clear(s.toks[:min(s.n, len(s.toks))])
	s.n = 0
}

// tokensHash mixes a name's token numbers, in order, into one word.
func tokensHash(toks []uint32) uint64 {
	h := uint64(len(toks))
	for _, t := range toks {
		h = (h ^ uint64(t)) * 0x9e3779b97f4a7c15
	}
	return h
}

// get returns the result of a name kept with the tokens toks (hash h),
// in the same order, scored as the same kind. Comparing the words first
// spares the token arrays' loads: most candidates are no namesake of
// the last eight (slices.Equal was 7 % of a name check's CPU at 100M).
func (s *scoredNames) get(toks []uint32, h uint64, kind Kind) (nameResult, bool) {
	for i := range min(s.n, len(s.toks)) {
		if s.hash[i] == h && s.kind[i] == kind && slices.Equal(toks, s.toks[i]) {
			return s.res[i], true
		}
	}
	return nameResult{}, false
}

// put keeps the result of the name with tokens toks (hash h), in place
// of the oldest kept.
func (s *scoredNames) put(toks []uint32, h uint64, kind Kind, res nameResult) {
	i := s.n % len(s.toks)
	s.toks[i], s.hash[i], s.kind[i], s.res[i] = toks, h, kind, res
	s.n++
}
