package ident

import (
	"fmt"
	"strings"

	"golang.org/x/text/language"
)

// distinguishingSigns maps the international distinguishing signs shown on
// plate bands (Vienna Convention, 1968) to ISO 3166-1 alpha-2 where the two
// differ. Signs equal to the alpha-2 code need no entry.
var distinguishingSigns = map[string]string{
	"A": "AT", "B": "BE", "D": "DE", "E": "ES", "F": "FR", "H": "HU", "I": "IT",
	"L": "LU", "M": "MT", "N": "NO", "P": "PT", "S": "SE", "V": "VA",
	"FIN": "FI", "IRL": "IE", "EST": "EE", "SLO": "SI", "RUS": "RU", "SRB": "RS",
	"MNE": "ME", "BIH": "BA", "NMK": "MK", "FL": "LI", "RSM": "SM", "AND": "AD",
	"UK": "GB", "GBZ": "GI", "GBJ": "JE", "GBG": "GG", "GBM": "IM", "USA": "US",
	"TN": "TN", "MA": "MA", "DZ": "DZ", "RL": "LB", "SYR": "SY", "IR": "IR",
}

// ParseCountry returns the ISO 3166-1 alpha-2 code for a country given as
// alpha-2 or alpha-3. It refuses codes that are not countries (regions such
// as "EU" or "419").
func ParseCountry(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 2 && len(s) != 3 {
		return "", fmt.Errorf("%w: want 2 or 3 letters, got %d characters", ErrCountry, len(s))
	}
	r, err := language.ParseRegion(s)
	if err != nil || !r.IsCountry() {
		return "", fmt.Errorf("%w: not an ISO 3166-1 country", ErrCountry)
	}
	return r.String(), nil
}

// ParsePlateCountry accepts what a camera or an officer gives as a plate's
// country: the international distinguishing sign on the plate band (D, F,
// NL, SLO...) or an ISO 3166-1 code, and returns ISO 3166-1 alpha-2.
func ParsePlateCountry(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if iso, ok := distinguishingSigns[s]; ok {
		return iso, nil
	}
	return ParseCountry(s)
}
