package name

// digraphSim is what two tokens score that are one spelling once
// transliteration digraphs are read as the letter they stand for: as
// variantSim, since they are one name written two ways (RuleDigraphs).
const digraphSim = 0.92

// maxDigraphToken bounds the tokens reduceDigraphs reads; longer ones are
// left to the string similarity.
const maxDigraphToken = 48

// hasDigraph reports whether t holds a letter group reduceDigraphs reads.
func hasDigraph(t string) bool {
	for i := 1; i < len(t); i++ {
		switch t[i] {
		case 'h':
			if t[i-1] == 'k' || (t[i-1] == 'z' && i >= 2 && t[i-2] == 'd') {
				return true
			}
		case 'j':
			if t[i-1] == 'd' {
				return true
			}
		case 's':
			if t[i-1] == 'k' {
				return true
			}
		}
	}
	return false
}

// reduceDigraphs writes t into buf with the letter groups by which a
// transliteration from Cyrillic (ICAO 9303, GOST, the anyascii tables the
// normaliser uses) spells one Latin letter read as that letter: dzh and
// dj as j (Джон is Dzhon for John; Djamal, Jamal), kh as h (Хью is Khyu
// for Hugh; Akhmed, Ahmed), ks as x (Алекс is Aleks for Alex). A Latin
// name written in Cyrillic and read back comes out in these groups, and
// so do a traveller's Cyrillic document against a list that spells the
// name the Latin way. Both sides are reduced, so equal tokens stay equal.
func reduceDigraphs(t string, buf *[maxDigraphToken]byte) []byte {
	n := 0
	for i := 0; i < len(t) && n < len(buf); i++ {
		c := t[i]
		switch {
		case c == 'd' && i+2 < len(t) && t[i+1] == 'z' && t[i+2] == 'h':
			c = 'j'
			i += 2
		case c == 'd' && i+1 < len(t) && t[i+1] == 'j':
			c = 'j'
			i++
		case c == 'k' && i+1 < len(t) && t[i+1] == 'h':
			c = 'h'
			i++
		case c == 'k' && i+1 < len(t) && t[i+1] == 's':
			c = 'x'
			i++
		}
		buf[n] = c
		n++
	}
	return buf[:n]
}

// digraphTokSim compares a and b read through reduceDigraphs: digraphSim
// when they are then one spelling, their string similarity otherwise
// (Джохн, Dzhokhn, reads as John; Nurikarnedzhad as Nurikarnejad, one
// letter from Nourikarnejad). It returns 0 when neither holds a digraph
// or either is too long to read.
func digraphTokSim(a, b string) float64 {
	if len(a) > maxDigraphToken || len(b) > maxDigraphToken || (!hasDigraph(a) && !hasDigraph(b)) {
		return 0
	}
	var ba, bb [maxDigraphToken]byte
	return readingSim(reduceDigraphs(a, &ba), reduceDigraphs(b, &bb), digraphSim)
}

// readingSim compares two tokens' readings: same when they are one
// spelling, their string similarity otherwise, never more than same.
func readingSim(ra, rb []byte, same float64) float64 {
	if string(ra) == string(rb) {
		return same
	}
	return min(same, stringSimAtLeast(string(ra), string(rb), weakFloor))
}
