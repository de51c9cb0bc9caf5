package bench

import (
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"

	"github.com/borderpost/borderpost/agent/match/name"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// NameKind is how a planted name query differs from the name on the
// alert. Each is reported on its own in recall_by_kind (as "name_" and
// the kind), so that an easy kind cannot hide a hard one.
type NameKind string

// The kinds of planted name queries. Edits never touch the first letter
// of a token except in FirstLetter; every kind may also lose its case (a
// cargo declaration in capitals), which the engine must ignore anyway.
const (
	Verbatim           NameKind = "verbatim"            // one of the alert's names as written
	OneEdit            NameKind = "one_edit"            // one substitution, deletion, insertion or transposition in a token of 4+ letters
	TwoEdits           NameKind = "two_edits"           // two such edits, in two tokens when the name has two long enough
	FirstLetter        NameKind = "first_letter"        // the first letter of a token of 3+ letters replaced
	ShortTransposition NameKind = "short_transposition" // two adjacent letters swapped in a token of 3 to 5 letters
	DroppedToken       NameKind = "dropped_token"       // one token of a name of 3+ tokens left out
	AddedToken         NameKind = "added_token"         // a common given name or company word added
	OtherScript        NameKind = "other_script"        // a Latin name written in Cyrillic, letter by letter
)

// NameKinds lists every kind, in the order the report gives them.
var NameKinds = []NameKind{Verbatim, OneEdit, TwoEdits, FirstLetter, ShortTransposition, DroppedToken, AddedToken, OtherScript}

// nameItem is a name as a device or declaration sends it.
type nameItem struct {
	kind  devices.Kind
	value string
}

func (n nameItem) item() devices.Item { return devices.Item{Kind: n.kind, Value: n.value} }

// alertNames returns the names an alert carries and the item kind they
// are checked as.
func alertNames(a store.Alert) ([]string, devices.Kind) {
	if p := a.Subject.Person; p != nil {
		return append([]string{strings.TrimSpace(p.Forenames + " " + p.Surname)}, p.Aliases...), devices.KindPerson
	}
	c := a.Subject.Company
	return append([]string{c.Name}, c.Aliases...), devices.KindCompany
}

// plantName draws an alert of list whose names allow the kind of change,
// and returns the changed name with the alert's ID. It gives up (false)
// when none of a few hundred draws allows it.
func plantName(rng *rand.Rand, list []store.Alert, kind NameKind) (nameItem, bool) {
	q, _, ok := plantNameOn(rng, list, kind)
	return q, ok
}

func plantNameOn(rng *rand.Rand, list []store.Alert, kind NameKind) (nameItem, string, bool) {
	if len(list) == 0 {
		return nameItem{}, "", false
	}
	for range 500 {
		a := list[rng.IntN(len(list))]
		names, ik := alertNames(a)
		for _, j := range rng.Perm(len(names)) {
			if v, ok := alter(rng, kind, names[j], ik); ok {
				if rng.IntN(2) == 0 {
					v = strings.ToUpper(v)
				}
				return nameItem{kind: ik, value: v}, a.ID, true
			}
		}
	}
	return nameItem{}, "", false
}

// alter applies one kind of change to a name, or reports that the name
// does not allow it (no token long enough, too few tokens, not Latin).
func alter(rng *rand.Rand, kind NameKind, n string, ik devices.Kind) (string, bool) {
	toks := strings.Fields(n)
	// letters returns the tokens made of Latin letters only whose length
	// is within [lo, hi].
	letters := func(lo, hi int) []int {
		var out []int
		for i, t := range toks {
			if len(t) >= lo && len(t) <= hi && isLatinWord(t) {
				out = append(out, i)
			}
		}
		return out
	}
	switch kind {
	case Verbatim:
		return n, true
	case OneEdit:
		c := letters(4, 64)
		if len(c) == 0 {
			return "", false
		}
		j := c[rng.IntN(len(c))]
		toks[j] = edit(rng, toks[j])
	case TwoEdits:
		c := letters(4, 64)
		switch {
		case len(c) >= 2:
			p := rng.Perm(len(c))
			toks[c[p[0]]] = edit(rng, toks[c[p[0]]])
			toks[c[p[1]]] = edit(rng, toks[c[p[1]]])
		case len(c) == 1 && len(toks[c[0]]) >= 7:
			// Two edits in one token, apart: the second after the first.
			t := toks[c[0]]
			h := len(t) / 2
			toks[c[0]] = edit(rng, t[:h]) + editTail(rng, t[h:])
		default:
			return "", false
		}
	case FirstLetter:
		c := letters(3, 64)
		if len(c) == 0 {
			return "", false
		}
		j := c[rng.IntN(len(c))]
		r := []byte(toks[j])
		r[0] = otherLetter(rng, r[0])
		toks[j] = string(r)
	case ShortTransposition:
		var c []int
		for _, j := range letters(3, 5) {
			if hasUnequalNeighbours(toks[j]) {
				c = append(c, j)
			}
		}
		if len(c) == 0 {
			return "", false
		}
		j := c[rng.IntN(len(c))]
		r := []byte(toks[j])
		for {
			p := rng.IntN(len(r) - 1)
			if r[p] != r[p+1] {
				r[p], r[p+1] = r[p+1], r[p]
				break
			}
		}
		toks[j] = string(r)
	case DroppedToken:
		if len(toks) < 3 {
			return "", false
		}
		j := rng.IntN(len(toks))
		toks = slices.Delete(toks, j, j+1)
	case AddedToken:
		pool := addedGiven
		if ik == devices.KindCompany {
			pool = addedCompany
		}
		j := rng.IntN(len(toks) + 1)
		toks = slices.Insert(toks, j, pool[rng.IntN(len(pool))])
	case OtherScript:
		for _, t := range toks {
			if !isLatinText(t) {
				return "", false
			}
		}
		return toCyrillic(n), true
	}
	return strings.Join(toks, " "), true
}

// Tokens a traveller's or a declaration's name often carries beyond what
// the list holds: a second given name, a company word.
var (
	addedGiven   = []string{"Maria", "Ali", "Mohammed", "John", "Anna", "Ivan", "Jean", "Kumar", "Lee", "Jose", "Ahmed", "Elena"}
	addedCompany = []string{"Group", "International", "Trading", "Holding", "Services", "Company"}
)

// edit applies one edit to t away from its first letter: substitution,
// deletion, insertion or transposition of two letters after the first.
func edit(rng *rand.Rand, t string) string {
	r := []byte(t)
	if len(r) < 2 {
		return t
	}
	p := 1 + rng.IntN(len(r)-1)
	switch rng.IntN(4) {
	case 0:
		r[p] = otherLetter(rng, r[p])
	case 1:
		r = slices.Delete(r, p, p+1)
	case 2:
		r = slices.Insert(r, p, randomLetter(rng))
	default:
		if p == 1 {
			p = 2
		}
		if p >= len(r) || r[p] == r[p-1] {
			r[p-1] = otherLetter(rng, r[p-1]) // a substitution where a swap would change nothing
		} else {
			r[p], r[p-1] = r[p-1], r[p]
		}
	}
	return string(r)
}

// editTail applies one edit anywhere in t, which continues a token.
func editTail(rng *rand.Rand, t string) string {
	r := []byte(t)
	p := rng.IntN(len(r))
	r[p] = otherLetter(rng, r[p])
	return string(r)
}

func randomLetter(rng *rand.Rand) byte { return byte('a' + rng.IntN(26)) }

// otherLetter returns a letter other than c, in c's case.
func otherLetter(rng *rand.Rand, c byte) byte {
	upper := c >= 'A' && c <= 'Z'
	lc := c | 0x20
	for {
		n := randomLetter(rng)
		if n != lc {
			if upper {
				n &^= 0x20
			}
			return n
		}
	}
}

func hasUnequalNeighbours(t string) bool {
	for i := 1; i < len(t); i++ {
		if t[i] != t[i-1] {
			return true
		}
	}
	return false
}

// isLatinWord reports whether t is ASCII letters only.
func isLatinWord(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return t != ""
}

// isLatinText reports whether t has no letters outside ASCII.
func isLatinText(t string) bool {
	for _, r := range t {
		if r > unicode.MaxASCII {
			return false
		}
	}
	return true
}

// cyrillic renders Latin letter groups the way a Russian clerk writes a
// foreign name; the longest group matches first.
var cyrillic = []struct{ lat, cyr string }{
	{"shch", "щ"}, {"sh", "ш"}, {"ch", "ч"}, {"kh", "х"}, {"zh", "ж"}, {"ts", "ц"}, {"ya", "я"}, {"yu", "ю"},
	{"yo", "ё"}, {"ph", "ф"}, {"th", "т"}, {"ou", "у"}, {"oo", "у"}, {"ee", "и"}, {"ck", "к"},
	{"a", "а"}, {"b", "б"}, {"c", "к"}, {"d", "д"}, {"e", "е"}, {"f", "ф"}, {"g", "г"}, {"h", "х"}, {"i", "и"},
	{"j", "дж"}, {"k", "к"}, {"l", "л"}, {"m", "м"}, {"n", "н"}, {"o", "о"}, {"p", "п"}, {"q", "к"}, {"r", "р"},
	{"s", "с"}, {"t", "т"}, {"u", "у"}, {"v", "в"}, {"w", "в"}, {"x", "кс"}, {"y", "й"}, {"z", "з"},
}

// toCyrillic writes a Latin name in Cyrillic letters, keeping capitals at
// the start of words; other characters stay as they are.
func toCyrillic(n string) string {
	var b strings.Builder
	lower := strings.ToLower(n)
	for i := 0; i < len(lower); {
		matched := false
		for _, m := range cyrillic {
			if strings.HasPrefix(lower[i:], m.lat) {
				c := m.cyr
				if n[i] >= 'A' && n[i] <= 'Z' {
					r := []rune(c)
					r[0] = unicode.ToUpper(r[0])
					c = string(r)
				}
				b.WriteString(c)
				i += len(m.lat)
				matched = true
				break
			}
		}
		if !matched {
			b.WriteByte(n[i])
			i++
		}
	}
	return b.String()
}

// noise is a set of names on no alert of the list: generated like the
// list's names (so they share its common tokens, as travellers do), with
// every one dropped whose normalised tokens, in any order, are those of a
// name of the list. A hit on one is a false hit an officer has to clear.
type noise struct {
	items   []nameItem
	keys    map[string][]int // normalised key -> items
	dropped []bool
}

// newNoise generates n candidate names from a seed the list never uses.
func newNoise(seed uint64, n int) *noise {
	z := &noise{keys: map[string][]int{}}
	for _, e := range name.Generate(rand.New(rand.NewPCG(seed+2, 7)), n) {
		kind := devices.KindPerson
		if e.Kind == name.KindCompany {
			kind = devices.KindCompany
		}
		it := nameItem{kind: kind, value: e.Names[0]}
		k := nameKey(kind, it.value)
		z.keys[k] = append(z.keys[k], len(z.items))
		z.items = append(z.items, it)
	}
	z.dropped = make([]bool, len(z.items))
	return z
}

// nameKey is a name's normalised tokens, sorted: equal for the same name
// in another order, case or transliteration.
func nameKey(kind devices.Kind, s string) string {
	k := name.KindPerson
	if kind == devices.KindCompany {
		k = name.KindCompany
	}
	t := name.Normalize(k, s)
	slices.Sort(t)
	return strings.Join(t, " ")
}

// drop marks the candidates that carry one of a's names.
func (z *noise) drop(a *store.Alert) {
	if a.Subject.Kind != store.SubjectPerson && a.Subject.Kind != store.SubjectCompany {
		return
	}
	names, kind := alertNames(*a)
	for _, n := range names {
		for _, i := range z.keys[nameKey(kind, n)] {
			z.dropped[i] = true
		}
	}
}

// kept returns the candidates no alert carries.
func (z *noise) kept() []nameItem {
	var out []nameItem
	for i, it := range z.items {
		if !z.dropped[i] {
			out = append(out, it)
		}
	}
	return out
}
