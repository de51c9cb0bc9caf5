package ident

import (
	"fmt"
	"strings"
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

// NormalizePhone returns a phone number in E.164 form: '+' and 8 to 15
// digits. A leading "00" is read as '+'; spaces, hyphens, dots, slashes and
// brackets are dropped. Numbers without a country code are refused, since
// they cannot be compared across borders.
func NormalizePhone(raw string) (string, error) {
	s := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '/', '(', ')', '\u00a0':
			return -1
		}
		return r
	}, strings.TrimSpace(raw))
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if !strings.HasPrefix(s, "+") {
		return "", fmt.Errorf("%w: an international number starts with + or 00", ErrPhoneFormat)
	}
	d := s[1:]
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", fmt.Errorf("%w: want 8 to 15 digits after +, not starting with 0", ErrPhoneFormat)
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return "", fmt.Errorf("%w: position %d must be a digit", ErrPhoneFormat, i+2)
		}
	}
	return s, nil
}

// NormalizeEmail returns an e-mail address with its domain in lower case
// and its local part as given (RFC 5321 leaves the local part's case to the
// receiving host).
func NormalizeEmail(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || len(s) > 254 || !utf8.ValidString(s) || strings.ContainsAny(s, " \t\r\n<>") {
		return "", fmt.Errorf("%w: want local@domain", ErrEmailFormat)
	}
	return s[:at+1] + strings.ToLower(s[at+1:]), nil
}
