package ident

import (
	"fmt"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// countryAliases are English names of countries that CLDR's English
// display names (which ParseCountryName reads) do not give: the ISO 3166
// short names where CLDR uses a common form, and names watch lists and
// declarations commonly write. Keys are in foldCountryName form.
var countryAliases = map[string]string{
	"russian federation":                   "RU",
	"iran islamic republic of":             "IR",
	"islamic republic of iran":             "IR",
	"syrian arab republic":                 "SY",
	"korea democratic peoples republic of": "KP",
	"democratic peoples republic of korea": "KP",
	"dprk":                                 "KP",
	"korea republic of":                    "KR",
	"republic of korea":                    "KR",
	"korea north":                          "KP", // OFAC writes "Korea, North"
	"korea south":                          "KR",
	"the gambia":                           "GM",
	"palestinian":                          "PS", // OFAC writes this nationality so
	"united states of america":             "US",
	"usa":                                  "US",
	"uk":                                   "GB",
	"great britain":                        "GB",
	"united kingdom of great britain and northern ireland": "GB",
	"viet nam":                         "VN",
	"lao peoples democratic republic":  "LA",
	"democratic republic of the congo": "CD",
	"congo democratic republic of the": "CD",
	"republic of the congo":            "CG",
	"congo":                            "CG",
	"ivory coast":                      "CI",
	"cote divoire":                     "CI",
	"moldova republic of":              "MD",
	"tanzania united republic of":      "TZ",
	"venezuela bolivarian republic of": "VE",
	"bolivia plurinational state of":   "BO",
	"palestine state of":               "PS",
	"palestine":                        "PS",
	"west bank":                        "PS",
	"gaza strip":                       "PS",
	"turkiye":                          "TR",
	"czech republic":                   "CZ",
	"macedonia":                        "MK",
	"swaziland":                        "SZ",
	"cape verde":                       "CV",
}

// countryNames maps every country's English name (CLDR, through
// golang.org/x/text/language/display), folded, to its alpha-2 code. It is
// built once and only read afterwards.
var countryNames = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	names := display.English.Regions()
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			r, err := language.ParseRegion(string([]rune{a, b}))
			if err != nil || !r.IsCountry() || r.Canonicalize() != r {
				continue
			}
			code := r.String()
			n := names.Name(r)
			if n == "" {
				continue
			}
			m[foldCountryName(n)] = code
			// "Myanmar (Burma)": each part alone too.
			if i := strings.IndexByte(n, '('); i > 0 {
				m[foldCountryName(n[:i])] = code
				m[foldCountryName(strings.Trim(n[i:], "()"))] = code
			}
		}
	}
	for k, v := range countryAliases {
		m[k] = v
	}
	return m
})

// foldCountryName lowers a name and keeps only its letters (accents
// dropped for the Latin letters CLDR's names use) and single spaces, so
// "Côte d’Ivoire", "COTE D'IVOIRE" and "Cote dIvoire" are one key, and "&" is "and".
func foldCountryName(s string) string {
	var b strings.Builder
	space := false
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(c)
		case c == 'ç':
			b.WriteByte('c')
		case c == 'é' || c == 'è':
			b.WriteByte('e')
		case c == 'ô' || c == 'ö':
			b.WriteByte('o')
		case c == 'ü':
			b.WriteByte('u')
		case c == 'å' || c == 'ã':
			b.WriteByte('a')
		case c == 'í':
			b.WriteByte('i')
		case c == '\'' || c == '’' || c == '.':
		case c == '&': // "Bosnia & Herzegovina" is "Bosnia and Herzegovina"
			if b.Len() > 0 {
				b.WriteString(" and")
			}
			space = true
		case unicode.IsSpace(c) || c == ',' || c == '-' || c == '(' || c == ')':
			space = true
		}
	}
	return b.String()
}

// ParseCountryName returns the ISO 3166-1 alpha-2 code for a country given
// as alpha-2, alpha-3 or its English name ("Afghanistan", "Russian
// Federation", "Korea, Democratic People's Republic of"), in any case.
// It refuses what is none of these with ErrCountry.
func ParseCountryName(s string) (string, error) {
	if c, err := ParseCountry(s); err == nil {
		return c, nil
	}
	if c, ok := countryNames()[foldCountryName(s)]; ok {
		return c, nil
	}
	return "", fmt.Errorf("%w: want an ISO 3166-1 code (alpha-2 or alpha-3) or an English country name", ErrCountry)
}
