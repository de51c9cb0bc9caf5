package name

// Jaro returns the Jaro similarity of a and b in [0, 1], compared rune by
// rune. It matches jellyfish's jaro_similarity; two empty strings score 0.
func Jaro(a, b string) float64 {
	return jaroWinkler([]rune(a), []rune(b), false, false)
}

// JaroWinkler returns the Jaro-Winkler similarity of a and b in [0, 1]
// (prefix scale 0.1, prefix of at most 4, boost above 0.7), as jellyfish's
// jaro_winkler_similarity computes it.
func JaroWinkler(a, b string) float64 {
	return jaroWinkler([]rune(a), []rune(b), true, false)
}

// JaroWinklerLongTolerance is JaroWinkler with jellyfish's long-string
// tolerance adjustment, which rewards long strings sharing many characters
// (as jellyfish 1.x computes it, digits included).
func JaroWinklerLongTolerance(a, b string) float64 {
	return jaroWinkler([]rune(a), []rune(b), true, true)
}

// jaroWinkler works on runes; flags live on the stack for short names so
// that scoring does not allocate.
func jaroWinkler[T byte | rune](a, b []T, winklerize, longTolerance bool) float64 {
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	minLen := min(la, lb)
	searchRange := max(la, lb)/2 - 1
	if searchRange < 0 {
		searchRange = 0
	}
	var fa, fb []bool
	var bufA, bufB [64]bool
	if la <= 64 && lb <= 64 {
		fa, fb = bufA[:la], bufB[:lb]
	} else {
		fa, fb = make([]bool, la), make([]bool, lb)
	}
	common := 0
	for i, ch := range a {
		lo := max(0, i-searchRange)
		hi := min(i+searchRange, lb-1)
		for j := lo; j <= hi; j++ {
			if !fb[j] && b[j] == ch {
				fa[i], fb[j] = true, true
				common++
				break
			}
		}
	}
	if common == 0 {
		return 0
	}
	k, trans := 0, 0
	for i := range a {
		if !fa[i] {
			continue
		}
		j := k
		for ; j < lb; j++ {
			if fb[j] {
				k = j + 1
				break
			}
		}
		if a[i] != b[j] {
			trans++
		}
	}
	trans /= 2
	c := float64(common)
	w := (c/float64(la) + c/float64(lb) + (c-float64(trans))/c) / 3
	if winklerize && w > 0.7 {
		j := min(minLen, 4)
		i := 0
		for i < j && a[i] == b[i] {
			i++
		}
		if i > 0 {
			w += float64(i) * 0.1 * (1 - w)
		}
		if longTolerance && minLen > 4 && common > i+1 && 2*common >= minLen+i {
			w += (1 - w) * (float64(common-i-1) / float64(la+lb-i*2+2))
		}
	}
	return w
}

// Levenshtein returns the edit distance (insertions, deletions,
// substitutions) between a and b, counted in runes.
func Levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// DamerauLevenshtein returns the unrestricted Damerau-Levenshtein distance
// between a and b (transpositions of adjacent runes cost 1, substrings may
// be edited after a transposition), as jellyfish computes it.
func DamerauLevenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	la, lb := len(ra), len(rb)
	maxd := la + lb
	da := map[rune]int{}
	w := lb + 2
	d := make([]int, (la+2)*w)
	at := func(i, j int) *int { return &d[i*w+j] }
	*at(0, 0) = maxd
	for i := 0; i <= la; i++ {
		*at(i+1, 0) = maxd
		*at(i+1, 1) = i
	}
	for j := 0; j <= lb; j++ {
		*at(0, j+1) = maxd
		*at(1, j+1) = j
	}
	for i := 1; i <= la; i++ {
		db := 0
		for j := 1; j <= lb; j++ {
			i1 := da[rb[j-1]]
			j1 := db
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
				db = j
			}
			*at(i+1, j+1) = min(
				*at(i, j)+cost,
				*at(i+1, j)+1,
				*at(i, j+1)+1,
				*at(i1, j1)+(i-i1-1)+1+(j-j1-1),
			)
		}
		da[ra[i-1]] = i
	}
	return *at(la+1, lb+1)
}

// osaDistance is the optimal-string-alignment distance (adjacent
// transpositions cost 1) between two short byte strings, giving up and
// returning budget+1 as soon as every path exceeds budget. It is the
// verifier for fuzzy neighbours and allocates nothing for names of up to 32
// bytes.
func osaDistance(a, b string, budget int) int {
	la, lb := len(a), len(b)
	if la-lb > budget || lb-la > budget {
		return budget + 1
	}
	if la > 32 || lb > 32 {
		// Longer strings (legal phrases of several words) were always
		// measured by plain Levenshtein; levenshteinWithin gives the
		// same answer without allocating or filling the whole table.
		return levenshteinWithin(a, b, budget)
	}
	var r0, r1, r2 [33]int
	pp, p, c := r0[:lb+1], r1[:lb+1], r2[:lb+1]
	for j := range p {
		p[j] = j
	}
	for i := 1; i <= la; i++ {
		c[0] = i
		rowMin := c[0]
		for j := 1; j <= lb; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(p[j]+1, c[j-1]+1, p[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, pp[j-2]+1)
			}
			c[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > budget {
			return budget + 1
		}
		pp, p, c = p, c, pp
	}
	return min(p[lb], budget+1)
}

// maxBandedLen bounds the strings levenshteinWithin measures in its band;
// longer ones go to Levenshtein.
const maxBandedLen = 128

// levenshteinWithin returns min(Levenshtein(a, b), budget+1), filling
// only the cells within budget of the diagonal: a cell further off holds
// at least its distance from the diagonal, more than budget, and every
// cell is clamped to budget+1, which the recurrence's minimum and +1
// commute with, so the corner is exact. It gives up once a whole row
// exceeds budget (a row's least value never decreases downwards). Non-
// ASCII strings and strings over maxBandedLen bytes go to Levenshtein,
// which counts runes.
func levenshteinWithin(a, b string, budget int) int {
	la, lb := len(a), len(b)
	if budget < 0 {
		return budget + 1 // at most 0, which no distance is under
	}
	if la > maxBandedLen || lb > maxBandedLen || !isASCII(a) || !isASCII(b) {
		return min(Levenshtein(a, b), budget+1)
	}
	if la-lb > budget || lb-la > budget {
		return budget + 1
	}
	out := budget + 1
	var r0, r1 [maxBandedLen + 1]int
	p, c := r0[:lb+1], r1[:lb+1]
	for j := range p {
		p[j] = min(j, out)
	}
	for i := 1; i <= la; i++ {
		lo, hi := max(1, i-budget), min(lb, i+budget)
		// Cells left of the band are over budget; so is c[0] once i is.
		c[0] = min(i, out)
		if lo > 1 {
			c[lo-1] = out
		}
		rowMin := c[0]
		if lo > 1 {
			rowMin = out
		}
		for j := lo; j <= hi; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(p[j]+1, c[j-1]+1, p[j-1]+cost, out)
			c[j] = v
			rowMin = min(rowMin, v)
		}
		if hi < lb {
			c[hi+1] = out // read as the row above by the next row's last cell
		}
		if rowMin >= out {
			return out
		}
		p, c = c, p
	}
	return p[lb]
}

// weightedEditSimilarity compares two ASCII tokens with an edit distance in
// which confusable letters (vowels for vowels, c/k/q, s/z, v/w, i/y, ...)
// cost 0.6, doubled letters and h 0.5-0.6 to insert or delete, and other
// edits 1, adjacent transpositions 1. It gives up once the cost passes the
// budget and then returns 0. The result is 1 - cost/(len(longer)+2), so
// one edit in six letters gives 0.875. Costs are kept in tenths, as
// integers, and each letter's insertion cost is worked out once: the
// scorer calls this for every close pair of every candidate.
func weightedEditSimilarity(a, b string, budget float64) float64 {
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	if float64(abs(la-lb)) > budget || la > 32 || lb > 32 {
		return 0
	}
	limit := int32(budget*10 + 1e-9)
	var ia, ib [32]int32
	for i := range la {
		ia[i] = indelCost10(a, i)
	}
	for j := range lb {
		ib[j] = indelCost10(b, j)
	}
	var r0, r1, r2 [33]int32
	pp, p, c := r0[:lb+1], r1[:lb+1], r2[:lb+1]
	for j := range p {
		p[j] = int32(j) * 10
	}
	for i := 1; i <= la; i++ {
		ai := a[i-1]
		c[0] = int32(i) * 10
		rowMin := c[0]
		for j := 1; j <= lb; j++ {
			v := min(p[j]+ia[i-1], c[j-1]+ib[j-1], p[j-1]+substCost10(ai, b[j-1]))
			if i > 1 && j > 1 && ai == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, pp[j-2]+10)
			}
			c[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return 0
		}
		pp, p, c = p, c, pp
	}
	cost := p[lb]
	if cost > limit {
		return 0
	}
	return 1 - float64(cost)/10/float64(max(la, lb)+2)
}

// indelCost10 makes inserting or deleting a doubled letter or an 'h'
// cheap (tenths): transliterations disagree most about those
// (Mohammed/Mohamed, Kh/K).
func indelCost10(s string, i int) int32 {
	ch := s[i]
	if (i > 0 && s[i-1] == ch) || (i+1 < len(s) && s[i+1] == ch) {
		return 5
	}
	if ch == 'h' {
		return 6
	}
	return 10
}

// substCost10 is the cost of writing one letter for another (tenths):
// less for letters that transliterations exchange.
func substCost10(x, y byte) int32 {
	if x == y {
		return 0
	}
	if x-'a' < 26 && y-'a' < 26 && confusable[x-'a']&(1<<(y-'a')) != 0 {
		return 6
	}
	return 10
}

// confusable is the table of letter pairs that transliterations exchange
// for one another (vowels, c/k/q/g, s/z, v/w, i/y/j, g/j, d/t, b/p, f/v): a
// bit per pair, built once and never changed.
var confusable = buildConfusable()

func buildConfusable() (t [26]uint32) {
	for _, g := range []string{"aeiouy", "ckqg", "sz", "vw", "iyj", "gj", "dt", "bp", "fv"} {
		for i := 0; i < len(g); i++ {
			for j := 0; j < len(g); j++ {
				t[g[i]-'a'] |= 1 << (g[j] - 'a')
			}
		}
	}
	return t
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
