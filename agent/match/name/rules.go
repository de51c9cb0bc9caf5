package name

import "strings"

// Rule names one retrieval path or score adjustment of the matcher beyond
// plain token comparison, so that each can be read, tested and switched
// off (Options.Disable) to measure what it pays (README.md, "Rules").
// The constant each rule uses is declared, with its reason, where the rule
// is applied; the comment here says where.
type Rule uint8

// The rules. Retrieval rules add posting lists a query reaches; score
// rules change how two tokens or runs of tokens compare.
const (
	// RuleVariants: spellings of one name in one group of variants.txt
	// score variantSim (0.92) and share a posting list (score.go, search.go).
	RuleVariants Rule = iota
	// RuleInitials: one letter for a given name scores initialSim (0.9).
	RuleInitials
	// RuleLegalForms: two different legal forms score legalClassSim (0.8).
	RuleLegalForms
	// RuleInflections: a company word and its plural score inflectionSim
	// (0.95).
	RuleInflections
	// RuleSyllables: one East Asian syllable in two romanisations scores
	// syllableSim (0.88; syllable.go).
	RuleSyllables
	// RuleArticles: a name and the same with its article joined score
	// articleSim (0.95).
	RuleArticles
	// RuleSkeletons: the same consonant skeleton adds 0.04, and people's
	// names with the same skeleton of three consonants score skeletonFloor
	// (0.75) at least; unknown query tokens reach the names holding their
	// skeleton in retrieval (similarity 0.8).
	RuleSkeletons
	// RuleTranspositions: tokens of two to five letters that differ by
	// two adjacent letters swapped score transpositionSim (0.88); Jaro's
	// match window is zero under four letters, so it scored "Ail" / "Ali"
	// 0.56 and "Jo" / "Oj" 0, no match at all. An unknown three-letter
	// query token reaches the known tokens it swaps into (search.go).
	RuleTranspositions
	// RuleWeakPairs: pairs from weakFloor (0.58) to simFloor (0.78) earn up
	// to weakShare (half) and are no conflict; off, they are no pair.
	RuleWeakPairs
	// RuleMerges: runs of two or three adjacent tokens written together
	// against one token (and a letter moved across a space, resplits).
	RuleMerges
	// RuleAcronyms: company acronyms and abbreviations, in retrieval
	// (acronym keys, abbreviation keys) and scoring (acronym.go).
	RuleAcronyms
	// RuleCompounds: Arabic compounds written in one word or apart, in
	// retrieval (compoundSim 0.85) and scoring (compound.go).
	RuleCompounds
	// RuleAdjacentPairs: retrieval through two adjacent query tokens, as a
	// pair in either order or written as one alert token (0.97-1).
	RuleAdjacentPairs
	// RuleFuzzyNeighbours: unknown query tokens reach the vocabulary
	// tokens one edit away (two from longTokenLen letters), similarity 0.85.
	RuleFuzzyNeighbours
	// RuleRunTogether: unknown long query tokens are cut into known tokens
	// (splitRunTogether) or looked up as two alert tokens typed together
	// with a slip (fuzzyPairs, runTogetherLen 7).
	RuleRunTogether
	// RuleLegalTypos: misspelt legal forms in company queries are read as
	// the form (legalTypoLen, legalPhraseTypoLen).
	RuleLegalTypos
	// RuleDateNear: a birth year one apart or day and month swapped is weak
	// disagreement (factorDateNear 0.97) rather than a conflict
	// (factorDateClash 0.75, factorMonthClash 0.9; evidence.go).
	RuleDateNear
	// RuleDigraphs: tokens that are one spelling once the letter groups a
	// transliteration from Cyrillic writes for one Latin letter are read
	// as that letter (dzh, dj -> j; kh -> h; ks -> x) score digraphSim
	// (0.92), and the skeleton reads dzh and dj as j, so that such a
	// query reaches its name (digraph.go); a query token the index does
	// not know walks the list of the token it reads as, with the
	// query's own lists (search.go, expand).
	RuleDigraphs
	// RuleShortSlips: name tokens of two to five letters one slip apart
	// (a letter replaced, dropped or added, anywhere, the first included)
	// score shortSlipSim (0.8) at least. Jaro-Winkler rewards a shared
	// first letter and its match window is zero under four letters, so
	// it scored a slip at the start of a short token as a stranger
	// ("Im" / "Kim" 0, "Ku" / "Su" 0.67) although a slip lands anywhere.
	RuleShortSlips
	// RuleLegalReorder: in company and unknown queries, the words of a
	// legal form of several words are the form in any order ("Company
	// Limited Liability", "Stock Joint Company"): matchLegalAnyOrder.
	RuleLegalReorder
	// RuleStrongInfo: a token pair of strongInfoSim (0.85) or more counts
	// its token's whole information in the information factor, not
	// information x similarity (score.go).
	RuleStrongInfo
	// RuleLegalEndSlips: the last word of a company or unknown query, or
	// a word of four letters or more followed only by legal forms ("Goup
	// Inc"),
	// when the index does not know it, is a short legal form (two to five
	// letters: "Ltd", "Ltda", "Corp", "Group") written with any one slip
	// ("Ltua", "Grou", "Gcroup"; not two-letter words); legal-typos takes only a swap in words that
	// short, anywhere (lexicon.nearShortLegal).
	RuleLegalEndSlips
	// RuleCompleteName: a name whose every token, on both sides, is paired
	// at strongInfoSim (0.85) or more, two of them name words (not legal
	// forms, generic business words or particles), says enough to single
	// out the listed name, however common its words: the information
	// factor is 1 (score.go, completeName).
	RuleCompleteName
	// RulePrimaryFirst: retrieval walks the query tokens' own posting
	// lists (the token, its variant group, adjacent pairs; primarySim
	// 0.97 and up) before the lists of spellings near a token (fuzzy
	// neighbours, skeletons), whatever their lengths (search.go, gather).
	RulePrimaryFirst
	// RuleIntersect: when the shortest of the query tokens' own lists
	// overruns the posting budget (every token common, at millions of
	// names), retrieval walks the names it shares with each list of
	// another token instead of an arbitrary cut of it (search.go,
	// intersectOthers; intersectFirstMax, intersectOtherMax, intersectWork).
	RuleIntersect
	// RuleNamesakes: names that tie with the best candidate are scored
	// past Options.Candidates (up to namesakeNames per entry returned), and the entries that
	// tie with the last hit kept are returned up to tieCeiling (20) times
	// the limit, not 4, and the whole-name chain of the query's first
	// reading gives as many (RuleWholeName): at millions of names a name
	// is often held by tens of alerts, each a hit (search.go, whole.go).
	RuleNamesakes
	// RuleLegalScattered: in company and unknown queries, the words of a
	// legal form of three words or more, written apart among the name's
	// words ("Obshchestvo Zvezda S Ogranichennoi Otvetstvennostyu"), are
	// the form (normalize.go, gatherLegalWords).
	RuleLegalScattered
	// RuleWholeName: a query whose tokens are all known meets the names
	// made of exactly its tokens, in any order, through one hash chain,
	// however common the tokens and long their lists (whole.go).
	RuleWholeName
	// RuleCyrillicReadings: a query token written in Cyrillic meets the
	// Latin spellings that a Russian-language document writes with the
	// same letters (Валид, valid: Waleed; Гарри, garri: Harry) through
	// the reading of both (cyrillic.go: cyrReadingSim 0.92 when the
	// readings are equal) and, in retrieval, the vocabulary tokens of
	// its reading (cyrReadingAlts 4).
	RuleCyrillicReadings
	ruleCount
)

var ruleNames = [ruleCount]string{
	"variants", "initials", "legal-forms", "inflections", "syllables", "articles", "skeletons",
	"transpositions", "weak-pairs", "merges", "acronyms", "compounds", "adjacent-pairs",
	"fuzzy-neighbours", "run-together", "legal-typos", "date-near", "digraphs", "short-slips", "legal-reorder", "strong-info", "legal-end-slips", "complete-name", "primary-first", "intersect", "namesakes", "legal-scattered", "whole-name", "cyrillic-readings",
}

// String is the rule's name, as the README's ablation table gives it.
func (r Rule) String() string {
	if r < ruleCount {
		return ruleNames[r]
	}
	return "unknown"
}

// AllRules lists every rule, in declaration order.
func AllRules() []Rule {
	out := make([]Rule, ruleCount)
	for i := range out {
		out[i] = Rule(i)
	}
	return out
}

// RuleSet is a set of rules; the zero value is empty.
type RuleSet uint64

// With returns s with r added.
func (s RuleSet) With(r Rule) RuleSet { return s | 1<<r }

// Has says whether r is in s.
func (s RuleSet) Has(r Rule) bool { return s&(1<<r) != 0 }

// String lists the rules in s by name.
func (s RuleSet) String() string {
	var names []string
	for _, r := range AllRules() {
		if s.Has(r) {
			names = append(names, r.String())
		}
	}
	return strings.Join(names, ",")
}

// transpositionSim is what two short tokens differing by one swap of
// adjacent letters score: the commonest typing slip, strong (above
// simFloor) but under a variant spelling.
const transpositionSim = 0.88

// transposed says whether a and b, of two to five letters, differ only
// by two adjacent letters swapped. Two-letter tokens are whole syllables
// of Korean and Chinese names ("Jo", "Yu", "Ri"); a swap in them is the
// same slip as in a longer word.
func transposed(a, b string) bool {
	if len(a) != len(b) || len(a) < 2 || len(a) > 5 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
}

// shortSlipSim is what two short name tokens one slip apart score at
// least: what Jaro-Winkler gives a slip inside a three-letter token
// (Kin / Kim 0.82, Kib / Kim 0.78), given to the same slip wherever it
// falls, since a typing slip does not prefer the end of a word. It sits
// just above simFloor (a strong pair, not a weak one) and under
// transpositionSim, since a replaced letter is more often another name.
const shortSlipSim = 0.8

// shortSlipMax is the longest token RuleShortSlips serves: from six
// letters the weighted edit distance scores one slip 0.87 or more
// wherever it falls.
const shortSlipMax = 5

// shortSlip says whether name tokens a and b, of two to shortSlipMax
// letters and not both of two, are one letter replaced, dropped or added
// apart.
func shortSlip(a, b string) bool {
	la, lb := len(a), len(b)
	if la < 2 || lb < 2 || la > shortSlipMax || lb > shortSlipMax || max(la, lb) < 3 {
		return false
	}
	if la < lb {
		a, b, la, lb = b, a, lb, la
	}
	switch la - lb {
	case 0:
		diff := 0
		for i := range la {
			if a[i] != b[i] {
				diff++
			}
		}
		return diff == 1
	case 1:
		i := 0
		for i < lb && a[i] == b[i] {
			i++
		}
		return a[i+1:] == b[i:]
	}
	return false
}
