package ident

import (
	"errors"
	"testing"
)

func TestParseCountryName(t *testing.T) {
	for in, want := range map[string]string{
		"AF": "AF", "afg": "AF", "Afghanistan": "AF", "AFGHANISTAN": "AF",
		"Russia": "RU", "Russian Federation": "RU", "Iran": "IR", "Iran, Islamic Republic of": "IR",
		"Korea, Democratic People's Republic of": "KP", "North Korea": "KP", "South Korea": "KR",
		"Côte d’Ivoire": "CI", "COTE D'IVOIRE": "CI", "Burma": "MM", "Myanmar": "MM",
		"United States": "US", "United Kingdom": "GB", "Syria": "SY", "Bosnia and Herzegovina": "BA",
		"Bosnia & Herzegovina": "BA", " germany ": "DE",
	} {
		got, err := ParseCountryName(in)
		if err != nil || got != want {
			t.Errorf("ParseCountryName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "Atlantis", "EU", "419", "Europe"} {
		if got, err := ParseCountryName(in); !errors.Is(err, ErrCountry) {
			t.Errorf("ParseCountryName(%q) = %q, %v; want ErrCountry", in, got, err)
		}
	}
}
