package name

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
)

// sdnEntry is one OFAC SDN entry with its strong aliases.
type sdnEntry struct {
	entry   Entry
	aliases []string
}

var dobRe = regexp.MustCompile(`DOB (?:(\d{1,2}) )?(?:([A-Z][a-z]{2}) )?(\d{4})`)

var months = map[string]int{"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6, "Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}

func readOFACCSV(t testing.TB, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.TrimRight(b, "\x1a\r\n")
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

func ofacField(s string) string {
	s = strings.TrimSpace(s)
	if s == "-0-" {
		return ""
	}
	return s
}

// loadSDN reads the 2021-07 SDN list: entries with primary names, birth
// dates from the remarks, and the strong aliases of alt.csv.
func loadSDN(t testing.TB) []sdnEntry {
	dir := dataDir(t, "ofac/sdn_2021-07")
	var out []sdnEntry
	pos := map[string]int{}
	for _, r := range readOFACCSV(t, filepath.Join(dir, "sdn.csv")) {
		if len(r) < 12 {
			continue
		}
		var id uint32
		fmt.Sscan(r[0], &id)
		kind := KindCompany
		if ofacField(r[2]) == "individual" {
			kind = KindPerson
		}
		e := Entry{ID: id, Kind: kind, Names: []string{ofacField(r[1])}}
		if m := dobRe.FindStringSubmatch(r[11]); m != nil && kind == KindPerson {
			e.BirthDate = m[3]
			if mo := months[m[2]]; mo != 0 {
				e.BirthDate += fmt.Sprintf("-%02d", mo)
				if m[1] != "" {
					var d int
					fmt.Sscan(m[1], &d)
					e.BirthDate += fmt.Sprintf("-%02d", d)
				}
			}
		}
		pos[r[0]] = len(out)
		out = append(out, sdnEntry{entry: e})
	}
	for _, r := range readOFACCSV(t, filepath.Join(dir, "alt.csv")) {
		if len(r) < 4 {
			continue
		}
		if i, ok := pos[r[0]]; ok && ofacField(r[3]) != "" {
			out[i].aliases = append(out[i].aliases, ofacField(r[3]))
		}
	}
	if len(out) != 8976 {
		t.Fatalf("read %d SDN entries, want 8976", len(out))
	}
	return out
}

// typo applies one random edit (two for names over 10 letters):
// substitution (by a random Latin capital), deletion, insertion or
// transposition, on runes.
func typo(rng *rand.Rand, s string) string {
	b := []rune(s)
	letters := 0
	for _, c := range b {
		if unicode.IsLetter(c) {
			letters++
		}
	}
	edits := 1
	if letters > 10 {
		edits = 2
	}
	for k := 0; k < edits && len(b) > 1; k++ {
		i := rng.IntN(len(b))
		c := rune('A' + rng.IntN(26))
		switch rng.IntN(4) {
		case 0:
			b[i] = c
		case 1:
			b = append(b[:i], b[i+1:]...)
		case 2:
			b = append(b[:i], append([]rune{c}, b[i:]...)...)
		case 3:
			if i+1 < len(b) {
				b[i], b[i+1] = b[i+1], b[i]
			}
		}
	}
	return string(b)
}

type ofacFigures struct {
	exactFirst, typoFirst, typoTop10, primaryFirst, falseHit float64
	queries                                                  int
	build                                                    time.Duration
}

// rankOf returns the 1-based position of id in ms, or 0.
func rankOf(ms []Match, id uint32) int {
	for i, m := range ms {
		if m.ID == id {
			return i + 1
		}
	}
	return 0
}

// evalOFAC computes the four figures of the issue; every is the stride
// through the aliases (1 = all of them).
func evalOFAC(t testing.TB, sdn []sdnEntry, every int) ofacFigures {
	var f ofacFigures
	start := time.Now()
	all := NewIndex(Options{})
	prim := NewIndex(Options{})
	for _, s := range sdn {
		e := s.entry
		e.Names = append(append([]string{}, s.entry.Names...), s.aliases...)
		all.Add(e)
		prim.Add(s.entry)
	}
	f.build = time.Since(start)
	rng := rand.New(rand.NewPCG(2021, 7))
	var n, exact, tf, t10, pf int
	k := 0
	for _, s := range sdn {
		for _, a := range s.aliases {
			k++
			if k%every != 0 {
				continue
			}
			n++
			q := Query{Kind: s.entry.Kind, Name: a}
			if r := rankOf(all.Search(q, 0, 10), s.entry.ID); r == 1 {
				exact++
			}
			q.Name = typo(rng, a)
			r := rankOf(all.Search(q, 0, 10), s.entry.ID)
			if r == 1 {
				tf++
			}
			if r >= 1 && r <= 10 { // entries tied at the cut may follow
				t10++
			}
			q.Name = a
			if rankOf(prim.Search(q, 0, 10), s.entry.ID) == 1 {
				pf++
			}
		}
	}
	f.queries = n
	f.exactFirst = float64(exact) / float64(n)
	f.typoFirst = float64(tf) / float64(n)
	f.typoTop10 = float64(t10) / float64(n)
	f.primaryFirst = float64(pf) / float64(n)

	// False hits: primary names of odd entries against an index of the even ones.
	half := NewIndex(Options{})
	for _, s := range sdn {
		if s.entry.ID%2 == 0 {
			e := s.entry
			e.Names = append(append([]string{}, s.entry.Names...), s.aliases...)
			half.Add(e)
		}
	}
	var asked, hit int
	for i, s := range sdn {
		if s.entry.ID%2 == 1 && i%every == 0 {
			asked++
			if len(half.Search(Query{Kind: s.entry.Kind, Name: s.entry.Names[0]}, DefaultThreshold, 1)) > 0 {
				hit++
			}
		}
	}
	f.falseHit = float64(hit) / float64(asked)
	return f
}

// logOFAC logs the figures next to watchman's and the goals.
func logOFAC(t *testing.T, f ofacFigures) {
	t.Logf("%d alias queries, index build %v", f.queries, f.build)
	t.Logf("all indexed, exact aliases first: %.3f (watchman 0.960)", f.exactFirst)
	t.Logf("all indexed, typo'd aliases first: %.3f (watchman 0.883, goal 0.95), top 10: %.3f (watchman 0.961, goal 0.99)", f.typoFirst, f.typoTop10)
	t.Logf("primary names only, aliases first: %.3f (watchman 0.528, goal 0.65)", f.primaryFirst)
	t.Logf("half against half, false-hit rate at %.2f: %.4f", DefaultThreshold, f.falseHit)
}

// TestOFAC measures retrieval on the real SDN list (2021-07) over every
// second strong alias (the soak build tag runs them all) and asserts the
// issue's goals, which the matcher reaches over both; README.md has the
// full figures.
func TestOFAC(t *testing.T) {
	f := evalOFAC(t, loadSDN(t), 2)
	logOFAC(t, f)
	checkOFAC(t, f)
}

// checkOFAC asserts the goals reached and the levels reached where the
// goals are not, and logs which goals are still open.
func checkOFAC(t *testing.T, f ofacFigures) {
	checks := []struct {
		what      string
		got, want float64
		goal      float64
	}{
		// Bars sit about 0.005-0.01 under the figures measured (README.md),
		// not at them: the development set guards against regressions,
		// the test set of eval_test.go reports.
		{"exact aliases first (watchman 0.960)", f.exactFirst, 0.96, 0.96},
		{"typo'd aliases first (watchman 0.883)", f.typoFirst, 0.94, 0.95},
		{"typo'd aliases in top 10 (watchman 0.961)", f.typoTop10, 0.985, 0.99},
		{"aliases against primary names first (watchman 0.528)", f.primaryFirst, 0.64, 0.65},
	}
	for _, c := range checks {
		if c.got < c.want {
			t.Errorf("%s: %.3f < %.3f", c.what, c.got, c.want)
		}
		if c.got < c.goal {
			t.Logf("goal still open: %s %.3f, goal %.2f", c.what, c.got, c.goal)
		}
	}
	if f.falseHit > 0.085 {
		t.Errorf("false-hit rate %.4f above 0.085", f.falseHit)
	}
}
