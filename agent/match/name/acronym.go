package name

import (
	"hash/maphash"
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
// skipLegal. It stops at acronymMax letters and returns buf unchanged when fewer than acronymMin words
// would spell it.
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

// addAcronyms files company name n under its initials, with and without
// legal forms, and under their leading parts of acronymMin letters or
// more ("DFLP" for Democratic Front for the Liberation of Palestine,
// Hawatmeh Faction).
func (ix *Index) addAcronyms(n uint32, toks []token) {
	var buf [2 * (acronymMax + 1)]byte
	all := initialsOf(buf[:0], toks, false)
	bare := initialsOf(buf[len(all):len(all)], toks, true)
	for _, ini := range [][]byte{all, bare} {
		for k := acronymMin; k <= min(len(ini), acronymMax); k++ {
			var h maphash.Hash
			h.SetSeed(ix.seed)
			h.WriteString(acronymKey)
			h.Write(ini[:k])
			ix.fileConcat(h.Sum64(), n)
		}
	}
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

// acronymList returns the names filed under acronym t.
func (ix *Index) acronymList(t string) []uint32 {
	var h maphash.Hash
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
	if t.class != className || len(t.text) < acronymMin || len(t.text) > acronymMax {
		return false
	}
	for i := 0; i < len(t.text); i++ {
		if c := t.text[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// acronyms adds pairs of a token of a that is an acronym of a run of
// tokens of b: the run starts at a word with the acronym's first letter
// and takes one word per letter, passing over glue words and over legal
// forms whose initial does not fit. swapped says a is the alert side.
func (sc *scorer) acronyms(a, b []stok, swapped bool) {
	for i := range a {
		if !acronymCandidate(&a[i]) {
			continue
		}
		acr := a[i].text
		for j := range b {
			if b[j].class == classStop || b[j].text[0] != acr[0] || len(b[j].text) < 2 {
				continue
			}
			k, end := 1, j
			for jj := j + 1; jj < len(b) && k < len(acr); jj++ {
				t := &b[jj]
				if t.class == classStop {
					continue
				}
				if t.text[0] == acr[k] && t.class != classNumber {
					k++
					end = jj
					continue
				}
				if t.class == classLegal {
					continue
				}
				break
			}
			if k < len(acr) || end-j+1 > 31-j {
				continue
			}
			p := pairing{qi: uint8(i), qn: 1, ci: uint8(j), cn: uint8(end - j + 1), method: MethodAcronym, sim: acronymSim(len(acr))}
			if swapped {
				p = pairing{qi: uint8(j), qn: uint8(end - j + 1), ci: uint8(i), cn: 1, method: MethodAcronym, sim: p.sim}
			}
			sc.pairs = append(sc.pairs, p)
		}
	}
}
