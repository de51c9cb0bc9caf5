package name

import (
	"slices"
	"strings"
	"unicode"

	anyascii "github.com/anyascii/go"
	"golang.org/x/text/unicode/norm"
)

// Kind is the kind of subject a name belongs to. It changes how a name is
// normalised (titles for people, legal forms for companies) and which
// entries a query may match.
type Kind uint8

// The kinds of named subject.
const (
	KindUnknown Kind = iota // matches either kind; both normalisations apply
	KindPerson
	KindCompany // companies, organisations, vessels and other non-persons
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindPerson:
		return "person"
	case KindCompany:
		return "company"
	}
	return "unknown"
}

// token is one normalised name part.
type token struct {
	text  string
	class tokenClass
	cyr   bool // written in Cyrillic letters (RuleCyrillicReadings)
}

// Normalize returns the normalised tokens of a name as the matcher sees
// them: NFKC, transliterated to lower-case ASCII (Chinese and Korean split
// into syllables), punctuation removed, titles dropped for people, legal
// forms replaced by their canonical short form (kept, never dropped),
// "SURNAME, Given" turned to "Given SURNAME". Applying Normalize to the
// joined result gives the same tokens again, except where a rule looks at
// punctuation that the first pass removed (dotted initials, commas).
func Normalize(kind Kind, s string) []string {
	toks := normalize(defaultLexicon(), kind, s)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.text
	}
	return out
}

// maxNameBytes bounds the tokens of one name (input is cut at four times
// this, output tokens past it are dropped).
const maxNameBytes = 512

// rawTok is a token before classification, with what followed it.
type rawTok struct {
	text   string
	dotted bool // written with a following '.', as in "J." or "S.A."
	spaced bool // separated from the token before by more than a dot ("S.A. DE" but not "S.A")
	script bool // a syllable split from Chinese or Korean script
	cyr    bool // written in Cyrillic letters, wholly or in part
}

func normalize(lx *lexicon, kind Kind, s string) []token {
	return normalizeQuery(lx, kind, s, queryRules{})
}

// queryRules are the rules normalizeQuery applies to queries only.
type queryRules struct {
	// legalAnyOrder (RuleLegalReorder): the words of a legal form of
	// several words are recognised in any order.
	legalAnyOrder bool
	// legalScattered (RuleLegalScattered): the words of a legal form of
	// three words or more are recognised wherever they stand.
	legalScattered bool
	// legalInCyrillic (RuleCyrillicReadings): a word written in Cyrillic
	// that reads as a legal form's word is that word (Ко., Лтд.).
	legalInCyrillic bool
}

// queryRules returns the query rules the index's options leave on.
func (ix *Index) queryRules() queryRules {
	off := ix.opts.Disable
	return queryRules{legalAnyOrder: !off.Has(RuleLegalReorder), legalScattered: !off.Has(RuleLegalScattered), legalInCyrillic: !off.Has(RuleCyrillicReadings)}
}

// normalizeQuery is normalize applying the query rules qr.
func normalizeQuery(lx *lexicon, kind Kind, s string, qr queryRules) []token {
	if len(s) > 4*maxNameBytes {
		s = s[:4*maxNameBytes]
	}
	if !isASCII(s) {
		s = norm.NFKC.String(s)
	}
	if kind != KindCompany {
		s = reorderComma(lx, s)
	}
	raw := splitTokens(s)
	if len(raw) == 0 {
		return nil
	}
	if kind != KindPerson {
		raw = joinLetterRuns(raw, kind == KindCompany)
		if qr.legalInCyrillic {
			raw = readLegalInCyrillic(lx, raw)
		}
		if qr.legalScattered {
			raw = gatherLegalWords(lx, raw)
		}
	}
	toks := make([]token, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		t := raw[i].text
		if kind != KindPerson {
			canon, n := matchLegal(lx, raw[i:])
			if qr.legalAnyOrder {
				if c, k := matchLegalAnyOrder(lx, raw[i:]); k > n {
					canon, n = c, k
				}
			}
			if n > 0 {
				toks = append(toks, token{text: canon, class: classLegal})
				i += n - 1
				continue
			}
		}
		switch {
		case kind != KindCompany && lx.titles[t] && len(raw) > 1:
			continue // titles and honorifics say nothing about identity
		case isDigits(t):
			toks = append(toks, token{text: t, class: classNumber})
		case kind == KindCompany && lx.numbers[t] != "":
			toks = append(toks, token{text: lx.numbers[t], class: classNumber})
		case kind == KindCompany && lx.stop[t]:
			toks = append(toks, token{text: t, class: classStop})
		case kind != KindCompany && lx.particles[t]:
			toks = append(toks, token{text: t, class: classParticle})
		case kind != KindCompany && len(t) == 1 && !raw[i].script:
			toks = append(toks, token{text: t, class: classInitial})
		case kind != KindCompany && lx.groups[t] == 0 && belarusian(t) != t:
			toks = append(toks, token{text: belarusian(t), class: className})
		case kind == KindUnknown && lx.stop[t]:
			toks = append(toks, token{text: t, class: classStop})
		default:
			toks = append(toks, token{text: t, class: className})
		}
		if last := len(toks) - 1; last >= 0 && raw[i].cyr && toks[last].class != classLegal && toks[last].class != classNumber {
			toks[last].cyr = true
		}
	}
	if len(toks) == 0 && len(raw) > 0 {
		// A name made only of titles: keep them rather than nothing.
		for _, r := range raw {
			toks = append(toks, token{text: r.text, class: className})
		}
	}
	return boundTokens(toks)
}

// boundTokens bounds the output, not only the input, so that normalising
// the joined tokens again gives the same tokens: the tokens that fit in
// maxNameBytes, and a first token longer than that cut to it.
func boundTokens(toks []token) []token {
	size := 0
	for i, t := range toks {
		size += len(t.text) + 1
		if size > maxNameBytes {
			if i == 0 {
				toks[0].text = t.text[:maxNameBytes]
				return toks[:1]
			}
			return toks[:i]
		}
	}
	return toks
}

// belarusian writes the Belarusian romanisation of a surname the Russian
// way where the two differ by the letter ў (u) for в (v): Naumau,
// Karpiankou and Zimousky are Naumov, Karpiankov and Zimovsky, and meet
// their Russian spellings. Only the ending -au/-ou/-eu and the -usk-
// before a surname suffix are rewritten: elsewhere "ou" is mostly the
// French spelling of u (Youssef, Abdoul).
func belarusian(t string) string {
	// Every -usk- first, then the ending, so that a second pass finds
	// nothing more to do.
	for {
		i := -1
		for _, s := range [...]string{"ausk", "ousk", "eusk"} {
			if j := strings.Index(t, s); j >= 2 && (i < 0 || j < i) {
				i = j
			}
		}
		if i < 0 {
			break
		}
		t = t[:i+1] + "v" + t[i+2:]
	}
	if len(t) >= 5 && (strings.HasSuffix(t, "au") || strings.HasSuffix(t, "ou")) && !isVowel(t[len(t)-3]) {
		t = t[:len(t)-1] + "v"
	}
	return t
}

// reorderComma turns "SURNAME, Given names" into "Given names SURNAME" when
// there is exactly one comma and what follows it is not a legal form
// ("Acme, Inc.").
func reorderComma(lx *lexicon, s string) string {
	i := strings.IndexByte(s, ',')
	if i < 0 || strings.IndexByte(s[i+1:], ',') >= 0 {
		return s
	}
	head, tail := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	if head == "" || tail == "" {
		return s
	}
	tt := splitTokens(tail)
	if len(tt) == 0 {
		return s
	}
	if _, n := matchLegal(lx, joinLetterRuns(tt, true)); n > 0 {
		return s
	}
	return tail + " " + head
}

// splitTokens transliterates and lower-cases s and cuts it into tokens at
// anything that is not a letter or digit. Apostrophes are dropped inside
// words (Qa'ida -> qaida); each Chinese character and Korean syllable
// becomes its own token.
func splitTokens(s string) []rawTok {
	var out []rawTok
	var b strings.Builder
	spaced := false // a separator other than a dot since the last token
	cyr := false    // a Cyrillic letter since the last token
	flush := func(dotted bool) {
		if b.Len() > 0 {
			out = append(out, rawTok{text: b.String(), dotted: dotted, spaced: spaced, cyr: cyr})
			b.Reset()
			spaced = false
		}
		cyr = false
		if !dotted {
			spaced = true
		}
	}
	for _, r := range s {
		switch {
		case r < 0x80:
			switch {
			case r >= 'A' && r <= 'Z':
				b.WriteByte(byte(r + 'a' - 'A'))
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
				b.WriteByte(byte(r))
			case r == '\'' || r == '`':
				// inside a word an apostrophe joins, it does not split
			case r == '.':
				flush(true)
			case r == '&':
				flush(false)
				out = append(out, rawTok{text: "and"})
			default:
				flush(false)
			}
		case isApostrophe(r) || unicode.Is(unicode.Mn, r):
			// modifier letters and combining marks: drop, keep the word whole
		case unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hangul, r):
			flush(false)
			syl := lowerAlnum(anyascii.TransliterateRune(r))
			if syl != "" {
				out = append(out, rawTok{text: syl, script: true})
			}
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			if unicode.Is(unicode.Cyrillic, r) {
				cyr = true
			}
			for _, c := range anyascii.TransliterateRune(r) {
				switch {
				case c >= 'A' && c <= 'Z':
					b.WriteByte(byte(c + 'a' - 'A'))
				case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
					b.WriteByte(byte(c))
				case c == '\'':
				default:
					flush(false)
				}
			}
		default:
			flush(false)
		}
	}
	flush(false)
	return out
}

func isApostrophe(r rune) bool {
	switch r {
	case '\u2018', '\u2019', '\u02bc', '\u02bb', '\u02be', '\u02bf', '\u00b4', '\u2032':
		return true
	}
	return false
}

func lowerAlnum(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
		}
	}
	return b.String()
}

// joinLetterRuns joins runs of single letters written with dots ("S.A.R.L.",
// "U.S.") into one token. For companies undotted runs ("A B C") join too.
//
// A run written with dots and no spaces ("C.A.D.") is a group of its own,
// so that "C.A.D. S.A." is a name and a legal form, not "cadsa".
func joinLetterRuns(raw []rawTok, undotted bool) []rawTok {
	out := raw[:0:0]
	single := func(r rawTok) bool { return len(r.text) == 1 && !r.script && isLetter(r.text[0]) }
	for i := 0; i < len(raw); {
		if undotted {
			if j := slippedGroup(raw, i); j > i {
				var b strings.Builder
				for _, r := range raw[i:j] {
					b.WriteString(r.text)
				}
				out = append(out, rawTok{text: b.String(), dotted: true, spaced: raw[i].spaced, cyr: raw[i].cyr})
				i = j
				continue
			}
		}
		j := i
		startsGroup := func(k int) bool {
			return k+1 < len(raw) && raw[k].dotted && single(raw[k]) && single(raw[k+1]) && !raw[k+1].spaced
		}
		group := startsGroup(i)
		for j < len(raw) && single(raw[j]) && (raw[j].dotted || undotted) {
			if j > i && (group && raw[j].spaced || !group && startsGroup(j)) {
				break // "C.A.D. S.A." and "W S.A." are two groups
			}
			j++
		}
		if j-i >= 2 {
			var b strings.Builder
			for _, r := range raw[i:j] {
				b.WriteString(r.text)
			}
			out = append(out, rawTok{text: b.String(), dotted: true, cyr: raw[i].cyr})
			i = j
			continue
		}
		out = append(out, raw[i])
		i++
	}
	return out
}

// slippedGroup returns the end of a dotted abbreviation of a company
// starting at raw[i] with a slip in it: parts of one or two letters, each
// written with a dot and no space between them, one of each length, five
// letters at most ("LS.A.", "S.LA.", "SC..S." for S.A. and S.C.S.). Read
// apart, the two-letter part became a rare word in conflict with the
// listed form; joined, it is a legal form with one slip. It returns i
// when raw[i] starts no such group.
func slippedGroup(raw []rawTok, i int) int {
	short := func(r rawTok) bool {
		if r.script || len(r.text) > 2 {
			return false
		}
		for k := 0; k < len(r.text); k++ {
			if !isLetter(r.text[k]) {
				return false
			}
		}
		return true
	}
	j, letters, ones, twos := i, 0, 0, 0
	for j < len(raw) && short(raw[j]) && (j == i || !raw[j].spaced) && letters+len(raw[j].text) <= 5 {
		if !raw[j].dotted && j+1 < len(raw) && !raw[j+1].spaced {
			break // "LS.AB" without its dot is not an abbreviation's end
		}
		letters += len(raw[j].text)
		if len(raw[j].text) == 1 {
			ones++
		} else {
			twos++
		}
		j++
		if !raw[j-1].dotted {
			break
		}
	}
	if j-i < 2 || ones == 0 || twos == 0 {
		return i
	}
	return j
}

// matchLegal reports the canonical legal form starting at raw[0] and how
// many tokens it spans, longest phrase first; n is 0 when there is none.
func matchLegal(lx *lexicon, raw []rawTok) (canon string, n int) {
	maxK := 1
	if lx.legalStart[raw[0].text] {
		maxK = min(lx.legalMaxWords, len(raw))
	}
	for k := maxK; k >= 1; k-- {
		var key string
		if k == 1 {
			key = raw[0].text
		} else {
			parts := make([]string, k)
			for i := range parts {
				parts[i] = raw[i].text
			}
			key = strings.Join(parts, " ")
		}
		if c, ok := lx.legal[key]; ok {
			return c, k
		}
	}
	return "", 0
}

// matchLegalAnyOrder reports the canonical legal form of several words
// whose words, in any order, start raw, and how many tokens it spans,
// longest first; n is 0 when there is none. The tokens of a name are
// compared in any order everywhere else, and a declaration may write
// "Company Limited Liability" or a form's words shuffled by a form field;
// left as names, those words are rare words the alert lacks, a conflict.
func matchLegalAnyOrder(lx *lexicon, raw []rawTok) (canon string, n int) {
	k := 0
	for k < len(raw) && k < lx.legalMaxWords && lx.legalPhraseWord[raw[k].text] {
		k++
	}
	if k < 2 {
		return "", 0
	}
	var buf [16]string
	for ; k >= 2; k-- {
		words := buf[:0]
		for _, r := range raw[:k] {
			words = append(words, r.text)
		}
		slices.Sort(words)
		if c, ok := lx.legalAnyOrder[strings.Join(words, " ")]; ok {
			return c, k
		}
	}
	return "", 0
}

// gatherLegalWords moves to the end of raw, together, the words of a
// legal form of three words or more written apart among the name's words
// ("Obshchestvo Ogranichennoi Zvezda S Otvetstvennostyu"), so that the
// form is read as one; raw is unchanged when its legal-form words are
// already together or make no form. A token shuffle of a company name
// (a register that puts the form first, a reader that reorders) scatters
// a long form's words among the name's, and each became a rare word of
// the query in conflict with the listed form (RuleLegalScattered).
func gatherLegalWords(lx *lexicon, raw []rawTok) []rawTok {
	var at []int
	for i, r := range raw {
		if lx.legalPhraseWord[r.text] {
			at = append(at, i)
		}
	}
	if len(at) < 3 || at[len(at)-1]-at[0] == len(at)-1 {
		return raw
	}
	words := make([]string, len(at))
	for i, j := range at {
		words[i] = raw[j].text
	}
	slices.Sort(words)
	if _, ok := lx.legalAnyOrder[strings.Join(words, " ")]; !ok {
		return raw
	}
	out := make([]rawTok, 0, len(raw))
	k := 0
	for i, r := range raw {
		if k < len(at) && at[k] == i {
			k++
			continue
		}
		out = append(out, r)
	}
	for _, j := range at {
		out = append(out, raw[j])
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// skeleton reduces a token to its consonant outline so that spellings that
// differ in vowels, doubled letters and common digraphs meet: the first
// letter is kept, ph->f, ch/q/c/k->k, kh->k first and silent inside, gh->k (Persian q), sh/z->s, th->t, dh->d,
// dzh/dj->j, x->ks; vowels, h, w and y after the first letter are dropped; repeats
// collapse. Muhammad, Mohamed and Mukhammed all become "mhmd"-like outlines
// ("mmd"), which is why a skeleton only opens candidates and never decides.
func skeleton(t string) string {
	if t == "" {
		return ""
	}
	var out [48]byte
	n := 0
	push := func(c byte) {
		if n > 0 && out[n-1] == c {
			return
		}
		if n < len(out) {
			out[n] = c
			n++
		}
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		var next byte
		if i+1 < len(t) {
			next = t[i+1]
		}
		// Cyrillic's Дж comes out as dzh (Dzhon for John, Dzhamal for
		// Jamal), and French writes dj (Djamal): both are j.
		if c == 'd' && (next == 'j' || next == 'z' && i+2 < len(t) && t[i+2] == 'h') {
			push('j')
			if next == 'z' {
				i++
			}
			i++
			continue
		}
		if next == 'h' {
			switch c {
			case 'p':
				push('f')
				i++
				continue
			case 'k', 'c', 'q':
				// Inside a name kh mostly renders Arabic h (Akhmed, Mukhammed).
				if i > 0 && c == 'k' {
					i++
					continue
				}
				push('k')
				i++
				continue
			case 'g':
				// Persian writes Arabic q as gh (Ghasem, Qasem; Bagheri,
				// Baqeri).
				push('k')
				i++
				continue
			case 's', 'z':
				push('s')
				i++
				continue
			case 't':
				push('t')
				i++
				continue
			case 'd':
				push('d')
				i++
				continue
			}
		}
		switch c {
		case 'c', 'q', 'k':
			c = 'k'
		case 'z':
			c = 's'
		case 'x':
			push('k')
			c = 's'
		}
		if i > 0 && (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y' || c == 'h' || c == 'w') {
			continue
		}
		if i == 0 && (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y') {
			c = 'a' // an initial vowel is kept as "some vowel"
		}
		push(c)
	}
	return string(out[:n])
}
