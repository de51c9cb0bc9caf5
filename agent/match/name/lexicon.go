package name

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
)

//go:embed variants.txt
var variantsText string

// tokenClass says what part a token plays in a name; it sets its weight.
type tokenClass uint8

const (
	className     tokenClass = iota // an ordinary name part
	classLegal                      // legal form or generic business word (LLC, GmbH, Trading)
	classParticle                   // al, bin, abu, de, van ...: carries little identity
	classStop                       // the, of, and: glue words in organisation names
	classInitial                    // one letter standing for a given name
	classNumber                     // digits or roman numerals
)

// lexicon holds the read-only word lists the normaliser and scorer use.
// It is built once per process (see defaultLexicon) and never changed.
type lexicon struct {
	titles    map[string]bool
	particles map[string]bool
	stop      map[string]bool
	numbers   map[string]string
	// legal maps a legal form (one token, or several joined by spaces) to
	// its canonical short form; legalMaxWords is the longest phrase.
	legal         map[string]string
	legalMaxWords int
	legalStart    map[string]bool // first words of legal forms of several words
	// legalAnyOrder maps the words of each legal form of several words,
	// sorted and joined by spaces, to its canonical short form, and
	// legalPhraseWord holds every word of those forms (RuleLegalReorder).
	legalAnyOrder   map[string]string
	legalPhraseWord map[string]bool
	// legalWords are the one-word legal forms of legalTypoLen letters or
	// more, against which a misspelt word is recognised (see nearLegal).
	legalWords []string
	// legalShortWords are the one-word legal forms of two to
	// legalTypoLen-1 letters, against which the last word of a company
	// name is recognised with a slip (RuleLegalEndSlips).
	legalShortWords []string
	// legalPhrases are the legal forms of several words and
	// legalPhraseTypoLen letters or more, by word count, against which a
	// misspelt phrase is recognised (see nearLegalPhrase).
	legalPhrases    map[int][]string
	legalStartWords []string // their first words of four letters or more
	// legalReadings maps the reading (cyrReading) of each word of a legal
	// form, where it is not the word itself, to the word: "ko" and "ink"
	// are how a Russian-language document's Ко. and Инк. read, Co. and
	// Inc. (RuleCyrillicReadings). A reading two words share is left out.
	legalReadings map[string]string
	// groups maps a spelling to its variant-group number (1-based).
	groups    map[string]uint32
	groupName []string // group number -> its first spelling, for explanations
}

// defaultLexicon is built on first use; it is immutable afterwards.
var defaultLexicon = sync.OnceValue(buildLexicon)

func buildLexicon() *lexicon {
	lx := &lexicon{
		titles:    set("mr mrs ms miss mme mlle mx dr prof professor sir dame herr frau sheikh shaikh sheik shaykh sayed syed hon honourable honorable rev reverend gen general col colonel maj major capt captain lt lieutenant sgt sen senator rep president minister judge imam mullah mulla maulana mawlana maulvi moulvi mawlawi mawlavi qari hajji hadji haji haj hajj hadj alhaji excellency commander his her"),
		particles: set("al el ul il bin ibn ben bn bint binti abu abou abo bou abd abdel abdul abdal abdol abdoul ould de da di del della dos das do du la le van von der den ter ten y e"),
		stop:      set("the of and for in on at et und und y e de la le des du der die das den van von"),
		numbers: map[string]string{
			"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
			"eight": "8", "nine": "9", "ten": "10", "first": "1", "second": "2", "third": "3",
			"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "x": "10",
		},
		legal:      map[string]string{},
		legalStart: map[string]bool{},

		legalAnyOrder:   map[string]string{},
		legalPhraseWord: map[string]bool{},
		groups:          map[string]uint32{},
	}
	// Legal forms and generic business words, canonical form first. They
	// are one class: two different legal forms still agree a little. A
	// word written a/b/c stands for its spellings (Russian forms reach the
	// lists in several romanisations).
	for _, line := range []string{
		"llc|limited liability company|limited liability co|l l c|ooo|obshchestvo/obschestvo/obshestvo/obshhestvo s ogranichennoi/ogranichennoy/ogranichennoj otvetstvennostyu/otvetstvennostiu/otvetstvennostju|tovarystvo/tovarystva z obmezhenoyu/obmezhenoiu vidpovidalnistyu/vidpovidalnistiu|tov|too|sp z o o|spzoo|ood|eood|doo|d o o|dooel|kft|sia|uab|ou|tnhh|mchj|s de rl|s de r l",
		"ltd|limited|ltda|limitada|limitee|ltee|pte ltd|pty ltd|pvt ltd|private limited|pte|pty|pvt|ltd sti|sti|limited sirketi|youxian gongsi|yugen kaisha|eireli|chamkat|jamkat|chamkad",
		"jsc|joint stock company|joint-stock company|ao|oao|zao|pao|pjsc|cjsc|ojsc|public joint stock company|closed joint stock company|open joint stock company|pat|prat|ad|jsco|ead|dd|zrt|nyrt|akcionarsko drustvo|sahami khas|sahami aam|gufen youxian gongsi|otkrytoe/otkrytoye/zakrytoe/zakrytoye/publichnoe/publichnoye/nepublichnoe aktsionernoe/aktsionernoye/akcionernoe obshchestvo/obschestvo/obshestvo|aktsionernoe/aktsionernoye/akcionernoe obshchestvo/obschestvo/obshestvo|pryvatne/publichne aktsionerne tovarystvo|aktsionerne tovarystvo",
		"sue|state unitary enterprise|federal state unitary enterprise|municipal unitary enterprise|gup|fgup|mup|federalnoe/federalnoye gosudarstvennoe/gosudarstvennoye unitarnoe/unitarnoye predpriyatie/predpriyatiye/predpriiatie|gosudarstvennoe/gosudarstvennoye/munitsipalnoe unitarnoe/unitarnoye predpriyatie/predpriyatiye/predpriiatie|state enterprise|derzhavne pidpryiemstvo",
		"gmbh|gesellschaft mit beschrankter haftung|gesmbh|mbh",
		"ag|aktiengesellschaft|akciova spolecnost|as|a s",
		"sa|societe anonyme|sociedad anonima|sociedade anonima|s a|sae|saog|saoc|sa de cv|s a de c v|sab de cv|sapi de cv|sas|s a s|saic|sac|saa|anonim sirketi",
		"sarl|societe a responsabilite limitee|societatea cu raspundere limitata|s a r l|sprl|srl|sro|s r o|s r l",
		"inc|incorporated",
		"corp|corporation|korporatsiya|korporatsiia",
		"co|company|companie|compania|compagnie|cie|cia|kompaniya|kompaniia|kompani|sirketi|sherkat|shirkat|sharikat|gongsi|cong ty|borisat|bolisat",
		"plc|public limited company|mahachon",
		"bv|besloten vennootschap|nv|naamloze vennootschap",
		"spa|societa per azioni|sapa",
		"kg|kommanditgesellschaft|gmbh co kg|ohg|kgaa",
		"lp|limited partnership|llp|limited liability partnership|partnership|cv|scs|s c s|s en c|sociedad en comandita simple|sociedad en comandita",
		"pt|perseroan terbatas|tbk|sdn bhd|bhd|berhad|sdn",
		"ab|aktiebolag|oy|oyj|asa|aps",
		"kk|kabushiki kaisha|yk",
		"fze|fzco|fzc|fz llc|est|establishment|muassasat|muassasa|muassasah|moassese|moasseseh",
		"trading|trade|traders|tic|ticaret",
		"group|grupo|groupe|gruppa|jituan",
		"holding|holdings",
		"enterprises|enterprise",
		"industries|industry|industrial|sanayi|sanaye|sanat",
		"international|intl|int",
		"llc fzc|general trading",
	} {
		var parts []string
		for _, p := range strings.Split(line, "|") {
			parts = append(parts, spellings(p)...)
		}
		canon := strings.ReplaceAll(parts[0], " ", "")
		for _, p := range parts {
			if _, dup := lx.legal[p]; dup {
				continue
			}
			lx.legal[p] = canon
			if first, _, multi := strings.Cut(p, " "); multi {
				lx.legalStart[first] = true
				words := strings.Fields(p)
				for _, w := range words {
					lx.legalPhraseWord[w] = true
				}
				slices.Sort(words)
				if _, dup := lx.legalAnyOrder[strings.Join(words, " ")]; !dup {
					lx.legalAnyOrder[strings.Join(words, " ")] = canon
				}
			}
			lx.legalMaxWords = max(lx.legalMaxWords, strings.Count(p, " ")+1)
		}
	}
	lx.legalPhrases = map[int][]string{}
	for p := range lx.legal {
		if len(p) >= legalTypoLen && !strings.Contains(p, " ") {
			lx.legalWords = append(lx.legalWords, p)
		}
		if len(p) >= 2 && len(p) < legalTypoLen && !strings.Contains(p, " ") {
			lx.legalShortWords = append(lx.legalShortWords, p)
		}
		if n := strings.Count(p, " ") + 1; n > 1 && len(p) >= legalPhraseTypoLen {
			lx.legalPhrases[n] = append(lx.legalPhrases[n], p)
		}
	}
	slices.Sort(lx.legalWords)
	slices.Sort(lx.legalShortWords)
	for _, ps := range lx.legalPhrases {
		slices.Sort(ps)
		for _, p := range ps {
			first, _, _ := strings.Cut(p, " ")
			if len(first) >= 4 && !slices.Contains(lx.legalStartWords, first) {
				lx.legalStartWords = append(lx.legalStartWords, first)
			}
		}
	}
	slices.Sort(lx.legalStartWords)
	lx.legalReadings = legalReadings(lx.legal)
	lx.groupName = []string{""}
	for _, line := range strings.Split(variantsText, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Fields(line)
		id := uint32(len(lx.groupName))
		lx.groupName = append(lx.groupName, fields[0])
		for _, f := range fields {
			if _, dup := lx.groups[f]; !dup {
				lx.groups[f] = id
			}
		}
	}
	return lx
}

// spellings expands a phrase whose words may list alternatives separated
// by "/" into every phrase they spell: "a/b c" is "a c" and "b c".
func spellings(phrase string) []string {
	out := []string{""}
	for i, w := range strings.Fields(phrase) {
		var next []string
		for _, head := range out {
			for _, alt := range strings.Split(w, "/") {
				if i > 0 {
					alt = head + " " + alt
				}
				next = append(next, alt)
			}
		}
		out = next
	}
	return out
}

func set(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// legalTypoLen is the least length of a word recognised as a misspelt
// legal form or generic business word: shorter ones ("ltd", "corp") are
// too close to too many names.
const legalTypoLen = 6

// nearLegal returns the canonical legal form that t misspells: one edit
// away from a one-word legal form of legalTypoLen letters or more ("Limitd",
// "Tradnig"), two for words of eight or more ("Holdnigs", "Internatinal").
// It is asked only about words the index does not know, so a real name
// that happens to lie near one ("Golding") is never taken for one.
func (lx *lexicon) nearLegal(t string) (string, bool) {
	return lx.nearest(t, lx.legalWords)
}

// transposedLegal returns the canonical form of the one-word legal form
// that t writes with two adjacent letters swapped ("ldt" for "ltd").
func (lx *lexicon) transposedLegal(t string) (string, bool) {
	if len(t) < 2 || len(t) > 8 {
		return "", false
	}
	var b [8]byte
	for i := 0; i+1 < len(t); i++ {
		if t[i] == t[i+1] {
			continue
		}
		copy(b[:], t)
		b[i], b[i+1] = b[i+1], b[i]
		if canon, ok := lx.legal[string(b[:len(t)])]; ok {
			return canon, true
		}
	}
	return "", false
}

// nearShortLegal returns the canonical form of the short one-word legal
// form ("ltd", "ltda", "corp", "group") that t writes with one slip: a
// letter replaced, dropped or added ("Ltua", "Grou", "Gcroup"). Words of
// two letters are left alone: most are one slip from some legal form, and
// many are legal forms this lexicon does not hold.
func (lx *lexicon) nearShortLegal(t string) (string, bool) {
	if len(t) < 3 || len(t) > legalTypoLen {
		return "", false
	}
	for _, w := range lx.legalShortWords {
		if abs(len(t)-len(w)) > 1 {
			continue
		}
		if osaDistance(t, w, 1) <= 1 {
			return lx.legal[w], true
		}
	}
	return "", false
}

// legalPhraseTypoLen is the least length of a legal phrase recognised
// with a slip: shorter ones ("s a", "sa de cv") are too easily made.
const legalPhraseTypoLen = 12

// nearLegalPhrase returns the canonical legal form that the first words
// of toks misspell ("Obshchestvo s ogranichenoi otvetstvennostyu"), and
// how many words it spans, longest phrase first; n is 0 when none.
func (lx *lexicon) nearLegalPhrase(toks []token) (canon string, n int) {
	if len(toks) < 2 || !lx.nearLegalStart(toks[0].text) {
		return "", 0
	}
	for k := min(lx.legalMaxWords, len(toks)); k >= 2; k-- {
		if len(lx.legalPhrases[k]) == 0 {
			continue
		}
		words := make([]string, k)
		for i := range words {
			words[i] = toks[i].text
		}
		if c, ok := lx.nearest(strings.Join(words, " "), lx.legalPhrases[k]); ok {
			return c, k
		}
	}
	return "", 0
}

// nearLegalStart says whether t is, or misspells, the first word of a
// legal phrase of legalPhraseTypoLen letters or more: most words are
// neither, and the phrases need not be tried.
func (lx *lexicon) nearLegalStart(t string) bool {
	if lx.legalStart[t] {
		return true
	}
	for _, w := range lx.legalStartWords {
		budget := slipBudget(t, w)
		if abs(len(t)-len(w)) <= budget && osaDistance(t, w, budget) <= budget {
			return true
		}
	}
	return false
}

// slipBudget is how many edits a word or phrase may be from the legal
// form w and still be taken for it: one, two from eight letters, three
// from twenty.
func slipBudget(t, w string) int {
	switch n := min(len(t), len(w)); {
	case n >= 20:
		return 3
	case n >= 8:
		return 2
	}
	return 1
}

// nearest returns the canonical legal form of the candidate within one
// edit of t (two from eight letters, three from twenty), the closest first.
func (lx *lexicon) nearest(t string, candidates []string) (string, bool) {
	if len(t) < legalTypoLen {
		return "", false
	}
	best, bestD := "", 4
	for _, w := range candidates {
		budget := min(slipBudget(t, w), bestD-1)
		if budget < 1 {
			break
		}
		if d := osaDistance(t, w, budget); d <= budget {
			best, bestD = lx.legal[w], d
		}
	}
	return best, best != ""
}
