package ident

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Plate lengths: the shortest real plates have one character (Monaco,
// Jersey); no European format exceeds 12 once separators are removed.
const (
	minPlate = 1
	maxPlate = 12
)

// NormalizePlate returns the form under which a plate is matched: upper
// case, with spaces, hyphens and dots removed, national letters (Ä, Ö, Ü, Å)
// kept, and its country as ISO 3166-1 alpha-2 (see ParsePlateCountry).
// Plates match on the pair (country, plate).
func NormalizePlate(country, raw string) (iso, plate string, err error) {
	iso, err = ParsePlateCountry(country)
	if err != nil {
		return "", "", fmt.Errorf("plate: %w", err)
	}
	if !utf8.ValidString(raw) {
		return "", "", fmt.Errorf("plate: %w: not valid UTF-8", ErrPlateFormat)
	}
	p := stripSeparators(raw)
	if p == "" {
		return "", "", fmt.Errorf("plate: %w", ErrEmpty)
	}
	n := 0
	for _, r := range p {
		n++
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return "", "", fmt.Errorf("plate: %w: character %d is neither a letter nor a digit", ErrPlateFormat, n)
		}
	}
	if n < minPlate || n > maxPlate {
		return "", "", fmt.Errorf("plate: %w: %d characters, want %d to %d", ErrPlateFormat, n, minPlate, maxPlate)
	}
	return iso, strings.ToUpper(p), nil
}
