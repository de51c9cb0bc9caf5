package name

import (
	"slices"
)

// Acronyms: organisations are written by their initials as often as in
// full ("IRISL" for Islamic Republic of Iran Shipping Lines, "PFLP" for
// Popular Front for the Liberation of Palestine), the more so on cargo
// documents typed in a hurry. A company name's initials are indexed; the
// scorer pairs an acronym on one side with the run of words it stands for
// on the other. An acronym alone says less than the words it abbreviates
// (many names share initials), so the pair counts only as much as the
// acronym token and short acronyms count for less (see acronymSim).

// acronymMin and acronymMax bound the acronyms indexed and compared.
// Alert tokens that the whole query's initials spell are looked up only
// from reverseAcronymMin letters: alert names hold many short tokens that
// are nobody's initials ("KK AKF" is not Akhmad Kadyrov Fund).
const (
	acronymMin        = 3
	acronymMax        = 8
	reverseAcronymMin = 4
)

// An abbreviation of leading letters ("COMECARNES") has abbreviationMin to
// abbreviationMax letters and counts as abbreviationSim.
const (
	abbreviationMin = 5
	abbreviationMax = 16
	abbreviationSim = 0.85
)

// acronymKey marks acronym keys in the table of joined tokens: those keys
// are hashes of letters only, so a leading zero byte cannot collide.
const acronymKey = "\x00"

// acronymSim is the similarity of an acronym to the words it stands for:
// the longer, the less likely by chance.
func acronymSim(n int) float64 {
	switch {
	case n <= 3:
		return 0.8
	case n == 4:
		return 0.86
	}
	return 0.9
}

// initialsOf appends to buf the initials of toks that an acronym spells,
// skipping glue words (the, of) and numbers; legal forms count unless
// skipLegal. It stops at acronymMax letters, and returns buf unchanged
// when fewer than acronymMin words would spell it.
func initialsOf(buf []byte, toks []token, skipLegal bool) []byte {
	start := len(buf)
	for _, t := range toks {
		if t.class == classStop || t.class == classNumber || (skipLegal && t.class == classLegal) || t.text == "" {
			continue
		}
		c := t.text[0]
		if c < 'a' || c > 'z' {
			continue
		}
		buf = append(buf, c)
		if len(buf)-start == acronymMax {
			break // only the leading part of longer initials is filed
		}
	}
	if len(buf)-start < acronymMin {
		return buf[:start]
	}
	return buf
}

// acronymKeys appends to keys the keys a company name made of toks is
// filed under: its initials, with and without legal forms, and their
// leading parts of acronymMin letters or more ("DFLP" for Democratic Front for the Liberation of Palestine,
// Hawatmeh Faction).
func (ix *Index) acronymKeys(toks []token, keys []uint64) []uint64 {
	var buf [2 * (acronymMax + 1)]byte
	all := initialsOf(buf[:0], toks, false)
	bare := initialsOf(buf[len(all):len(all)], toks, true)
	for v, ini := range [][]byte{all, bare} {
		if v == 1 && string(bare) == string(all) {
			break
		}
		// One running hash gives the keys of all the leading parts.
		var h keyHash
		h.SetSeed(ix.seed)
		h.WriteString(acronymKey)
		for k, c := range ini[:min(len(ini), acronymMax)] {
			h.WriteByte(c)
			if k+1 >= acronymMin {
				keys = append(keys, h.Sum64())
			}
		}
	}
	// Abbreviations of leading letters mostly start with two letters of
	// each of two words (HOTINCOL for Hoteles e Inmuebles de Colombia):
	// each pair of adjacent words is filed under those four letters.
	prev := -1
	for i, t := range toks {
		if t.class == classStop || t.class == classNumber || len(t.text) < 2 {
			continue
		}
		if prev >= 0 {
			keys = append(keys, ix.acronymKey([]byte{'+', toks[prev].text[0], toks[prev].text[1], t.text[0], t.text[1]}, ""))
		}
		prev = i
	}
	// A trailing legal form is often spelt in full: "ZISCO" for Zimbabwe
	// Iron and Steel Company.
	last := len(toks) - 1
	for last >= 0 && toks[last].class == classStop {
		last--
	}
	if last < 2 || toks[last].class != classLegal || len(toks[last].text) > 4 {
		return keys
	}
	head := toks[:last]
	all = initialsOf(buf[:0], head, false)
	bare = initialsOf(buf[len(all):len(all)], head, true)
	for _, ini := range [][]byte{all, bare} {
		if len(ini) >= 2 && len(ini) < acronymMax {
			keys = append(keys, ix.acronymKey(ini, toks[last].text))
		}
	}
	return keys
}

// acronymKey returns the key of the acronym ini+tail.
func (ix *Index) acronymKey(ini []byte, tail string) uint64 {
	var h keyHash
	h.SetSeed(ix.seed)
	h.WriteString(acronymKey)
	h.Write(ini)
	h.WriteString(tail)
	return h.Sum64()
}

// expandAcronyms adds, for a company query, the alert names holding a
// token that the query's initials spell (the alert "IRISL" for the query
// Islamic Republic of Iran Shipping Lines), with legal forms and without.
func (ix *Index) expandAcronyms(toks []token, st *searchState) {
	first := slices.IndexFunc(toks, func(t token) bool { return t.class != classStop && t.class != classNumber })
	if first < 0 {
		return
	}
	var buf [2 * acronymMax]byte
	all := initialsOf(buf[:0], toks, false)
	bare := initialsOf(buf[len(all):len(all)], toks, true)
	var prev uint32 = ^uint32(0)
	for _, ini := range [][]byte{all, bare} {
		if len(ini) < reverseAcronymMin {
			continue
		}
		id, ok := ix.vocab[string(ini)]
		if !ok || id == prev || ix.toks[id].class != className {
			continue
		}
		prev = id
		sim := float32(acronymSim(len(ini)))
		w := float32(ix.tokenWeight(ix.toks[id].df, className))
		st.exps = append(st.exps, expansion{tok: uint16(first), sim: sim, w: w * sim, sig: sigBits(sigToken, id), list: ix.toks[id].post})
	}
}

// expandAbbreviation adds the names holding the word an abbreviation
// ends or starts with in full, the way most are made ("COLCERDOS" for
// Colombiana de Cerdos, "VALLECOM" for Valle Comunicaciones): the longest
// known word of four letters or more at either end of t, leaving at least
// two letters for other words. The full score then checks the rest.
func (ix *Index) expandAbbreviation(t string, tok uint16, w float32, st *searchState) {
	add := func(s string) bool {
		id, ok := ix.vocab[s]
		if ok && ix.toks[id].class == className {
			st.exps = append(st.exps, expansion{tok: tok, sim: abbreviationSim, w: w * abbreviationSim, sig: sigBits(sigToken, id), list: ix.toks[id].post})
		}
		return ok
	}
	for p := 2; p+4 <= len(t) && !add(t[p:]); p++ {
	}
	for p := len(t) - 2; p >= 4 && !add(t[:p]); p-- {
	}
}

// expandSyllables adds the names with two adjacent words that an
// abbreviation t starts with: the first two letters of one, and two
// letters of the next after a first piece of two to four letters
// (HOTINCOL: ho-in, Hoteles e Inmuebles).
func (ix *Index) expandSyllables(t string, tok uint16, w float32, st *searchState) {
	var key [5]byte
	key[0], key[1], key[2] = '+', t[0], t[1]
	for l := 2; l <= 4 && l+2 <= len(t); l++ {
		key[3], key[4] = t[l], t[l+1]
		if list := ix.acronymList(string(key[:])); len(list) > 0 {
			st.exps = append(st.exps, expansion{tok: tok, sim: abbreviationSim, w: w * abbreviationSim, list: list})
		}
	}
}

// acronymList returns the names filed under acronym t.
func (ix *Index) acronymList(t string) []uint32 {
	var h keyHash
	h.SetSeed(ix.seed)
	h.WriteString(acronymKey)
	h.WriteString(t)
	if cid, ok := ix.concatVocab[h.Sum64()]; ok {
		return ix.concatPost[cid]
	}
	return nil
}

// acronymCandidate says whether a token may be an acronym: a name token
// of acronymMin to acronymMax letters.
func acronymCandidate(t *stok) bool {
	if len(t.text) > acronymMax {
		return false
	}
	return abbreviationCandidate(t)
}

// abbreviationCandidate says whether a token may abbreviate several
// words: a name token of acronymMin to abbreviationMax letters.
func abbreviationCandidate(t *stok) bool {
	if t.class != className || len(t.text) < acronymMin || len(t.text) > abbreviationMax {
		return false
	}
	for i := 0; i < len(t.text); i++ {
		if c := t.text[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// acronyms adds pairs of a token of a that abbreviates a run of tokens
// of b: an acronym spells one initial per word ("IRISL"), an abbreviation
// joins the leading letters of each ("COMECARNES" for Comercializadora de
// Carnes). The run starts at a word the token starts with; glue words and
// legal forms may be passed over or spelt (the "CO" of "IAMCO" is the
// company). Tokens in skip (those with a partner spelt like them) are
// left out. swapped says a is the alert side.
func (sc *scorer) acronyms(a, b []stok, skip uint32, swapped bool) {
	for i := range a {
		if skip>>i&1 != 0 || !abbreviationCandidate(&a[i]) {
			continue
		}
		s := a[i].text
		for j := range b {
			if b[j].class != className || b[j].text[0] != s[0] {
				continue
			}
			method, sim := MethodAcronym, acronymSim(len(s))
			end := -1
			if len(s) <= acronymMax {
				end = spellRun(s, b, j, true, 0)
			}
			if end < 0 && len(s) >= abbreviationMin {
				method, sim = MethodAbbreviation, abbreviationSim
				end = spellRun(s, b, j, false, 0)
			}
			if end < 0 || end-j+1 > 31-j {
				continue
			}
			sc.pairs = append(sc.pairs, oriented(i, 1, j, end-j+1, method, sim, swapped))
		}
	}
}

// spellRun returns the index of the last token of the run of b, starting
// with b[j], whose words s spells piece by piece, or -1. Each piece is the
// leading letters of one word (one letter when initials); glue words and
// legal forms may be passed over, ordinary words may not; at least two
// words must be spelt. Pieces are tried longest first, so the
// work is bounded by the letters s shares with the words.
func spellRun(s string, b []stok, j int, initials bool, words int) int {
	if s == "" {
		if words < 2 {
			return -1
		}
		return j - 1
	}
	if j >= len(b) {
		return -1
	}
	t := &b[j]
	if t.class == classNumber {
		return -1
	}
	n := min(len(t.text), len(s))
	if initials && t.class != classLegal {
		n = min(n, 1)
	}
	for l := n; l >= 1; l-- {
		if t.text[:l] != s[:l] {
			continue
		}
		if end := spellRun(s[l:], b, j+1, initials, words+1); end >= 0 {
			return end
		}
	}
	if (t.class == classStop || t.class == classLegal || t.class == classParticle) && words > 0 {
		return spellRun(s, b, j+1, initials, words)
	}
	return -1
}
