package jsonread

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestString(t *testing.T) {
	for _, c := range []struct {
		raw, want string
		is        error
	}{
		{`"ab"`, "ab", nil},
		{`"\u00fc"`, "ü", nil},
		{`null`, "", nil},
		{`1`, "", ErrType},
		{`["a"]`, "", ErrType},
		{`"abcde"`, "", ErrTooLarge},
		{`"a\tb"`, "", ErrControl},
		{`"\u200b"`, "", ErrControl}, // zero-width space
		{`"\ud800"`, "", ErrControl}, // lone surrogate, decoded as U+FFFD
	} {
		got, err := String(json.RawMessage(c.raw), 4)
		if got != c.want || !errors.Is(err, c.is) || (c.is == nil) != (err == nil) {
			t.Errorf("%s: %q, %v; want %q, %v", c.raw, got, err, c.want, c.is)
		}
	}
}

func TestConfidence(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want float64
		is   error
	}{
		{`0.93`, 0.93, nil}, {`93`, 0.93, nil}, {`1`, 1, nil}, {`0`, 0, nil}, {`null`, 0, nil}, {`1e1`, 0.1, nil},
		{`-0.1`, 0, ErrRange}, {`100.5`, 0, ErrRange}, {`1e400`, 0, ErrRange},
		{`"0.9"`, 0, ErrType}, {`true`, 0, ErrType},
	} {
		got, err := Confidence(json.RawMessage(c.raw))
		if got != c.want || !errors.Is(err, c.is) || (c.is == nil) != (err == nil) {
			t.Errorf("%s: %v, %v; want %v, %v", c.raw, got, err, c.want, c.is)
		}
	}
}

func TestTime(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want time.Time
		is   error
	}{
		{`"2026-11-27T03:14:07.5Z"`, time.Date(2026, 11, 27, 3, 14, 7, 5e8, time.UTC), nil},
		{`1795749249`, time.Unix(1795749249, 0), nil},
		{`1795749249.25`, time.Unix(1795749249, 25e7), nil},
		{`1795749249123`, time.UnixMilli(1795749249123), nil}, // milliseconds
		{`"1795749249"`, time.Unix(1795749249, 0), nil},
		{`null`, time.Time{}, nil},
		{`"2099-12-31T23:59:59Z"`, time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC), nil},
		// The window is in UTC, whatever offset the device gives.
		{`"2000-01-01T00:30:00+01:00"`, time.Time{}, ErrRange},
		{`"2100-01-01T00:30:00+01:00"`, time.Date(2099, 12, 31, 23, 30, 0, 0, time.UTC), nil},
		{`"2100-01-01T00:00:00Z"`, time.Time{}, ErrRange},
		{`0`, time.Time{}, ErrRange},
		{`1.7e9`, time.Time{}, ErrSyntax},
		{`17957492491234`, time.Time{}, ErrSyntax},
		{`1795749249.1234567891`, time.Time{}, ErrSyntax},
		{`"27.11.2026 03:14"`, time.Time{}, ErrSyntax},
		{`-1`, time.Time{}, ErrType},
		{`true`, time.Time{}, ErrType},
	} {
		got, err := Time(json.RawMessage(c.raw), "camera")
		if !got.Equal(c.want) || !errors.Is(err, c.is) || (c.is == nil) != (err == nil) {
			t.Errorf("%s: %v, %v; want %v, %v", c.raw, got, err, c.want, c.is)
		}
	}
	if _, err := ParseTime("0", "camera"); err == nil || !strings.Contains(err.Error(), "2000..2099 (is the camera's clock set?)") {
		t.Errorf("window message: %v", err)
	}
}

func TestCheckText(t *testing.T) {
	for _, c := range []struct {
		s   string
		max int
		is  error
	}{
		{"B MW 1234", 9, nil}, {"MÜ AB 123", 10, nil}, {"", 0, nil},
		{"12345", 4, ErrTooLarge}, {"a\x00", 4, ErrControl}, {"a\u00ad", 4, ErrControl}, {"a\ufffd", 4, ErrControl},
		{"\xff", 4, ErrEncoding},
	} {
		err := CheckText(c.s, c.max)
		if !errors.Is(err, c.is) || (c.is == nil) != (err == nil) {
			t.Errorf("%q: %v, want %v", c.s, err, c.is)
		}
	}
}

func TestIsDecimal(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "12.5": true, "1795749249.123": true,
		"": false, ".5": false, "5.": false, "1.2.3": false, "-1": false, "+1": false, "1e9": false,
		"0x10": false, "1_000": false, "NaN": false, "Inf": false, strings.Repeat("1", 25): false,
	} {
		if IsDecimal(s) != want {
			t.Errorf("IsDecimal(%q) = %v", s, !want)
		}
	}
}
