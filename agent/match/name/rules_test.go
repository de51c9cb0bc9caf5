package name

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestRules gives each rule its own case: with the rule on, the query
// finds its entry at DefaultThreshold (acronyms: as a candidate); with it off (Options.Disable), the
// entry scores lower or is not found. The entry sits among generated
// names, so retrieval works as in a replica.
func TestRules(t *testing.T) {
	// Retrieval at millions of names, in small: names around the entry
	// whose posting lists overrun a small budget.
	crowd := func(n int, name string) []Entry {
		es := make([]Entry, n)
		for i := range es {
			es[i] = Entry{Kind: KindPerson, Names: []string{name + " " + string(rune('a'+i%26)) + "x" + string(rune('a'+i/26))}}
		}
		return es
	}
	var nearCrowd, commonCrowd []Entry
	nearCrowd = append(append(append(nearCrowd, crowd(10, "Kelva")...), crowd(15, "Zorvanu")...), append(crowd(25, "Zorvani"), crowd(30, "Kelvo")...)...)
	commonCrowd = append(append(commonCrowd, crowd(60, "Kelvo")...), crowd(60, "Zorvani")...)
	// Both tokens common, and held together by many longer names: the
	// bounded walk of their lists meets others before the name itself.
	var wholeCrowd []Entry
	wholeCrowd = append(append(append(wholeCrowd, crowd(400, "Kelvo")...), crowd(400, "Zorvani")...), crowd(300, "Kelvo Zorvani")...)
	// Sixty alerts on the same name, all numbered before the entry: more
	// than the candidates and four times the limit.
	namesakes := make([]Entry, 60)
	for i := range namesakes {
		namesakes[i] = Entry{Kind: KindPerson, Names: []string{"Jiri Novotny"}}
	}
	type ruleCase struct {
		rule   Rule
		kind   Kind
		query  string
		birth  string
		entry  Entry
		around []Entry // instead of the generated background
		budget int     // Options.PostingBudget, 0 for the default
	}
	cases := []ruleCase{
		{RuleVariants, KindPerson, "Mohamed Saidov", "", Entry{Names: []string{"Muhammad Saidov"}}, nil, 0},
		{RuleInitials, KindPerson, "A Lukashenko", "", Entry{Names: []string{"Alexander Lukashenko"}}, nil, 0},
		{RuleLegalForms, KindCompany, "Meridian Freight Ltd", "", Entry{Names: []string{"Meridian Freight LLC"}}, nil, 0},
		{RuleInflections, KindCompany, "Caribbean Lotteries", "", Entry{Names: []string{"Caribbean Lottery"}}, nil, 0},
		{RuleSyllables, KindPerson, "Kim Kyong Hui", "", Entry{Names: []string{"Kim Gyeong Hui"}}, nil, 0},
		{RuleArticles, KindPerson, "Ahmad Elsharif", "", Entry{Names: []string{"Ahmad Sharif"}}, nil, 0},
		{RuleSkeletons, KindPerson, "Menhem Jawad", "", Entry{Names: []string{"Munim Jawad"}}, nil, 0},
		{RuleTranspositions, KindPerson, "Fadavi Ail", "", Entry{Names: []string{"Ali Fadavi"}}, nil, 0},
		{RuleWeakPairs, KindPerson, "Bakhtiyor Rustamovich Karimovski", "", Entry{Names: []string{"Bakhtiyor Rustamovich Karimov"}}, nil, 0},
		{RuleMerges, KindPerson, "Abdulrahman Khalil", "", Entry{Names: []string{"Abdul Rahman Khalil"}}, nil, 0},
		{RuleAcronyms, KindCompany, "ZISCO", "", Entry{Names: []string{"Zimbabwe Iron and Steel Company"}}, nil, 0},
		{RuleCompounds, KindPerson, "Abdelrazik Hassan", "", Entry{Names: []string{"Abd al-Raziq Hassan"}}, nil, 0},
		{RuleAdjacentPairs, KindCompany, "Nam Chon Gang", "", Entry{Names: []string{"Namchongang"}}, nil, 0},
		{RuleFuzzyNeighbours, KindCompany, "Sozvexdie", "", Entry{Names: []string{"Sozvezdie"}}, nil, 0},
		{RuleRunTogether, KindPerson, "Haddadomar", "", Entry{Names: []string{"Omar Haddad"}}, nil, 0},
		{RuleLegalTypos, KindCompany, "Meridian Freight Holdnigs", "", Entry{Names: []string{"Meridian Freight Holdings"}}, nil, 0},
		// Latin, as a machine-readable zone writes a Cyrillic name (in Cyrillic
		// it meets Jamal through cyrillic-readings too).
		{RuleDigraphs, KindPerson, "DZHAMAL KHAMDAN", "", Entry{Names: []string{"Jamal Hamdan"}}, nil, 0},
		{RuleShortSlips, KindPerson, "Os Bertalan Varnedi", "", Entry{Names: []string{"Kos Bertalan Varnedi"}}, nil, 0},
		{RuleLegalReorder, KindCompany, "Kelvantor Company Liability Limited", "", Entry{Names: []string{"Kelvantor Limited Liability Company"}}, nil, 0},
		{RuleStrongInfo, KindCompany, "Trastovik", "", Entry{Names: []string{"Brastovik"}}, nil, 0},
		{RuleLegalEndSlips, KindCompany, "Kelvantor Brastovik Grou", "", Entry{Names: []string{"Kelvantor Brastovik Group"}}, nil, 0},
		{RuleCompleteName, KindCompany, "Golden Gloabl", "", Entry{Names: []string{"Golden Global"}}, nil, 0},
		{RuleDateNear, KindPerson, "Bakhtiyor Karimow", "1972-05-02", Entry{Names: []string{"Bakhtiyor Rustamovich Karimov"}, BirthDate: "1971-05-02"}, nil, 0},
		{RulePrimaryFirst, KindPerson, "Kelvo Zorvani", "", Entry{Names: []string{"Kelvo Bran Zorvani"}}, nearCrowd, 30},
		{RuleIntersect, KindPerson, "Kelvo Zorvani", "", Entry{Names: []string{"Kelvo Bran Zorvani"}}, commonCrowd, 30},
		{RuleNamesakes, KindPerson, "Jiri Novotny", "", Entry{Names: []string{"Jiri Novotny"}}, namesakes, 0},
		{RuleWholeName, KindPerson, "Zorvani Kelvo", "", Entry{Names: []string{"Kelvo Zorvani"}}, wholeCrowd, 10},
		{RuleCyrillicReadings, KindPerson, "Вардин Келвот", "", Entry{Names: []string{"Wardeen Kelvoth"}}, nil, 0},
		{RuleLegalScattered, KindCompany, "Obshchestvo Kelvantor S Ogranichennoi Zorvan Otvetstvennostyu", "", Entry{Names: []string{"Obshchestvo S Ogranichennoi Otvetstvennostyu Kelvantor Zorvan"}}, nil, 0},
	}
	seen := map[Rule]bool{}
	background := Generate(rand.New(rand.NewPCG(3, 3)), 3000)
	for _, c := range cases {
		seen[c.rule] = true
		c.entry.ID, c.entry.Kind = 1<<20, c.kind
		score := func(off RuleSet) float64 {
			ix := NewIndex(Options{Disable: off, PostingBudget: c.budget})
			around := background
			if c.around != nil {
				around = c.around
			}
			for i, e := range around {
				e.ID = uint32(i + 1)
				ix.Add(e)
			}
			ix.Add(c.entry)
			for _, m := range ix.Search(Query{Kind: c.kind, Name: c.query, BirthDate: c.birth}, 0.3, 10) {
				if m.ID == c.entry.ID {
					return m.Score
				}
			}
			return 0
		}
		on, off := score(0), score(RuleSet(0).With(c.rule))
		floor := DefaultThreshold
		if c.rule == RuleAcronyms {
			// An acronym alone finds its name (a candidate to look at),
			// under the threshold: README.md, "Rules".
			floor = 0.6
		}
		if on < floor || off >= on {
			t.Errorf("%s: %q against %q scores %.3f with the rule, %.3f without: want at least %.2f, and more than without", c.rule, c.query, c.entry.Names[0], on, off, floor)
		}
	}
	for _, r := range AllRules() {
		if !seen[r] {
			t.Errorf("rule %s has no case", r)
		}
	}
}

func TestTransposed(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"ali", "ail", true}, {"abu", "bau", true}, {"win", "wni", true}, {"kohas", "kohsa", true},
		{"ali", "ali", false}, {"ali", "lia", false}, {"ab", "ba", true}, {"jo", "jo", false}, {"a", "a", false}, {"abcdef", "abcdfe", false}, {"ali", "alis", false},
	} {
		if got := transposed(c.a, c.b); got != c.want {
			t.Errorf("transposed(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestShortSlip(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"kim", "tim", true}, {"im", "kim", true}, {"kim", "ki", true}, {"su", "sun", true}, {"dover", "cover", true},
		{"abyan", "byan", true}, {"hwi", "bwi", true}, {"kima", "kim", true},
		{"ku", "su", false}, // two letters each: another syllable, not a slip
		{"kim", "kim", false}, {"kim", "mik", false}, {"ali", "ail", false}, {"kim", "kimmo", false},
		{"dovers", "covers", false}, {"a", "ab", false},
	} {
		if got := shortSlip(c.a, c.b); got != c.want {
			t.Errorf("shortSlip(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestLegalFormAnyOrder(t *testing.T) {
	lx := defaultLexicon()
	// Each shuffled form reads as the form written in order.
	for in, inOrder := range map[string]string{
		"Kelvantor Company Liability Limited":                    "Kelvantor Limited Liability Company",
		"Joint Public Stock Company Kelvantor":                   "Public Joint Stock Company Kelvantor",
		"Obshchestvo Otvetstvennostyu Ogranichennoi S Kelvantor": "Obshchestvo S Ogranichennoi Otvetstvennostyu Kelvantor",
		"Kelvantor Liability Company":                            "Kelvantor Liability Company", // not a form: "liability" stays a name
	} {
		var got []string
		for _, tk := range normalizeQuery(lx, KindCompany, in, queryRules{legalAnyOrder: true}) {
			got = append(got, tk.text)
		}
		want := Normalize(KindCompany, inOrder)
		if !slices.Equal(got, want) || len(got) == len(strings.Fields(in)) && in != inOrder {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	// Off, and for the index's own names, the words stay names.
	if got := Normalize(KindCompany, "Kelvantor Company Liability Limited"); strings.Join(got, " ") == "kelvantor llc" {
		t.Errorf("alert names are read in order only: got %v", got)
	}
}

// A strong pair counts its token's whole information only for words of
// five letters or more without digits: "Snoe" is as likely another word
// than "Snow", and "YV2486" is another registration than "YV2485".
func TestStrongInfoLimits(t *testing.T) {
	ix := NewIndex(Options{})
	for i, n := range []string{"Brastovik", "Snow", "YV2485"} {
		ix.Add(Entry{ID: uint32(i + 1), Kind: KindCompany, Names: []string{n}})
	}
	for q, want := range map[string]bool{"Trastovik": true, "Snoe": false, "YV2486": false} {
		on := ix.Search(Query{Kind: KindCompany, Name: q}, DefaultThreshold, 1)
		if (len(on) > 0) != want {
			t.Errorf("%q: hits %v, want a hit %v", q, on, want)
		}
	}
}

func TestNearShortLegal(t *testing.T) {
	lx := defaultLexicon()
	for _, in := range []string{"ltua", "grou", "gcroup", "lltd", "corb"} {
		if _, ok := lx.nearShortLegal(in); !ok {
			t.Errorf("nearShortLegal(%q): not a legal form", in)
		}
	}
	for _, in := range []string{"ld", "se", "kelvan", "xyzw"} {
		if got, ok := lx.nearShortLegal(in); ok {
			t.Errorf("nearShortLegal(%q) = %q", in, got)
		}
	}
	// Only the last word, or a word of four letters or more followed
	// only by legal forms, and only one the index does not know.
	ix := NewIndex(Options{})
	ix.Add(Entry{ID: 1, Kind: KindCompany, Names: []string{"Kelvantor Brastovik Group", "Kelvantor Ltua"}})
	for q, want := range map[string]string{"Kelvantor Brastovik Grou": "kelvantor brastovik group", "Grou Kelvantor": "grou kelvantor", "Brastovik Ltua": "brastovik ltua",
		"Kelvantor Goup Inc": "kelvantor group inc", "Kelvantor Geoup Ltd": "kelvantor group ltd", "Kelvantor Goup Brastovik": "kelvantor goup brastovik",
		"Kelvantor Gae Limited": "kelvantor gae ltd", "Kelvantor Sua Inc": "kelvantor sua inc"} {
		var got []string
		for _, tk := range ix.legalTypos(normalize(ix.lx, KindCompany, q)) {
			got = append(got, tk.text)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%q: got %v, want %q", q, got, want)
		}
	}
}

// Two letters of a short legal form swapped are still the form (part of
// RuleLegalTypos): "Ldt" left as a name was a rare word in conflict.
func TestTransposedLegal(t *testing.T) {
	lx := defaultLexicon()
	for in, want := range map[string]string{"ldt": "ltd", "oc": "co", "icn": "inc", "lcl": "llc", "gropu": "group"} {
		if got, ok := lx.transposedLegal(in); !ok || got != want {
			t.Errorf("transposedLegal(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"xyz", "sagax", "a", "mtd"} {
		if got, ok := lx.transposedLegal(in); ok {
			t.Errorf("transposedLegal(%q) = %q", in, got)
		}
	}
	ix := NewIndex(Options{})
	ix.Add(Entry{ID: 1, Kind: KindCompany, Names: []string{"Euro African Group Ltd"}})
	if ms := ix.Search(Query{Kind: KindCompany, Name: "Euro African Group Ldt"}, DefaultThreshold, 1); len(ms) == 0 {
		t.Error("Ldt for Ltd: no hit")
	}
}

// The key of two query words written as one alert word spelt otherwise
// (part of RuleAdjacentPairs) must carry both words' consonants: "Vardi
// Iad" reads vrd, Vardi's own skeleton, which reached every name of those
// consonants at the weight of both words, ahead of "Vardi Ida" itself.
func TestPairSkeletonNeedsBothWords(t *testing.T) {
	ix := NewIndex(Options{})
	id := uint32(1)
	vowels := "aeiou"
	for _, a := range vowels {
		for _, b := range vowels {
			for _, c := range vowels {
				if n := "v" + string(a) + "r" + string(b) + "d" + string(c); n != "vardi" {
					ix.Add(Entry{ID: id, Kind: KindPerson, Names: []string{n + " Selim"}})
					id++
				}
			}
		}
	}
	for i := range 20 { // Vardi is common, and weighs less than the pair
		ix.Add(Entry{ID: 2000 + uint32(i), Kind: KindPerson, Names: []string{"Vardi Selim"}})
	}
	ix.Add(Entry{ID: 1000, Kind: KindPerson, Names: []string{"Vardi Ida"}})
	if rankOf(ix.Search(Query{Kind: KindPerson, Name: "Vardi Iad"}, DefaultThreshold, 10), 1000) == 0 {
		t.Error("Vardi Iad: Vardi Ida not among the hits")
	}
}

// An unknown three-letter token reaches the token it writes with two
// letters swapped (RuleTranspositions, retrieval): "Uyl" finds "Yul" only
// through a swap, three-letter tokens having no deletion keys.
func TestTransposedThreeLetterRetrieval(t *testing.T) {
	for _, off := range []RuleSet{0, RuleSet(0).With(RuleTranspositions)} {
		ix := NewIndex(Options{Disable: off})
		for _, e := range Generate(rand.New(rand.NewPCG(4, 4)), 500) {
			ix.Add(e)
		}
		ix.Add(Entry{ID: 1 << 20, Kind: KindCompany, Names: []string{"Yul"}})
		got := rankOf(ix.Search(Query{Kind: KindCompany, Name: "Uyl"}, 0.3, 10), 1<<20) > 0
		if got != (off == 0) {
			t.Errorf("rules off %v: Uyl found Yul %v", off, got)
		}
	}
}

// Among many namesakes of common tokens, a name written surname first
// ("Tan Mei Lin") reaches the alert's "SURNAME, Given" turned round ("Mei
// Lin Tan") through the pair of its last and first tokens (part of
// RuleAdjacentPairs). The budget is small here to stand for a replica
// of millions, where each of the three tokens is common.
func TestWrapAroundPair(t *testing.T) {
	ix := NewIndex(Options{PostingBudget: 20, Candidates: 5})
	id := uint32(1)
	for _, n := range []string{"Tan Mei Hua", "Lim Mei Lin", "Tan Wei Lin", "Mei Lin Goh", "Tan Lin Ho"} {
		for range 30 {
			ix.Add(Entry{ID: id, Kind: KindPerson, Names: []string{n}})
			id++
		}
	}
	ix.Add(Entry{ID: 1000, Kind: KindPerson, Names: []string{"TAN, Mei Lin"}})
	if rankOf(ix.Search(Query{Kind: KindPerson, Name: "Tan Mei Lin"}, DefaultThreshold, 10), 1000) == 0 {
		t.Error("Tan Mei Lin: TAN, Mei Lin not among the hits")
	}
}
