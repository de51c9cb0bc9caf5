package name

import (
	"strings"
)

// Arabic compound names are written in one word or several: "Abdelrazik"
// and "Abd al-Raziq", "Nasreddine" and "Nasr al-Din", "Aboubakr" and
// "Abu Bakr", "Hayatullah" and "Hayat Ullah". The scorer compares a word
// with a run of words (see scorer.merges); what retrieval needs is a key
// both writings share. It is the compound's element (abd, abu, din,
// allah) and the consonant skeleton of the name it joins, so that the
// spelling of the name may vary too (Raziq, Razik; Nasr, Nasir, Naser).
// Names are not cut in the index: a compound written the same way on
// both sides stays one rare token, the strongest evidence there is.

// compoundKeyTag marks compound keys in the table of joined tokens.
const compoundKeyTag = "\x02"

// splitCompound returns the element and the name of a one-word compound,
// or ok false. The name must keep three letters. Callers leave out words
// in a variant group (Abdullah, Abdulrahman): they are names of their own.
func splitCompound(t string) (elem, name string, ok bool) {
	if len(t) < 6 {
		return "", "", false
	}
	// Most words are neither: tell by the first and last two letters.
	switch t[len(t)-2:] {
	case "ne", "in", "en", "ah":
	default:
		switch t[:2] {
		case "ab", "be", "bi", "ib":
		default:
			return "", "", false
		}
	}
	for _, p := range [...]string{"abdoul", "abdel", "abdul", "abdal", "abdol", "abdil"} {
		if rest, cut := strings.CutPrefix(t, p); cut && len(rest) >= 3 && !strings.HasPrefix(rest, "lah") {
			return "abd", rest, true
		}
	}
	if len(t) >= 8 && strings.HasPrefix(t, "abd") && isVowel(t[3]) && t[4] == t[5] && !isVowel(t[4]) {
		return "abd", t[5:], true // the sun letter doubled: Abdurrahim, Abdessalam
	}
	for _, p := range [...]string{"abou", "abu"} {
		if rest, cut := strings.CutPrefix(t, p); cut && len(rest) >= 4 {
			return "abu", rest, true
		}
	}
	for _, p := range [...]string{"ben", "bin", "ibn"} {
		if rest, cut := strings.CutPrefix(t, p); cut && len(rest) >= 5 {
			return "bin", rest, true // Benhammedi, Bin Hammidi
		}
	}
	for _, s := range [...]struct{ suffix, elem string }{
		{"eddine", "din"}, {"eddin", "din"}, {"eddeen", "din"}, {"uddin", "din"}, {"uddeen", "din"},
		{"addin", "din"}, {"aldin", "din"}, {"iddin", "din"}, {"ideen", "din"}, {"oddin", "din"},
		{"ullah", "allah"}, {"ollah", "allah"}, {"allah", "allah"},
	} {
		if head, cut := strings.CutSuffix(t, s.suffix); cut && len(head) >= 3 {
			return s.elem, head, true
		}
	}
	return "", "", false
}

// articleJoined returns the name of a word written with its article
// joined (Elsharif, Alhamid), or ok false.
func articleJoined(t string) (name string, ok bool) {
	if len(t) >= 6 && (t[0] == 'a' || t[0] == 'e') && t[1] == 'l' && !isVowel(t[2]) {
		return t[2:], true
	}
	return "", false
}

func isVowel(c byte) bool { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' }

// compoundElem returns the element a separate word stands for in a
// compound written apart ("abdel" in "Abdel Razik", "din" in "Nasr
// ad-Din"), and whether it leads (abd, abu) or follows (din, allah).
func compoundElem(t string) (elem string, leads bool) {
	switch t {
	case "abd", "abdel", "abdul", "abdal", "abdol", "abdu", "abdoul", "abdil":
		return "abd", true
	case "abu", "abou", "abo", "abul", "abol":
		return "abu", true
	case "din", "deen", "eddine", "eddin", "uddin", "addin", "aldin":
		return "din", false
	case "allah", "ullah", "ollah", "ulla":
		return "allah", false
	case "al", "el":
		return "al", true
	case "bin", "ben", "ibn", "bn":
		return "bin", true
	}
	return "", false
}

// isArticle says whether t is the article that may stand between the
// parts of a compound written apart (Abd al-Raziq, Nasr ad-Din).
func isArticle(t string) bool {
	switch t {
	case "al", "el", "ul", "il", "ad", "ud", "ed", "ar", "ur", "as", "us", "es", "an", "un", "at", "ut", "az", "uz":
		return true
	}
	return false
}

// compoundKeys calls fn with the retrieval key of each compound in toks,
// written in one word or apart, and the index of the token holding its
// name.
func (ix *Index) compoundKeys(toks []token, fn func(key uint64, tok int)) {
	key := func(elem, name string) uint64 {
		if elem == "abu" {
			// Abd and Abu are confused in transliteration (Abul Baki,
			// Abdulbaqi): one key; the score tells them apart.
			elem = "abd"
		}
		var h keyHash
		h.SetSeed(ix.seed)
		h.WriteString(compoundKeyTag)
		h.WriteString(elem)
		h.WriteString(skeleton(name))
		return h.Sum64()
	}
	for i, t := range toks {
		if t.class == classNumber || t.class == classStop {
			continue
		}
		if elem, name, ok := splitCompound(t.text); ok && t.class == className && ix.lx.groups[t.text] == 0 {
			fn(key(elem, name), i)
			continue
		}
		if name, ok := articleJoined(t.text); ok && t.class == className && ix.lx.groups[t.text] == 0 {
			fn(key("al", name), i)
			continue
		}
		elem, leads := compoundElem(t.text)
		if elem == "" {
			continue
		}
		if leads {
			j := i + 1
			if j < len(toks) && isArticle(toks[j].text) && elem != "al" {
				j++
			}
			if j < len(toks) && toks[j].class == className && len(toks[j].text) >= 3 {
				fn(key(elem, toks[j].text), j)
			}
			continue
		}
		j := i - 1
		if j >= 0 && isArticle(toks[j].text) {
			j--
		}
		if j >= 0 && toks[j].class == className && len(toks[j].text) >= 3 {
			fn(key(elem, toks[j].text), j)
		}
	}
}

// compounds adds pairs of a one-word compound of a with the same compound
// written apart in b ("Nassereddine" / "Nasr al-Din"): the elements agree
// and the pair is as similar as the two names. swapped says a is the
// alert side.
func (sc *scorer) compounds(a, b []stok, swapped bool) {
	for i := range a {
		if a[i].class != className || a[i].group != 0 {
			continue
		}
		elem, name, ok := splitCompound(a[i].text)
		if !ok {
			continue
		}
		var skel string
		for j := range b {
			e, leads := compoundElem(b[j].text)
			if e != elem {
				continue
			}
			lo, hi, k := j, j, j
			if leads {
				k = j + 1
				if k < len(b) && isArticle(b[k].text) {
					k++
				}
				hi = k
			} else {
				k = j - 1
				if k >= 0 && isArticle(b[k].text) {
					k--
				}
				lo = k
			}
			if k < 0 || k >= len(b) || b[k].class != className {
				continue
			}
			s := stringSimAtLeast(name, b[k].text, simFloor)
			if skel == "" {
				skel = skeleton(name)
			}
			if skel == b[k].skel && len(skel) >= 2 {
				s = max(s, compoundSkeletonSim)
			}
			if s < simFloor {
				continue
			}
			sc.pairs = append(sc.pairs, oriented(i, 1, lo, hi-lo+1, MethodMerge, min(s, 0.95), swapped))
		}
	}
}

// compoundSkeletonSim is the least similarity of a compound's name to a
// name with the same consonants (Nasser, Nasr).
const compoundSkeletonSim = 0.86
