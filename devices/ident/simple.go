package ident

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxSimple bounds identifiers that have no format of their own.
const maxSimple = 35

// NormalizeSimple returns the matching form of an identifier that has no
// check digit of its own: identity document numbers, VINs, firearm serials,
// aircraft registrations. Upper case; spaces, hyphens, dots, slashes and
// MRZ fillers ('<') removed; only ASCII letters and digits, 1 to 35 of them.
func NormalizeSimple(raw string) (string, error) {
	s := strings.ReplaceAll(stripSeparators(raw), "<", "")
	if s == "" {
		return "", ErrEmpty
	}
	if len(s) > maxSimple {
		return "", fmt.Errorf("%w: %d characters, at most %d", ErrIdentifierFormat, len(s), maxSimple)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return "", fmt.Errorf("%w: position %d must be a letter or digit", ErrIdentifierFormat, i+1)
		}
	}
	return s, nil
}

// NormalizePhone returns a phone number in E.164 form: '+' and a country
// code with the national number, 7 to 15 digits in all. A leading "00" is
// read as '+'; spaces, hyphens, dots, slashes and brackets are dropped.
// Numbers without a country code are refused, since they cannot be
// compared across borders.
func NormalizePhone(raw string) (string, error) {
	s := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '/', '(', ')', '\u00a0':
			return -1
		}
		return r
	}, strings.TrimSpace(raw))
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasPrefix(s, "00"):
		s = s[2:]
	default:
		return "", fmt.Errorf("%w: an international number starts with + or 00", ErrPhoneFormat)
	}
	if len(s) < 7 || len(s) > 15 || s[0] == '0' {
		return "", fmt.Errorf("%w: want a country code and 7 to 15 digits in all, not starting with 0", ErrPhoneFormat)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", fmt.Errorf("%w: character %d after the + must be a digit", ErrPhoneFormat, i+1)
		}
	}
	return "+" + s, nil
}

// NormalizeEmail returns an e-mail address with its domain in lower case
// and its local part as given (RFC 5321 leaves the local part's case to the
// receiving host). The domain needs dot-separated labels of letters,
// digits and hyphens; the local part at most 64 characters, no white space.
func NormalizeEmail(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || len(s) > 254 || !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: want local-part@domain, at most 254 characters", ErrEmailFormat)
	}
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if len(local) > 64 || strings.ContainsRune(local, '@') || strings.IndexFunc(local, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>'
	}) >= 0 {
		return "", fmt.Errorf("%w: the local part is too long or holds white space, '<', '>' or a second '@'", ErrEmailFormat)
	}
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") ||
		strings.IndexFunc(domain, func(r rune) bool { return !(r == '.' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) }) >= 0 {
		return "", fmt.Errorf("%w: the domain needs dot-separated labels of letters, digits and hyphens", ErrEmailFormat)
	}
	return local + "@" + domain, nil
}

// NormalizeAircraft returns an aircraft registration in upper case with
// hyphens and spaces removed ("D-AIMA" becomes "DAIMA"): 2 to 10 letters or
// digits.
func NormalizeAircraft(raw string) (string, error) {
	s, err := NormalizeSimple(raw)
	if err != nil || len(s) < 2 || len(s) > 10 {
		return "", fmt.Errorf("%w: an aircraft registration has 2 to 10 letters or digits", ErrIdentifierFormat)
	}
	return s, nil
}
