package anpr

import (
	"fmt"
	"regexp"
	"strings"
)

// plateFormat is one national plate format, written over the compact form
// devices/ident produces (upper case, no spaces, hyphens or dots).
type plateFormat struct {
	country string // ISO 3166-1 alpha-2
	name    string // which series, for the reader of this table
	pattern string // regular expression, anchored, over the compact plate
}

// Character classes that recur in the table. Many countries leave out
// letters that OCR and people confuse with digits; that is what makes a
// correction decidable there.
const (
	frL = `[A-HJ-NP-TV-Z]`         // FR SIV: no I, O, U
	itL = `[A-HJ-NPR-TV-Z]`        // IT: no I, O, Q, U
	esL = `[BCDFGHJKLMNPRSTVWXYZ]` // ES since 2000: consonants, no Ñ, Q
	nlL = `[BDFGHJKLMNPRSTVXZ]`    // NL since 1978: no vowels, C, Q, W, Y
	plR = `[ACEFGHJKLMNPRSTUVWXY]` // PL after the district: no B, D, I, O, Z
	czL = `[A-FH-NPR-VX-Z]`        // CZ: no G, O, Q, W
	seL = `[A-HJ-PR-UW-Z]`         // SE: no I, Q, V
	gbL = `[A-HJ-PR-Z]`            // GB since 2001: no I, Q
	deL = `[A-ZÄÖÜ]`               // DE district codes keep umlauts (LÖ, MÜ, TÜ)

	// chCt lists the Swiss canton codes.
	chCt = `(?:A[GIR]|B[ELS]|FR|G[ELR]|JU|LU|NE|NW|OW|S[GHOZ]|T[GI]|UR|V[DS]|Z[GH])`
)

// plateFormatTable lists the formats of ordinary plates in current use in
// the main European countries. Personalised, diplomatic, military, trade
// and temporary plates are left out on purpose: a read that fits no format
// is kept as read unless exactly one OCR fix makes it fit (CorrectPlate).
// Sources: the countries' registration rules as publicly described; treat
// the letter exclusions as defaults that a later table may refine.
var plateFormatTable = []plateFormat{
	{"AT", "district + digits + letters", `^[A-Z]{1,2}[0-9]{1,5}[A-Z]{1,3}$`},
	{"AT", "district + letters + digits", `^[A-Z]{1,2}[A-Z]{1,3}[0-9]{1,5}$`},
	{"BE", "since 2010", `^[1-9][A-Z]{3}[0-9]{3}$`},
	{"BE", "1973-2010", `^[A-Z]{3}[0-9]{3}$`},
	{"BE", "2008-2010", `^[0-9]{3}[A-Z]{3}$`},
	{"CH", "canton + number", `^` + chCt + `[0-9]{1,6}$`},
	{"CZ", "since 2001", `^[1-9]` + czL + `[0-9A-FH-NPR-VX-Z][0-9]{4}$`},
	{"DE", "district + letters + number, E/H suffix", `^` + deL + `{1,3}[A-Z]{1,2}[1-9][0-9]{0,3}[EH]?$`},
	{"DK", "since 1976", `^[A-Z]{2}[0-9]{5}$`},
	{"ES", "since 2000", `^[0-9]{4}` + esL + `{3}$`},
	{"ES", "provincial 1971-2000", `^[A-Z]{1,2}[0-9]{4}[A-Z]{1,2}$`},
	{"FR", "SIV since 2009", `^` + frL + `{2}[0-9]{3}` + frL + `{2}$`},
	{"FR", "FNI 1950-2009", `^[0-9]{1,4}[A-Z]{1,3}(?:[0-9]{2}|2A|2B|97[1-6])$`},
	{"GB", "since 2001", `^` + gbL + `{2}[0-9]{2}` + gbL + `{3}$`},
	{"HU", "1990-2022", `^[A-Z]{3}[0-9]{3}$`},
	{"HU", "since 2022", `^[A-Z]{4}[0-9]{3}$`},
	{"IT", "since 1994", `^` + itL + `{2}[0-9]{3}` + itL + `{2}$`},
	{"LU", "letters + digits", `^[A-Z]{2}[0-9]{4}$`},
	{"LU", "digits", `^[1-9][0-9]{0,5}$`},
	{"NL", "sidecodes 4-14", `^(?:` + strings.Join([]string{
		nlL + `{2}[0-9]{4}`, `[0-9]{4}` + nlL + `{2}`, `[0-9]{2}` + nlL + `{2}[0-9]{2}`,
		nlL + `{2}[0-9]{2}` + nlL + `{2}`, nlL + `{4}[0-9]{2}`, `[0-9]{2}` + nlL + `{4}`,
		`[0-9]{2}` + nlL + `{3}[0-9]`, `[0-9]` + nlL + `{3}[0-9]{2}`, nlL + `{2}[0-9]{3}` + nlL,
		nlL + `[0-9]{3}` + nlL + `{2}`, nlL + `{3}[0-9]{2}` + nlL, nlL + `[0-9]{2}` + nlL + `{3}`,
		`[0-9]` + nlL + `{2}[0-9]{3}`, `[0-9]{3}` + nlL + `{2}[0-9]`,
	}, "|") + `)$`},
	{"PL", "two-letter district", `^[A-Z]{2}(?:[0-9]{5}|[0-9]{4}` + plR + `|[0-9]{3}` + plR + `{2}|[0-9]` + plR + `[0-9]{3}|[0-9]` + plR + `{2}[0-9]{2})$`},
	{"PL", "three-letter district", `^[A-Z]{3}(?:` + plR + `[0-9]{3}|[0-9]{2}` + plR + `{2}|[0-9]` + plR + `[0-9]{2}|[0-9]{2}` + plR + `[0-9]|[0-9]` + plR + `{2}[0-9]|` + plR + `{2}[0-9]{2}|[0-9]{3}` + plR + `|` + plR + `[0-9]{2}` + plR + `)$`},
	{"PT", "since 2020", `^[A-Z]{2}[0-9]{2}[A-Z]{2}$`},
	{"PT", "2005-2020", `^[0-9]{2}[A-Z]{2}[0-9]{2}$`},
	{"PT", "1992-2005", `^[0-9]{4}[A-Z]{2}$`},
	{"PT", "before 1992", `^[A-Z]{2}[0-9]{4}$`},
	{"SE", "since 1973, letter last since 2019", `^` + seL + `{3}[0-9]{2}[0-9A-HJ-NPR-UW-Z]$`},
	{"SK", "since 2023 and district series", `^[A-Z]{2}[0-9]{3}[A-Z]{2}$`},
}

// The letters and digits that plate OCR confuses; each pair works both
// ways. G/6, which container OCR also confuses, is left out for plates as
// DOMAIN.md says.
var plateConfusions = [...][2]rune{{'O', '0'}, {'I', '1'}, {'B', '8'}, {'S', '5'}, {'Z', '2'}}

// maxPlateFixes is the most confusions CorrectPlate undoes in one plate.
// Two covers the common "two zeros read as O" while keeping the search
// small (at most 78 variants of a 12-character plate).
const maxPlateFixes = 2

// plateFormats holds the compiled table by country. It is built once and
// only read afterwards.
var plateFormats = compilePlateFormats(plateFormatTable)

func compilePlateFormats(table []plateFormat) map[string][]*regexp.Regexp {
	m := make(map[string][]*regexp.Regexp)
	for _, f := range table {
		m[f.country] = append(m[f.country], regexp.MustCompile(f.pattern))
	}
	return m
}

// FitsPlateFormat reports whether plate (normalised by ident.NormalizePlate)
// fits one of the formats of country (ISO 3166-1 alpha-2), and whether the
// table knows the country at all.
func FitsPlateFormat(country, plate string) (fits, known bool) {
	fs, ok := plateFormats[country]
	if !ok {
		return false, false
	}
	return fitsAny(fs, plate), true
}

func fitsAny(fs []*regexp.Regexp, plate string) bool {
	for _, re := range fs {
		if re.MatchString(plate) {
			return true
		}
	}
	return false
}

// CorrectPlate takes a plate normalised by ident.NormalizePlate and its
// country (ISO 3166-1 alpha-2). If the plate fits one of the country's
// formats, or the country is not in the table, it returns the plate
// unchanged and an empty correction. Otherwise it looks for the variants
// that undo the fewest OCR confusions (O/0, I/1, B/8, S/5, Z/2; at most two)
// and fit a format: if exactly one does, it returns that variant and what
// changed ("OCR O->0 at position 3"); if none or several do, the plate
// unchanged, since guessing between two plates would invent a match.
func CorrectPlate(country, plate string) (value, correction string) {
	fs, ok := plateFormats[country]
	if !ok || fitsAny(fs, plate) {
		return plate, ""
	}
	runes := []rune(plate)
	var spots []int // positions holding a confusable character
	for i, r := range runes {
		if _, ok := confusedWith(r); ok {
			spots = append(spots, i)
		}
	}
	for fixes := 1; fixes <= maxPlateFixes && fixes <= len(spots); fixes++ {
		found, how, n := "", "", 0
		eachSubset(len(spots), fixes, func(idx []int) bool {
			v := make([]rune, len(runes))
			copy(v, runes)
			for _, k := range idx {
				v[spots[k]], _ = confusedWith(v[spots[k]])
			}
			s := string(v)
			if fitsAny(fs, s) {
				n++
				found, how = s, describeFixes(runes, spots, idx)
			}
			return n < 2
		})
		if n == 1 {
			return found, how
		}
		if n > 1 {
			return plate, ""
		}
	}
	return plate, ""
}

// confusedWith returns the character r is confused with, if any.
func confusedWith(r rune) (rune, bool) {
	for _, p := range plateConfusions {
		switch r {
		case p[0]:
			return p[1], true
		case p[1]:
			return p[0], true
		}
	}
	return r, false
}

// eachSubset calls fn with every k-subset of 0..n-1 in lexicographic
// order until fn returns false.
func eachSubset(n, k int, fn func([]int) bool) {
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	for {
		if !fn(idx) {
			return
		}
		i := k - 1
		for i >= 0 && idx[i] == n-k+i {
			i--
		}
		if i < 0 {
			return
		}
		idx[i]++
		for j := i + 1; j < k; j++ {
			idx[j] = idx[j-1] + 1
		}
	}
}

// describeFixes says which characters changed, with 1-based positions in
// the normalised plate, in the form devices.Item.Correction expects.
func describeFixes(runes []rune, spots, idx []int) string {
	var b strings.Builder
	b.WriteString("OCR ")
	for j, k := range idx {
		if j > 0 {
			b.WriteString(", ")
		}
		p := spots[k]
		to, _ := confusedWith(runes[p])
		fmt.Fprintf(&b, "%c->%c at position %d", runes[p], to, p+1)
	}
	return b.String()
}
