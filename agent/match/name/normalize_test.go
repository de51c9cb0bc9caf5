package name

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		kind Kind
		in   string
		want string
	}{
		{KindPerson, "PUTIN, Vladimir Vladimirovich", "vladimir vladimirovich putin"},
		{KindPerson, "Владимир Путин", "vladimir putin"},
		{KindPerson, "Dr. José  Álvarez-Núñez", "jose alvarez nunez"},
		{KindPerson, "Sheikh Isa bin Tarif", "isa bin tarif"},
		{KindPerson, "Bashar al-Assad", "bashar al assad"},
		{KindPerson, "Abu Bakr Al Qa'ida", "abu bakr al qaida"},
		{KindPerson, "J.-C. Juncker", "j c juncker"},
		{KindPerson, "习近平", "xi jin ping"},
		{KindPerson, "김정은", "gim jeong eun"},
		{KindPerson, "Γεώργιος Παπαδόπουλος", "georgios papadopoylos"}, // anyascii writes ου as "oy"
		{KindPerson, "ＡＢＣ", "abc"},
		{KindCompany, "Siemens Aktiengesellschaft", "siemens ag"},
		{KindCompany, "Bowne Global Solutions, S.A.R.L.", "bowne global solutions sarl"},
		{KindCompany, "OOO Oboronnye Initsiativy", "llc oboronnye initsiativy"},
		{KindCompany, "Oboronnye Initsiativy o.O.O.", "oboronnye initsiativy llc"},
		{KindCompany, "Acme Limited Liability Company", "acme llc"},
		{KindCompany, "AT&T Inc.", "at and t inc"},
		{KindCompany, "Golden Star Trading Co., Ltd.", "golden star trading co ltd"},
		{KindCompany, "Three Percenters", "3 percenters"},
		{KindCompany, "U.S. Steel", "us steel"},
		{KindPerson, "ZIMOUSKY, Aliaksandr", "aliaksandr zimovsky"}, // Belarusian ў as the Russian в
		{KindPerson, "NAUMAU, Siarhei", "siarhei naumav"},
		{KindPerson, "Youssef Abdoulaye Traou", "youssef abdoulaye traou"},
		{KindPerson, "Haji Tarvik Osmani", "tarvik osmani"},
		{KindCompany, "Borisat Siam Tarvik Chamkat", "co siam tarvik ltd"},
		{KindCompany, "C.A.D. S.A.", "cad sa"},
		// A slip inside a dotted abbreviation keeps it one word, which
		// search then reads as the legal form with one slip; dotted words
		// of two letters each stay apart.
		{KindCompany, "Cecoex, LS.A.", "cecoex lsa"},
		{KindCompany, "Ifyd S.LA.", "ifyd sla"},
		{KindCompany, "Montoya SC..S.", "montoya lp"},
		{KindCompany, "St.Jo. Trading", "st jo trading"},
		{KindPerson, "J.P. Morgan", "j p morgan"},
		{KindCompany, "Grupo W S.A.", "group w sa"},
		{KindCompany, "Aero Norte S.A. de C.V.", "aero norte sa"},
		{KindCompany, "Dunav Trade d.o.o.", "dunav trading llc"},
		{KindCompany, "Cordes Cia. Limitada", "cordes co ltd"},
		{KindPerson, "", ""},
		{KindPerson, "  ,;  ", ""},
	}
	for _, c := range cases {
		got := strings.Join(Normalize(c.kind, c.in), " ")
		if got != c.want {
			t.Errorf("Normalize(%v, %q) = %q, want %q", c.kind, c.in, got, c.want)
		}
	}
}

// Legal forms are kept (down-weighted), never dropped, and all map to one
// class so that two different forms still agree a little.
func TestLegalFormsClassedNotDropped(t *testing.T) {
	lx := defaultLexicon()
	toks := normalize(lx, KindCompany, "Gazprom Neft OAO")
	if len(toks) != 3 || toks[2].class != classLegal || toks[2].text != "jsc" {
		t.Fatalf("tokens %+v: want the legal form kept as class legal 'jsc'", toks)
	}
	ix := NewIndex(Options{})
	a := ix.Compare(Query{Kind: KindCompany, Name: "Trading LLC"}, Entry{ID: 1, Kind: KindCompany, Names: []string{"Trading LLC"}})
	if a.Score >= DefaultThreshold {
		t.Errorf("generic words alone scored %.3f, at or above the threshold", a.Score)
	}
	b := ix.Compare(Query{Kind: KindCompany, Name: "Zarvex Holding GmbH"}, Entry{ID: 1, Kind: KindCompany, Names: []string{"Zarvex Holding LLC"}})
	c := ix.Compare(Query{Kind: KindCompany, Name: "Zarvex Holding GmbH"}, Entry{ID: 1, Kind: KindCompany, Names: []string{"Zarvex Holding GmbH"}})
	if !(b.Score >= DefaultThreshold && c.Score > b.Score) {
		t.Errorf("other legal form %.3f, same legal form %.3f: want both hits, the same form higher", b.Score, c.Score)
	}
}

func TestSkeleton(t *testing.T) {
	same := [][2]string{{"mohammed", "muhammad"}, {"mohamed", "mukhammed"}, {"philip", "filip"}, {"yusuf", "yousef"}, {"bagheri", "baqeri"}, {"ghasem", "qasem"}}
	for _, p := range same {
		if skeleton(p[0]) != skeleton(p[1]) {
			t.Errorf("skeleton(%q) = %q, skeleton(%q) = %q: want equal", p[0], skeleton(p[0]), p[1], skeleton(p[1]))
		}
	}
	if skeleton("peter") == skeleton("victor") {
		t.Errorf("unrelated names share skeleton %q", skeleton("peter"))
	}
}

func TestVariantTable(t *testing.T) {
	lx := defaultLexicon()
	groups := [][]string{
		{"mohammed", "muhammad", "mohamed", "mukhammed"},
		{"vladimir", "volodymyr"},
		{"yusuf", "joseph", "iosif"},
	}
	for _, g := range groups {
		for _, n := range g[1:] {
			if lx.groups[n] == 0 || lx.groups[n] != lx.groups[g[0]] {
				t.Errorf("%q and %q are not in one variant group", g[0], n)
			}
		}
	}
	if lx.groups["vladimir"] == lx.groups["mohammed"] {
		t.Error("distinct names share a group")
	}
	// Cyrillic spellings reach the same group after transliteration.
	for _, s := range []string{"Мухаммед", "Владимир"} {
		toks := Normalize(KindPerson, s)
		if len(toks) != 1 || lx.groups[toks[0]] == 0 {
			t.Errorf("%q normalises to %v, which is in no variant group", s, toks)
		}
	}
}

// FuzzNormalize: no panics, valid lower-case ASCII tokens, and a second
// pass over the joined tokens changes nothing.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"PUTIN, Vladimir", "Siemens AG", "习近平", "S.A.R.L.", "al-'Abd", "Ｍｏｈａｍｍｅｄ", "O'Neil & Sons, Ltd.", "\xff\xfe", "a.b.c.d",
		"C.A.D. S.A. de C.V.", "NAUMAU, Siarhei", "Obshchestvo s ogranichennoi otvetstvennostyu 'SGM-MOST'", "Grupo W S.A.", "ZIMOUSKY, Aliaksandr",
		"Глобал Роял Мининг Ко., Лтд.", "ВАЛИД, Саид Ёон", "Dzhon Шмидт ГмбХ"} {
		f.Add(uint8(0), s)
		f.Add(uint8(1), s)
		f.Add(uint8(2), s)
	}
	f.Fuzz(func(t *testing.T, k uint8, s string) {
		kind := Kind(k % 3)
		toks := Normalize(kind, s)
		for _, tok := range toks {
			if tok == "" || !utf8.ValidString(tok) {
				t.Fatalf("bad token %q from %q", tok, s)
			}
			for i := 0; i < len(tok); i++ {
				c := tok[i]
				if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
					t.Fatalf("token %q from %q holds %q", tok, s, c)
				}
			}
		}
		again := Normalize(kind, strings.Join(toks, " "))
		if kind == KindPerson && !reflect.DeepEqual(again, toks) && !hasInitialRun(toks) {
			t.Fatalf("not idempotent: %q -> %v -> %v", s, toks, again)
		}
		// A query, with every query rule on, gives tokens of the same
		// kind, and their readings (cyrillic-readings) are no longer
		// than they are.
		for _, tok := range normalizeQuery(defaultLexicon(), kind, s, queryRules{legalAnyOrder: true, legalScattered: true, legalInCyrillic: true}) {
			if tok.text == "" || strings.IndexFunc(tok.text, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) >= 0 {
				t.Fatalf("query token %q from %q", tok.text, s)
			}
			var buf [maxDigraphToken]byte
			if r := cyrReading(tok.text, &buf); len(r) == 0 || len(r) > min(len(tok.text), maxDigraphToken) {
				t.Fatalf("token %q reads as %q", tok.text, r)
			}
		}
	})
}

// hasInitialRun reports single-letter tokens next to each other, which a
// second pass may read differently once the dots are gone.
func hasInitialRun(toks []string) bool {
	for i := 1; i < len(toks); i++ {
		if len(toks[i]) == 1 && len(toks[i-1]) == 1 {
			return true
		}
	}
	return false
}

// The words of a long legal form written apart among a company's words
// are read as the form, wherever they stand; forms of two words, words
// already together and words that make no form are left as they are.
func TestLegalWordsScattered(t *testing.T) {
	lx := defaultLexicon()
	on := queryRules{legalAnyOrder: true, legalScattered: true}
	for in, want := range map[string]string{
		"Obshchestvo Zvezda S Ogranichennoi Otvetstvennostyu": "zvezda llc",
		"Zvezda Obshchestvo S Ogranichennoi Otvetstvennostyu": "zvezda llc",
		"Kelvantor Limited Zorvan Company":                    "kelvantor ltd zorvan co", // two words: not gathered
		"S Zorvan Obshchestvo":                                "s zorvan obshchestvo",
	} {
		var got []string
		for _, tk := range normalizeQuery(lx, KindCompany, in, on) {
			got = append(got, tk.text)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%q: %q, want %q", in, strings.Join(got, " "), want)
		}
	}
}
