package name

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// Names a Russian-language document writes by the practical
// transcription read as their Latin spellings; names that differ in
// letters the transcription keeps apart do not.
func TestCyrReadingPairs(t *testing.T) {
	same := [][2]string{
		{"valid", "waleed"}, {"said", "saeed"}, {"tomas", "thomas"}, {"garri", "harry"},
		{"maks", "max"}, {"duk", "duc"}, {"villov", "willow"}, {"fudum", "foodum"},
		{"dzhon", "jon"}, {"khamdan", "hamdan"}, {"filip", "philip"}, {"dzhamal", "jamal"}, {"dzhek", "jeck"},
		{"sesil", "cecil"}, {"kasim", "qasim"}, {"yusef", "youssef"},
	}
	for _, p := range same {
		var a, b [maxDigraphToken]byte
		if ra, rb := cyrReading(p[0], &a), cyrReading(p[1], &b); string(ra) != string(rb) {
			t.Errorf("%s reads %s, %s reads %s: want one reading", p[0], ra, p[1], rb)
		}
		if sim := cyrTokSim(p[0], p[1]); sim != cyrReadingSim {
			t.Errorf("%s / %s compare at %.2f, want %.2f", p[0], p[1], sim, cyrReadingSim)
		}
	}
	apart := [][2]string{{"boris", "doris"}, {"ivan", "iван"}, {"marta", "marla"}, {"salim", "selim"}, {"lin", "lim"}}
	for _, p := range apart {
		var a, b [maxDigraphToken]byte
		if ra, rb := cyrReading(p[0], &a), cyrReading(p[1], &b); string(ra) == string(rb) {
			t.Errorf("%s and %s both read %s: want two readings", p[0], p[1], ra)
		}
	}
	// A reading never runs past its buffer, however the token is made.
	var buf [maxDigraphToken]byte
	long := string(bytes.Repeat([]byte("chdzhoo"), 20))
	if r := cyrReading(long, &buf); len(r) > maxDigraphToken {
		t.Fatalf("reading of %d bytes", len(r))
	}
}

// A Cyrillic query meets the Latin spelling through the readings, in
// scoring and in retrieval, also when its own tokens are lists the walk
// cannot finish; a Latin query written the same way does not (Valid is
// not Waleed in Latin letters); a decoded index files its readings again.
func TestCyrillicQueryFindsLatinName(t *testing.T) {
	build := func(off RuleSet) (*Index, uint32) {
		ix := NewIndex(Options{PostingBudget: 10, Disable: off})
		id := uint32(1)
		for i := range 200 {
			// Crowds on the Latin tokens: their lists overrun the budget.
			ix.Add(Entry{ID: id, Kind: KindPerson, Names: []string{fmt.Sprintf("Wardeen %c%cx", 'a'+i%26, 'a'+i/26)}})
			ix.Add(Entry{ID: id + 1, Kind: KindPerson, Names: []string{fmt.Sprintf("Kelvoth %c%cy", 'a'+i%26, 'a'+i/26)}})
			id += 2
		}
		ix.Add(Entry{ID: id, Kind: KindPerson, Names: []string{"Wardeen Kelvoth"}})
		return ix, id
	}
	found := func(ix *Index, want uint32, q string) bool {
		for _, m := range ix.Search(Query{Kind: KindPerson, Name: q}, DefaultThreshold, 5) {
			if m.ID == want {
				return true
			}
		}
		return false
	}
	ix, want := build(0)
	if !found(ix, want, "ВАРДИН КЕЛВОТ") {
		t.Fatal("Вардин Келвот: Wardeen Kelvoth not found")
	}
	if found(ix, want, "Vardin Kelvot") {
		t.Error("Vardin Kelvot, in Latin letters, found Wardeen Kelvoth: the readings are for Cyrillic only")
	}
	// The officer reads how the two were read as one.
	m := ix.Compare(Query{Kind: KindPerson, Name: "ВАРДИН КЕЛВОТ"}, Entry{ID: want, Kind: KindPerson, Names: []string{"Wardeen Kelvoth"}})
	if len(m.Explanation.Pairs) != 2 {
		t.Fatalf("explanation %v: want two pairs", m.Explanation)
	}
	for _, p := range m.Explanation.Pairs {
		if p.Method != MethodTranscription {
			t.Errorf("%s ~ %s by %s, want transcription", p.Query, p.Alert, p.Method)
		}
	}
	dx := reencoded(t, ix, Options{PostingBudget: 10})
	if !found(dx, want, "ВАРДИН КЕЛВОТ") {
		t.Error("decoded index: Вардин Келвот not found")
	}
	if off, want := build(RuleSet(0).With(RuleCyrillicReadings)); found(off, want, "ВАРДИН КЕЛВОТ") {
		t.Error("found with the rule off: the case does not test the rule")
	}
}

// Legal forms a Russian-language document writes letter by letter are
// the forms; a Latin query's words and Cyrillic words that read as no
// legal word stay as they are.
func TestLegalFormsInCyrillic(t *testing.T) {
	ix := NewIndex(Options{})
	cases := []struct{ q, want string }{
		{"Зорвани Майнинг Ко., Лтд.", "zorvani mayning co ltd"},
		{"Келво Груп Инк", "kelvo group inc"},
		{"КЕЛВО ЛЛК", "kelvo llc"},
		{"Kelvo Ko Ltd", "kelvo ko ltd"},
		{"Ко Келво", "co kelvo"},
		{"Келво Инвест", "kelvo invest"},
	}
	for _, c := range cases {
		var got []string
		for _, tk := range normalizeQuery(defaultLexicon(), KindCompany, c.q, ix.queryRules()) {
			got = append(got, tk.text)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%q -> %v, want [%s]", c.q, got, c.want)
		}
	}
}
