package name

import (
	"strings"
	"testing"
)

// Slips typed into a query: a misspelt legal form, an acronym with a
// letter more or less, two words run together with a stray letter, a
// letter moved across a space.
func TestQuerySlips(t *testing.T) {
	ix := smallIndex(t,
		Entry{ID: 1, Kind: KindCompany, Names: []string{"Vorquant Holdings Limited"}},
		Entry{ID: 2, Kind: KindCompany, Names: []string{"Zelpatrix Revolutionary Front", "ZRFK"}},
		Entry{ID: 3, Kind: KindCompany, Names: []string{"Quendor Ship Services", "QSS"}},
		Entry{ID: 4, Kind: KindCompany, Names: []string{"Caribe Solvanto"}},
		Entry{ID: 5, Kind: KindPerson, Names: []string{"Tarvik Al-Hamdouri"}},
		Entry{ID: 6, Kind: KindCompany, Names: []string{"Korvestan Trading"}},
	)
	for _, c := range []struct {
		kind Kind
		q    string
		id   uint32
	}{
		{KindCompany, "Vorquant Holdnigs Limitd", 1},
		{KindCompany, "ZRK", 2},  // a letter dropped from an acronym
		{KindCompany, "QSSS", 3}, // a letter added
		{KindCompany, "CARIBEXSOLVANTO", 4},
		{KindCompany, "KORVESTANTRADIN", 6},
		{KindPerson, "Tarvik A-LHamdouri", 5},
	} {
		ms := ix.Search(Query{Kind: c.kind, Name: c.q}, 0, 5)
		if top(ms) != c.id {
			t.Errorf("%q: got %v, want entry %d first", c.q, ms, c.id)
		}
	}
	// A three-letter token with one letter changed is another acronym
	// (aircraft "EP-MNG" is not "EP-MNH"): not a candidate.
	ix = smallIndex(t, Entry{ID: 7, Kind: KindCompany, Names: []string{"QZV"}})
	if ms := ix.Search(Query{Kind: KindCompany, Name: "QZW"}, 0, 5); top(ms) == 7 {
		t.Errorf("QZW found QZV: %v", ms)
	}
}

func TestNearLegal(t *testing.T) {
	lx := defaultLexicon()
	for in, want := range map[string]string{"holdnigs": "holding", "limitd": "ltd", "internatinal": "international", "tradnig": "trading"} {
		if got, ok := lx.nearLegal(in); !ok || got != want {
			t.Errorf("nearLegal(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"ltdx", "ahmed", "hamdouri", "treasury"} {
		if got, ok := lx.nearLegal(in); ok {
			t.Errorf("nearLegal(%q) = %q, want none", in, got)
		}
	}
	// A word the index knows stays itself, however near a legal form.
	ix := smallIndex(t, Entry{ID: 1, Kind: KindCompany, Names: []string{"Golding Ltd"}})
	toks := normalize(ix.lx, KindCompany, "Golding Ltd")
	toks = ix.legalTypos(toks)
	if toks[0].text != "golding" || toks[0].class != className {
		t.Errorf("known word rewritten: %+v", toks[0])
	}
	// A legal form of several words, misspelt, is that form.
	for in, want := range map[string]string{
		"Obshchestvo s ogranichenoi otvetstvenostyu Tarvik": "llc tarvik",
		"Aktsionernoe dbshchestvo Tarvik":                   "jsc tarvik",
		"Federalnoe gosudarstvenoe unitarnoe predpriyatie":  "sue",
		"State Tarvik Enterprise":                           "state tarvik enterprises",
	} {
		toks := ix.legalTypos(normalize(ix.lx, KindCompany, in))
		var got []string
		for _, tk := range toks {
			got = append(got, tk.text)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%q: got %q, want %q", in, strings.Join(got, " "), want)
		}
	}
}
