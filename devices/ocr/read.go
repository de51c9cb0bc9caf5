package ocr

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
)

// Size limits on what an OCR system may send. They are generous for real
// systems and small enough that a flood costs little memory.
const (
	// MaxReadBytes is the largest JSON read, one object of a batch or the
	// whole body of a single read.
	MaxReadBytes = 4 << 10
	// MaxBatch is the largest number of reads in one JSON array.
	MaxBatch = 100
	// MaxBodyBytes is the largest HTTP request body accepted by default.
	MaxBodyBytes = MaxBatch * MaxReadBytes

	maxValueBytes  = 32  // "CSQU 305438 3" and OCR noise around it
	maxLaneBytes   = 32  // "gate-2-in", "crane 7"
	maxDeviceBytes = 64  // an OCR system's name or serial
	maxImageBytes  = 512 // a URL or a file reference
)

// Times outside this window are refused: they come from a system whose
// clock was never set (1970) or from a garbled field.
var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Read is one container-number read as the OCR system sent it, after
// syntax checks but before normalisation: Value is as read.
type Read struct {
	// Value is the container number as read, separators included.
	Value string
	// Confidence is the system's confidence in the read, 0..1 (percent
	// values are scaled on input), or 0 when it gave none.
	Confidence float64
	// Lane is the gate lane or crane, free text, possibly empty.
	Lane string
	// Image is a reference to the OCR image (URL or file name), when
	// given. devices.Check has no place for it yet.
	Image string
	// Device names the OCR system, when the read gives it.
	Device string
	// Time is when the container was read; zero when the read gave none,
	// and then Check uses the time the read arrived.
	Time time.Time
}

// Check validates r and turns it into a devices.Check with one
// KindContainer item. Raw is the value as read; Value is the ISO 6346
// number normalised by devices/ident. A value whose check digit fails is
// repaired when exactly one single-character OCR confusion (O/0, I/1, B/8,
// S/5, Z/2, G/6) makes it valid (ident.CorrectContainer); Correction then
// says what changed, for example "OCR O->0 at position 7". Otherwise the
// error, a *FieldError for "value", says what is wrong, naming the
// expected check digit when that is the problem. device names the source
// when r has no Device; now is used when r has no Time.
func (r Read) Check(device string, now time.Time) (devices.Check, error) {
	value, correction, err := ident.CorrectContainer(r.Value)
	if err != nil {
		return devices.Check{}, fieldErr("value", err)
	}
	c := devices.Check{
		Device: device,
		Lane:   r.Lane,
		Time:   r.Time,
		Items: []devices.Item{{
			Field:      "value",
			Kind:       devices.KindContainer,
			Value:      value,
			Raw:        r.Value,
			Correction: correction,
			Confidence: r.Confidence,
		}},
	}
	if r.Device != "" {
		c.Device = r.Device
	}
	if c.Time.IsZero() {
		c.Time = now
	}
	return c, nil
}

// checkText refuses text longer than max bytes, text that is not UTF-8, and
// control or invisible formatting characters (which have no place in a
// container number or a lane and can disguise what an officer sees).
func checkText(s string, max int) error {
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

// scaleConfidence maps 0..1 to itself and 1..100 (percent) to 0.01..1.
// A system that reports percent and says "1" is read as certain; a 1% read
// is not worth the ambiguity.
func scaleConfidence(v float64) (float64, error) {
	switch {
	case v < 0 || v > 100 || v != v:
		return 0, fmt.Errorf("%w: want 0..1 or 0..100", ErrRange)
	case v > 1:
		return v / 100, nil
	}
	return v, nil
}

// isDecimal reports whether s is digits with at most one decimal point
// between digits: no sign, exponent, hexadecimal, underscores or NaN that
// strconv would otherwise accept. At most 24 characters.
func isDecimal(s string) bool {
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

// parseTime reads RFC 3339 (with or without fractional seconds) or unix
// seconds as a plain decimal; an integer of 12 or more digits is taken as
// unix milliseconds. The result must lie in 2000..2099.
func parseTime(s string) (time.Time, error) {
	var t time.Time
	if isDecimal(s) {
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
	if t.Before(minTime) || !t.Before(maxTime) {
		return time.Time{}, fmt.Errorf("%w: want a time in 2000..2099 (is the system's clock set?)", ErrRange)
	}
	return t, nil
}
