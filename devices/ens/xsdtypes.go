package ens

import (
	"fmt"
	"strings"
	"time"
)

// simpleType checks one text value (already whitespace-collapsed, as for
// xs:token) against an XSD simple type of the ICS1 schemas.
type simpleType func(v string) error

func schemaErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSchema}, a...)...)
}

// anMax is Alphanumeric_MaxN and its aliases: 1 to n characters.
func anMax(n int) simpleType {
	return func(v string) error {
		if l := runeLen(v); l < 1 || l > n {
			return schemaErr("want 1 to %d characters, got %d", n, l)
		}
		return nil
	}
}

// anExact is Alphanumeric_N: exactly n characters.
func anExact(n int) simpleType {
	return func(v string) error {
		if l := runeLen(v); l != n {
			return schemaErr("want %d characters, got %d", n, l)
		}
		return nil
	}
}

// digits is [0-9]{min,max}.
func digits(min, max int) simpleType {
	return func(v string) error {
		if !isDigits(v) || len(v) < min || len(v) > max {
			if min == max {
				return schemaErr("want %d digits", min)
			}
			return schemaErr("want %d to %d digits", min, max)
		}
		return nil
	}
}

func isLetters(s string, upperOnly bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || !upperOnly && c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// letters is [A-Z]{n} (upper) or [a-zA-Z]{n}.
func letters(n int, upperOnly bool) simpleType {
	return func(v string) error {
		if len(v) != n || !isLetters(v, upperOnly) {
			if upperOnly {
				return schemaErr("want %d capital letters", n)
			}
			return schemaErr("want %d letters", n)
		}
		return nil
	}
}

var (
	tAlpha1      = letters(1, false)
	tAlphaCap1   = letters(1, true)
	tLanguage    = letters(2, false)
	tCountry     = letters(2, true)
	tName        = anMax(35) // TradNameType, StreetNumType, CityType
	tPostcode    = anMax(9)
	tCommodity   = digits(4, 8) // NumericMin4Max8Type
	tDecimal11_3 = decimal(11, 3)
)

// tPlace is AlphanumericSpecMax35Type: two letters then 1 to 33 characters.
func tPlace(v string) error {
	if l := runeLen(v); l < 3 || l > 35 || !isLetters(v[:2], false) {
		return schemaErr("want 2 letters then 1 to 33 characters")
	}
	return nil
}

// tTIN is TINType: 3 to 17 Basic Latin characters starting with 2 capital
// letters.
func tTIN(v string) error {
	if len(v) < 3 || len(v) > 17 {
		return schemaErr("want 3 to 17 characters, got %d", runeLen(v))
	}
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 {
			return schemaErr("want Basic Latin characters only")
		}
	}
	if !isLetters(v[:2], true) {
		return schemaErr("want 2 capital letters first")
	}
	return nil
}

// tOffice is CORefNumType: 2 letters and 6 letters or digits.
func tOffice(v string) error {
	ok := len(v) == 8 && isLetters(v[:2], false)
	for i := 2; ok && i < 8; i++ {
		c := v[i]
		ok = c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
	}
	if !ok {
		return schemaErr("want 2 letters and 6 letters or digits")
	}
	return nil
}

// tMRN is MRNType: [0-9]{2}[A-Z]{2}[A-Z0-9]{13}[0-9]. The check character
// is verified later, by Validate.
func tMRN(v string) error {
	ok := len(v) == 18 && isDigits(v[:2]) && isLetters(v[2:4], true) && isAlnumUpper(v[4:17]) && isDigits(v[17:])
	if !ok {
		return schemaErr("want 2 digits, 2 capital letters, 13 capital letters or digits and a digit")
	}
	return nil
}

// timeLayout checks a date or time against a Go layout, which also refuses
// impossible dates such as 30 February.
func timeLayout(layout, want string) simpleType {
	return func(v string) error {
		if len(v) != len(layout) || !isDigits(v) {
			return schemaErr("want %s", want)
		}
		if _, err := time.Parse(layout, v); err != nil {
			return schemaErr("want %s", want)
		}
		if layout == layoutDateTime && v[0] == '0' {
			return schemaErr("want %s", want)
		}
		return nil
	}
}

const layoutDateTime = "200601021504"

var (
	tDateTime = timeLayout(layoutDateTime, "a date and time YYYYMMDDHHMM")
	tDatePrep = timeLayout("060102", "a date YYMMDD")
	tTime     = timeLayout("1504", "a time HHMM")
)

// decimal is xs:decimal with totalDigits and fractionDigits.
func decimal(total, fraction int) simpleType {
	return func(v string) error {
		s := strings.TrimPrefix(strings.TrimPrefix(v, "+"), "-")
		intPart, frac, hasDot := strings.Cut(s, ".")
		if intPart == "" && !hasDot || !(intPart == "" || isDigits(intPart)) || hasDot && !(frac == "" || isDigits(frac)) || intPart == "" && frac == "" {
			return schemaErr("want a decimal number")
		}
		intPart = strings.TrimLeft(intPart, "0")
		frac = strings.TrimRight(frac, "0")
		if len(frac) > fraction || len(intPart)+len(frac) > total {
			return schemaErr("want at most %d digits, %d after the decimal point", total, fraction)
		}
		return nil
	}
}

// enum accepts exactly one of the given values.
func enum(values ...string) simpleType {
	return func(v string) error {
		for _, w := range values {
			if v == w {
				return nil
			}
		}
		return schemaErr("want one of %s", strings.Join(values, ", "))
	}
}
