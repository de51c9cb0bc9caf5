package lists

import (
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/unicode/norm"
)

// countryNameAliases holds the country names OFAC and the UN write that
// differ from the English names in CLDR. Keys are in normalised form
// (countryKey).
var countryNameAliases = map[string]string{
	"korea north": "KP", "korea south": "KR", "north korea": "KP", "south korea": "KR",
	"democratic peoples republic of korea": "KP", "republic of korea": "KR",
	"burma": "MM", "russia": "RU", "russian federation": "RU", "iran": "IR",
	"iran islamic republic of": "IR", "syria": "SY", "syrian arab republic": "SY",
	"congo democratic republic of the": "CD", "democratic republic of the congo": "CD",
	"congo republic of the": "CG", "republic of the congo": "CG", "congo": "CG",
	"venezuela": "VE", "venezuela bolivarian republic of": "VE", "bolivia": "BO",
	"tanzania": "TZ", "united republic of tanzania": "TZ", "laos": "LA",
	"lao peoples democratic republic": "LA", "moldova": "MD", "republic of moldova": "MD",
	"vietnam": "VN", "viet nam": "VN", "cote divoire": "CI", "ivory coast": "CI",
	"united kingdom": "GB", "united kingdom of great britain and northern ireland": "GB",
	"united states": "US", "united states of america": "US", "usa": "US",
	"the gambia": "GM", "gambia": "GM", "bahamas the": "BS", "the bahamas": "BS",
	"palestinian": "PS", "west bank": "PS", "gaza": "PS", "state of palestine": "PS",
	"turkey": "TR", "czech republic": "CZ", "macedonia": "MK",
	"north macedonia": "MK", "the former yugoslav republic of macedonia": "MK",
	"brunei": "BN", "cabo verde": "CV", "cape verde": "CV", "swaziland": "SZ",
	"eswatini": "SZ", "micronesia federated states of": "FM", "holy see": "VA",
	"kosovo": "XK", "curacao": "CW", "hong kong": "HK", "macau": "MO", "macao": "MO",
	"taiwan": "TW", "sudan": "SD", "south sudan": "SS", "timor leste": "TL",
	"st vincent and the grenadines": "VC", "saint vincent and the grenadines": "VC",
	"st kitts and nevis": "KN", "saint kitts and nevis": "KN", "st lucia": "LC",
	"cote d ivoire": "CI", "virgin islands british": "VG", "british virgin islands": "VG",
	"virgin islands us": "VI", "macedonia the former yugoslav republic of": "MK", "turkiye": "TR",
	"bosnia and herzegovina": "BA", "myanmar": "MM", "region crimea": "UA",
}

// countryNames maps normalised English country names to ISO 3166-1
// alpha-2. Built once from CLDR's English region names and never written
// afterwards.
var countryNames = sync.OnceValue(func() map[string]string {
	m := make(map[string]string, 300)
	names := display.English.Regions()
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			r, err := language.ParseRegion(string([]rune{a, b}))
			if err != nil || !r.IsCountry() {
				continue
			}
			if n := names.Name(r); n != "" {
				m[countryKey(n)] = r.String()
			}
		}
	}
	for k, v := range countryNameAliases {
		m[k] = v
	}
	return m
})

// countryKey is the comparison form of a country name: lower case ASCII
// letters and single spaces, punctuation and accents dropped.
func countryKey(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		case r == '&':
			space = true
			if b.Len() > 0 {
				b.WriteString(" and")
			}
		case r == '\'' || r == '\u2019' || r == '.' || unicode.Is(unicode.Mn, r):
			// "People's" and "St." compare without the mark.
		default:
			space = true
		}
	}
	return b.String()
}

// countryCode returns the ISO 3166-1 alpha-2 code for an English country
// name as OFAC or the UN write it, or "" when the name is not recognised
// (the country is then left out rather than guessed).
func countryCode(name string) string {
	return countryNames()[countryKey(name)]
}
