package jsonread

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxTimeBytes bounds a time given as a JSON string.
const maxTimeBytes = 64

// MinYear and MaxYear bound the times ParseTime accepts: [MinYear-01-01,
// MaxYear-01-01) UTC. Times outside come from a device whose clock was
// never set (1970) or from a garbled field.
const (
	MinYear = 2000
	MaxYear = 2100
)

// isNull reports whether raw is the JSON literal null, which counts as
// absent.
func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// String decodes a JSON string of at most max bytes that passes CheckText;
// null gives "". Anything but a string is ErrType.
func String(raw json.RawMessage, max int) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	if len(raw) == 0 || raw[0] != '"' {
		return "", fmt.Errorf("%w: want a string", ErrType)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%w: %s", ErrSyntax, reason(err))
	}
	if err := CheckText(s, max); err != nil {
		return "", err
	}
	return s, nil
}

// Confidence decodes a JSON number, 0..1 or 0..100 (see ScaleConfidence);
// null gives 0. Anything but a number is ErrType.
func Confidence(raw json.RawMessage) (float64, error) {
	if isNull(raw) {
		return 0, nil
	}
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, fmt.Errorf("%w: want a number", ErrType)
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, fmt.Errorf("%w: want 0..1 or 0..100", ErrRange)
	}
	return ScaleConfidence(v)
}

// Time decodes an RFC 3339 string or a number of unix seconds with
// ParseTime; null gives the zero time. clock names the device in the
// message refusing a time outside the window ("camera", "system").
func Time(raw json.RawMessage, clock string) (t0 time.Time, err error) {
	if isNull(raw) {
		return t0, nil
	}
	if len(raw) > 0 && raw[0] == '"' {
		s, err := String(raw, maxTimeBytes)
		if err != nil {
			return t0, err
		}
		return ParseTime(s, clock)
	}
	if len(raw) > 0 && raw[0] >= '0' && raw[0] <= '9' {
		return ParseTime(string(raw), clock)
	}
	return t0, fmt.Errorf("%w: want an RFC 3339 string or unix seconds", ErrType)
}

// CheckText refuses text longer than max bytes (ErrTooLarge), text that is
// not UTF-8 (ErrEncoding), and control or invisible formatting characters
// (ErrControl), which have no place in an identifier or a lane and can
// disguise what an officer sees.
func CheckText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(s), max)
	}
	if !utf8.ValidString(s) {
		return ErrEncoding
	}
	n := 0
	for _, r := range s {
		n++
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return fmt.Errorf("%w at character %d", ErrControl, n)
		}
	}
	return nil
}

// ScaleConfidence maps 0..1 to itself and 1..100 (percent) to 0.01..1;
// anything else, NaN included, is ErrRange. A device that reports percent
// and says "1" is read as certain; a 1% read is not worth the ambiguity.
func ScaleConfidence(v float64) (float64, error) {
	switch {
	case v < 0 || v > 100 || v != v:
		return 0, fmt.Errorf("%w: want 0..1 or 0..100", ErrRange)
	case v > 1:
		return v / 100, nil
	}
	return v, nil
}

// IsDecimal reports whether s is digits with at most one decimal point
// between digits: no sign, exponent, hexadecimal, underscores or NaN that
// strconv would otherwise accept. At most 24 characters.
func IsDecimal(s string) bool {
	if s == "" || len(s) > 24 {
		return false
	}
	point := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && point < 0 && i > 0 && i < len(s)-1:
			point = i
		default:
			return false
		}
	}
	return true
}

// ParseTime reads RFC 3339 (with or without fractional seconds) or unix
// seconds as a plain decimal (IsDecimal); an integer of 12 or more digits
// is taken as unix milliseconds, as many devices send. The result, in UTC
// for unix times, must lie in MinYear..MaxYear-1 (ErrRange, the message
// asking whether the clock of the device named by clock is set); anything else
// unreadable is ErrSyntax.
func ParseTime(s, clock string) (time.Time, error) {
	var t time.Time
	if IsDecimal(s) {
		sec, frac, _ := strings.Cut(s, ".")
		if len(sec) > 13 || len(frac) > 9 {
			return time.Time{}, fmt.Errorf("%w: unix time with more than 13 digits or 9 decimals", ErrSyntax)
		}
		n, err := strconv.ParseInt(sec, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: unix time", ErrSyntax)
		}
		var nsec int64
		if frac != "" {
			nsec, _ = strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		}
		if len(sec) >= 12 && frac == "" {
			t = time.UnixMilli(n).UTC()
		} else {
			t = time.Unix(n, nsec).UTC()
		}
	} else {
		var err error
		t, err = time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: want RFC 3339 or unix seconds", ErrSyntax)
		}
	}
	if y := t.UTC().Year(); y < MinYear || y >= MaxYear {
		return time.Time{}, fmt.Errorf("%w: want a time in %d..%d (is the %s's clock set?)", ErrRange, MinYear, MaxYear-1, clock)
	}
	return t, nil
}
