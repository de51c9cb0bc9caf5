package ident

import (
	"fmt"
	"strings"
)

// ParseIMO normalises an IMO ship identification number to its 7 digits
// (an "IMO" prefix is dropped) and verifies its check digit: the seventh
// digit is the sum of the first six weighted 7 down to 2, modulo 10.
func ParseIMO(raw string) (string, error) {
	s := stripSeparators(raw)
	s = strings.TrimPrefix(s, "IMO")
	if len(s) != 7 {
		return "", fmt.Errorf("imo: %w: need 7 digits, got %d characters", ErrIMOFormat, len(s))
	}
	sum := 0
	for i := 0; i < 7; i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", fmt.Errorf("imo: %w: position %d must be a digit", ErrIMOFormat, i+1)
		}
		if i < 6 {
			sum += int(s[i]-'0') * (7 - i)
		}
	}
	if want := sum % 10; int(s[6]-'0') != want {
		return "", fmt.Errorf("imo: %w: the check digit should be %d, the number ends in %c", ErrIMOCheckDigit, want, s[6])
	}
	return s, nil
}

// ParseMRN verifies an ICS2 Movement Reference Number: 2 digits (year), 2
// letters (country), 13 letters or digits, and a check character computed
// over the first 17 as for ISO 6346 (letters valued from 10 skipping
// multiples of 11, weights 2^i, modulo 11, with 10 written as 0).
func ParseMRN(raw string) (string, error) {
	s := stripSeparators(raw)
	if len(s) != 18 {
		return "", fmt.Errorf("mrn: %w: need 18 characters, got %d", ErrMRNFormat, len(s))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := s[i]
		isDigit, isLetter := c >= '0' && c <= '9', c >= 'A' && c <= 'Z'
		switch {
		case i < 2 && !isDigit:
			return "", fmt.Errorf("mrn: %w: position %d must be a digit", ErrMRNFormat, i+1)
		case i >= 2 && i < 4 && !isLetter:
			return "", fmt.Errorf("mrn: %w: position %d must be a letter", ErrMRNFormat, i+1)
		case !isDigit && !isLetter:
			return "", fmt.Errorf("mrn: %w: position %d must be a letter or digit", ErrMRNFormat, i+1)
		}
		v := int(c - '0')
		if isLetter {
			v = containerLetterValue(c)
		}
		sum += v << i
	}
	want := byte('0' + sum%11%10)
	if s[17] != want {
		return "", fmt.Errorf("mrn: %w: the check character should be %c, the MRN ends in %c", ErrMRNCheck, want, s[17])
	}
	return s, nil
}

// ParseEORI normalises an EORI number: an ISO 3166-1 alpha-2 country code
// (GB and XI included) followed by 1 to 15 letters or digits. EORI has no
// public check digit, so only the format is verified.
func ParseEORI(raw string) (string, error) {
	s := stripSeparators(raw)
	if len(s) < 3 || len(s) > 17 {
		return "", fmt.Errorf("eori: %w: need 3 to 17 characters, got %d", ErrEORIFormat, len(s))
	}
	if s[:2] != "XI" { // Northern Ireland's EORI prefix is not an ISO country
		if _, err := ParseCountry(s[:2]); err != nil {
			return "", fmt.Errorf("eori: %w: %w", ErrEORIFormat, err)
		}
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return "", fmt.Errorf("eori: %w: position %d must be a letter or digit", ErrEORIFormat, i+1)
		}
	}
	return s, nil
}
