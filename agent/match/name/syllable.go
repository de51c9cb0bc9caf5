package name

// Korean names reach the lists in several romanisations: McCune-Reischauer
// (Ch'ŏl, Kwang, Pak, with its apostrophes and breves dropped by the
// normaliser), the South's Revised Romanisation (Cheol, Gwang, Bak) and
// the North's own (Chol, Kwang, Pak); Chinese ones in pinyin and
// Wade-Giles alike. The systems differ mostly in how they write the
// consonant that opens a syllable (k/g, ch/j, t/d, p/b) and a few vowels
// (eo/o, eu/u). A one-syllable token is reduced to a key that ignores
// those differences, and two tokens with the same key are spellings of
// one syllable.

// syllableKey writes into buf the key of t if t is one romanised East
// Asian syllable (an initial, a vowel group and an optional final), and
// returns nil otherwise.
func syllableKey(buf []byte, t string) []byte {
	if len(t) < 2 || len(t) > 6 {
		return nil
	}
	i := 0
	out := buf[:0]
	// The initial.
	switch {
	case hasAt(t, 0, "tch"), hasAt(t, 0, "ch"):
		out, i = append(out, 'j'), 2+b2i(t[0] == 't')
	case hasAt(t, 0, "kk"), hasAt(t, 0, "kh"):
		out, i = append(out, 'g'), 2
	case hasAt(t, 0, "tt"), hasAt(t, 0, "th"):
		out, i = append(out, 'd'), 2
	case hasAt(t, 0, "pp"), hasAt(t, 0, "ph"):
		out, i = append(out, 'b'), 2
	case hasAt(t, 0, "ss"), hasAt(t, 0, "sh"):
		out, i = append(out, 's'), 2
	default:
		switch c := t[0]; c {
		case 'j':
			out, i = append(out, 'j'), 1
		case 'k', 'g':
			out, i = append(out, 'g'), 1
		case 't', 'd':
			out, i = append(out, 'd'), 1
		case 'p', 'b':
			out, i = append(out, 'b'), 1
		case 'r', 'l':
			out, i = append(out, 'l'), 1
		case 's', 'h', 'm', 'n', 'y', 'w':
			out, i = append(out, c), 1
		}
	}
	// The vowel group.
	v := len(out)
	for i < len(t) && isVowel(t[i]) || i < len(t) && (t[i] == 'w' || t[i] == 'y') && i+1 < len(t) && isVowel(t[i+1]) {
		out = append(out, t[i])
		i++
	}
	if len(out) == v {
		return nil
	}
	switch string(out[v:]) {
	case "eo", "o", "wo":
		out = append(out[:v], 'o')
	case "eu", "u", "oo", "ou":
		out = append(out[:v], 'u')
	case "yeo", "yo":
		out = append(out[:v], 'y', 'o')
	}
	// The final.
	switch t[i:] {
	case "":
	case "ng", "n", "m":
		out = append(out, t[i:]...)
	case "k", "g", "kk":
		out = append(out, 'k')
	case "l", "r":
		out = append(out, 'l')
	case "t", "d":
		out = append(out, 't')
	case "p", "b":
		out = append(out, 'p')
	default:
		return nil
	}
	return out
}

func hasAt(t string, i int, s string) bool { return len(t) >= i+len(s) && t[i:i+len(s)] == s }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// syllableCode packs the syllable key of t into a word, 0 when t is not
// one syllable, so that the scorer compares two words per token pair
// rather than romanising both tokens again.
func syllableCode(t string) uint64 {
	var buf [12]byte
	k := syllableKey(buf[:0], t)
	if k == nil || len(k) > 8 {
		return 0
	}
	var c uint64
	for _, b := range k {
		c = c<<8 | uint64(b)
	}
	return c
}
