package name

import "slices"

// Whole names (RuleWholeName). Retrieval walks posting lists within a
// budget: at millions of names a name made only of common tokens
// ("Mohammed Mustafa al-Zahrani", "Ly Van Son") has every list over the
// budget, and the bounded intersection of those lists may miss it even
// when the query is the name itself. So each name of two tokens or more
// is also filed under a keyed hash of its tokens' vocabulary numbers,
// sorted, and a query whose tokens are all known meets, through one
// chain, the names made of exactly its tokens in any order.

// The chain is walked only when gather left a list of the query
// unwalked or walked in part (otherwise every name holding the tokens was
// accumulated already), for at most namesakeFresh times the limit names,
// reading at most wholeWalkMax times as many links (a hash shared by
// other token sets, tombstones): each link is a cache miss or two. At
// 100M alerts, taking up to Options.Ties times the limit names raised the
// one-name p99 from 270-300 to 330-380 µs.
const (
	wholeWalkMax  = 2
	wholeMinToken = 2
)

// wholeHash is the keyed hash of a token set, given as its vocabulary
// numbers sorted. It is never 0, which marks a name not filed.
func wholeHash(s hashSeed, sorted []uint32) uint64 {
	h := s.k0 ^ wymix(uint64(len(sorted))^wyp0, s.k1^wyp1)
	for _, id := range sorted {
		h = wymix(h^uint64(id)^wyp1, s.k1^wyp2)
	}
	h = wymix(h^s.k1, wyp0)
	if h == 0 {
		h = 1
	}
	return h
}

// fileWhole files name n, whose tokens are already in nameToks, under
// its whole-name hash; a name of fewer than wholeMinToken tokens is
// filed under 0 (not at all): its one token's list serves it.
func (ix *Index) fileWhole(n uint32) {
	toks := ix.nameToks[ix.nameStart[n]:ix.nameStart[n+1]]
	if len(toks) < wholeMinToken {
		ix.wholeKey = append(ix.wholeKey, 0)
		ix.wholeNext = append(ix.wholeNext, 0)
		return
	}
	var buf [maxTokens]uint32
	sorted := buf[:copy(buf[:], toks)]
	slices.Sort(sorted)
	h := wholeHash(ix.seed, sorted)
	ix.wholeKey = append(ix.wholeKey, h)
	ix.wholeNext = append(ix.wholeNext, ix.wholeHeads.head(h, ix.wholeKey))
	ix.wholeHeads.set(h, n+1, ix.wholeKey)
}

// fileWholeAll files every name again: after Decode, which does not
// persist the chains (they are rebuilt in well under a second at
// millions of names).
func (ix *Index) fileWholeAll() {
	ix.wholeHeads = chainHeads{}
	ix.wholeKey = make([]uint64, 0, len(ix.nameEntry))
	ix.wholeNext = make([]uint32, 0, len(ix.nameEntry))
	for n := range uint32(len(ix.nameEntry)) {
		ix.fileWhole(n)
	}
}

// tokAlt is a vocabulary token a query token reads as: itself (exact),
// or through a digraph, a transposition or a fuzzy neighbour.
type tokAlt struct {
	pos   uint8
	exact bool
	id    uint32
}

// wholeAltMax bounds the tokens each query token is read as, and
// wholeCombos the token sets looked up, for a query with misspelt tokens:
// each lookup is a probe or two of the chain heads.
const (
	wholeAltMax = 4
	wholeCombos = 16
)

// wholeFound says whether retrieval already found what the chain would
// give for the query's own tokens: the best-scored candidate so far is a
// name made of them (whole-name hash h), and at least want candidates
// score as it does (its namesakes, as many as the chain would give).
func (ix *Index) wholeFound(st *searchState, h uint64, want int) bool {
	if len(st.best) == 0 {
		return false
	}
	b, same := 0, 0
	for i := range st.best {
		switch {
		case st.best[i].score > st.best[b].score:
			b, same = i, 1
		case st.best[i].score == st.best[b].score:
			same++
		}
	}
	return same >= want && ix.wholeKey[st.best[b].name] == h
}

// addWholeNames appends to st.top, as candidates of the best weight
// gathered, the live names of kind made of exactly the known tokens the
// query's tokens read as (st.alts: each itself when known, else its
// digraph reading, transposition or fuzzy neighbours), in any order, that
// are not among them already: up to namesakeFresh times limit names,
// from at most wholeCombos token sets, the query's own first, whose names
// may be as many as Options.Ties times limit.
func (ix *Index) addWholeNames(kind Kind, st *searchState, limit int) {
	nq := len(st.q)
	if nq < wholeMinToken || nq > maxTokens {
		return
	}
	// Each position's alternatives, in st.alts order (grouped by
	// position, the token itself first).
	var first, count [maxTokens]int
	for k, a := range st.alts {
		p := int(a.pos)
		if p >= nq {
			continue
		}
		if count[p] == 0 {
			first[p] = k
		}
		if count[p] < wholeAltMax {
			count[p]++
		}
	}
	allExact := true
	for p := range nq {
		if count[p] == 0 {
			return // a token reads as no known token: no name is made of them
		}
		allExact = allExact && st.alts[first[p]].exact
	}
	want := namesakeFresh * limit
	// The query's first reading is a name many entries may hold (at 2
	// million names, "Bui Van Hung" by 38): its chain gives up to as many
	// names as Search returns tying (RuleNamesakes), not only want, so
	// that a namesake is not left out because retrieval met others first.
	// The other readings stay within want.
	wantOwn := want
	if !ix.opts.Disable.Has(RuleNamesakes) {
		wantOwn = max(want, ix.opts.Ties*limit)
	}
	// The query's first reading: its own tokens when all are known.
	own := st.wholeIDs[:0]
	for p := range nq {
		own = append(own, st.alts[first[p]].id)
	}
	slices.Sort(own)
	st.wholeIDs = own
	ownHash := wholeHash(ix.seed, own)
	if allExact && ix.wholeFound(st, ownHash, wantOwn) {
		return
	}
	var acc float32
	if len(st.top) > 0 {
		acc = st.top[0].acc
	}
	// The names already candidates, sorted, once a chain gives a name:
	// most lookups meet an empty chain.
	var kept []uint32
	sorted := false
	walk := wholeWalkMax * wantOwn
	added := 0
	// take adds the names of token set ids (sorted), hash h, while fewer
	// than want are added.
	take := func(ids []uint32, h uint64, want int) {
		for ptr := ix.wholeHeads.head(h, ix.wholeKey); ptr != 0 && added < want && walk > 0; ptr = ix.wholeNext[ptr-1] {
			walk--
			n := ptr - 1
			if ix.wholeKey[n] != h || ix.nameKind[n] == KindUnknown || (kind != KindUnknown && ix.nameKind[n] != kind) {
				continue
			}
			if !sameTokenSet(ix.nameToks[ix.nameStart[n]:ix.nameStart[n+1]], ids) {
				continue
			}
			if !sorted {
				kept = st.kept[:0]
				for _, c := range st.top {
					kept = append(kept, c.name)
				}
				slices.Sort(kept)
				st.kept, sorted = kept, true
			}
			if _, in := slices.BinarySearch(kept, n); in {
				continue
			}
			st.top = append(st.top, cand{name: n, acc: acc})
			added++
		}
	}
	// The query's first reading, then, for a query of three tokens or
	// more that may hold one the name lacks (a given name added), that
	// reading less one token, then the other readings in turn.
	take(own, ownHash, wantOwn)
	walk = min(walk, wholeWalkMax*want)
	var buf [maxTokens]uint32
	combos := 1
	for d := 0; nq >= 3 && d < nq && combos < wholeCombos && added < want && walk > 0; d, combos = d+1, combos+1 {
		// own is sorted: less its d-th number, it still is.
		ids := append(append(buf[:0], own[:d]...), own[d+1:]...)
		take(ids, wholeHash(ix.seed, ids), want)
	}
	var pick [maxTokens]int // the odometer: reading index per position
	for combos < wholeCombos && added < want && walk > 0 {
		// Next token set: the odometer turns from the last position.
		p := nq - 1
		for p >= 0 {
			pick[p]++
			if pick[p] < count[p] {
				break
			}
			pick[p] = 0
			p--
		}
		if p < 0 {
			break // every set tried
		}
		ids := buf[:0]
		for p := range nq {
			ids = append(ids, st.alts[first[p]+pick[p]].id)
		}
		slices.Sort(ids)
		take(ids, wholeHash(ix.seed, ids), want)
		combos++
	}
}

// sameTokenSet says whether toks, in any order, are sorted.
func sameTokenSet(toks, sorted []uint32) bool {
	if len(toks) != len(sorted) {
		return false
	}
	var buf [maxTokens]uint32
	s := buf[:copy(buf[:], toks)]
	slices.Sort(s)
	return slices.Equal(s, sorted)
}
