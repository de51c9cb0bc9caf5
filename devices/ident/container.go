package ident

import (
	"fmt"
	"strings"
)

// containerLetterValue gives the ISO 6346 value of an upper-case letter:
// A=10 upward, skipping 11, 22 and 33 (multiples of 11).
func containerLetterValue(r byte) int {
	v := 10
	for c := byte('A'); c < r; c++ {
		v++
		if v%11 == 0 {
			v++
		}
	}
	return v
}

// ContainerCheckDigit computes the ISO 6346 check digit over the first ten
// characters of a container number (owner code, category, serial). It
// returns ErrContainerFormat if those characters are not of that shape.
func ContainerCheckDigit(s string) (int, error) {
	if len(s) < 10 {
		return 0, fmt.Errorf("%w: need 10 characters before the check digit, got %d", ErrContainerFormat, len(s))
	}
	sum := 0
	for i := 0; i < 10; i++ {
		c := s[i]
		var v int
		switch {
		case i < 4 && c >= 'A' && c <= 'Z':
			if i == 3 && !strings.ContainsRune("UJZR", rune(c)) {
				return 0, fmt.Errorf("%w: category (position 4) must be U, J, Z or R", ErrContainerFormat)
			}
			v = containerLetterValue(c)
		case i >= 4 && c >= '0' && c <= '9':
			v = int(c - '0')
		case i < 4:
			return 0, fmt.Errorf("%w: position %d must be a letter", ErrContainerFormat, i+1)
		default:
			return 0, fmt.Errorf("%w: position %d must be a digit", ErrContainerFormat, i+1)
		}
		sum += v << i
	}
	return sum % 11 % 10, nil
}

// stripSeparators upper-cases s and removes spaces, hyphens, dots and
// slashes, which OCR engines and people put into identifiers.
func stripSeparators(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '-', '.', '/', '\u00a0':
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(s)))
}

// ParseContainer normalises a container number (upper case, separators
// removed) and verifies its ISO 6346 format and check digit. The error for a
// wrong check digit names the digit expected.
func ParseContainer(raw string) (string, error) {
	s := stripSeparators(raw)
	if s == "" {
		return "", fmt.Errorf("container: %w", ErrEmpty)
	}
	if len(s) != 11 {
		return "", fmt.Errorf("container: %w: need 11 characters, got %d", ErrContainerFormat, len(s))
	}
	want, err := ContainerCheckDigit(s)
	if err != nil {
		return "", fmt.Errorf("container: %w", err)
	}
	got := s[10]
	if got < '0' || got > '9' {
		return "", fmt.Errorf("container: %w: position 11 must be a digit", ErrContainerFormat)
	}
	if int(got-'0') != want {
		return "", fmt.Errorf("container: %w: the check digit should be %d, the number ends in %c", ErrContainerCheckDigit, want, got)
	}
	return s, nil
}

// ocrConfusions lists the characters that container OCR commonly mistakes
// for each other; each pair works both ways.
var ocrConfusions = [][2]byte{{'O', '0'}, {'I', '1'}, {'B', '8'}, {'S', '5'}, {'Z', '2'}, {'G', '6'}}

// CorrectContainer tries to repair an OCR read that fails ParseContainer.
// It returns the corrected number and a description of the change when
// exactly one single-character OCR confusion (O/0, I/1, B/8, S/5, Z/2, G/6)
// makes the number valid. If the read is already valid it is returned with
// an empty correction. If no correction or more than one correction works,
// it returns the original parse error, since guessing between two valid
// numbers would invent a match.
func CorrectContainer(raw string) (value, correction string, err error) {
	v, perr := ParseContainer(raw)
	if perr == nil {
		return v, "", nil
	}
	s := stripSeparators(raw)
	if len(s) != 11 {
		return "", "", perr
	}
	var found []string
	var how string
	b := []byte(s)
	for i := range b {
		orig := b[i]
		for _, p := range ocrConfusions {
			var to byte
			switch orig {
			case p[0]:
				to = p[1]
			case p[1]:
				to = p[0]
			default:
				continue
			}
			b[i] = to
			if c, err := ParseContainer(string(b)); err == nil {
				found = append(found, c)
				how = fmt.Sprintf("OCR %c->%c at position %d", orig, to, i+1)
			}
			b[i] = orig
		}
	}
	if len(found) != 1 {
		return "", "", perr
	}
	return found[0], how, nil
}
