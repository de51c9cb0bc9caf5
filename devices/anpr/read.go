package anpr

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

// Size limits on what a camera may send. They are generous for real
// cameras and small enough that a flood costs little memory.
const (
	// MaxLineBytes is the longest line the line protocol accepts, without
	// its line ending.
	MaxLineBytes = 512
	// MaxReadBytes is the largest JSON read, one object of a batch or the
	// whole body of a single read.
	MaxReadBytes = 4 << 10
	// MaxBatch is the largest number of reads in one JSON array.
	MaxBatch = 100
	// MaxBodyBytes is the largest HTTP request body accepted by default.
	MaxBodyBytes = MaxBatch * MaxReadBytes

	maxPlateBytes   = 32  // as read, separators included
	maxCountryBytes = 8   // a distinguishing sign or ISO code
	maxLaneBytes    = 32  // "3", "lane-03-in"
	maxCameraBytes  = 64  // a camera name or serial
	maxImageBytes   = 512 // a URL or a file reference
)

// Times outside this window are refused: they come from a camera whose
// clock was never set (1970) or from a garbled field.
var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Read is one plate read as the camera sent it, after syntax checks but
// before normalisation: Plate and Country are as read.
type Read struct {
	// Time is when the camera saw the vehicle; zero when it gave none, and
	// then Check uses the time the read arrived.
	Time time.Time
	// Lane is the lane or camera position, free text, possibly empty.
	Lane string
	// Plate is the plate text as read, separators included.
	Plate string
	// Country is the plate's country as read: a distinguishing sign (D,
	// F, NL) or an ISO 3166-1 code.
	Country string
	// Confidence is the camera's confidence in the read, 0..1 (percent
	// values are scaled on input), or 0 when it gave none.
	Confidence float64
	// Camera names the camera, when the JSON form gives it.
	Camera string
	// Image is a reference to the camera's image of the vehicle (URL or
	// file name), when given. devices.Check has no place for it yet.
	Image string
}

// Check validates r and turns it into a devices.Check with one KindPlate
// item: Raw is the plate as read, Value the plate normalised by
// devices/ident and, where it does not fit its country's format, corrected
// by CorrectPlate (Correction then says what changed). Country becomes ISO
// 3166-1 alpha-2. device names the source when r has no Camera; now is used
// when r has no Time. Errors are *FieldError naming "plate" or "country".
func (r Read) Check(device string, now time.Time) (devices.Check, error) {
	if strings.TrimSpace(r.Country) == "" {
		return devices.Check{}, fieldErr("country", fmt.Errorf("%w: plates are matched on country and plate", ErrMissing))
	}
	iso, err := ident.ParsePlateCountry(r.Country)
	if err != nil {
		return devices.Check{}, fieldErr("country", err)
	}
	_, plate, err := ident.NormalizePlate(iso, r.Plate)
	if err != nil {
		return devices.Check{}, fieldErr("plate", err)
	}
	value, correction := CorrectPlate(iso, plate)
	c := devices.Check{
		Device: device,
		Lane:   r.Lane,
		Time:   r.Time,
		Items: []devices.Item{{
			Field:      "plate",
			Kind:       devices.KindPlate,
			Value:      value,
			Raw:        r.Plate,
			Country:    iso,
			Correction: correction,
			Confidence: r.Confidence,
		}},
	}
	if r.Camera != "" {
		c.Device = r.Camera
	}
	if c.Time.IsZero() {
		c.Time = now
	}
	return c, nil
}

// checkText refuses text longer than max bytes, text that is not UTF-8, and
// control or invisible formatting characters (which have no place in a
// plate or a lane and can disguise what an officer sees).
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

// parseConfidence reads a plain decimal number (digits, optionally a point
// and more digits) and scales it to 0..1: values above 1 are percent.
func parseConfidence(s string) (float64, error) {
	if !isDecimal(s) {
		return 0, fmt.Errorf("%w: want a decimal number, 0..1 or 0..100", ErrSyntax)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: want a decimal number, 0..1 or 0..100", ErrSyntax)
	}
	return scaleConfidence(v)
}

// scaleConfidence maps 0..1 to itself and 1..100 (percent) to 0.01..1.
// A camera that reports percent and says "1" is read as certain; a 1% read
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
// unix milliseconds, as many cameras send. The result must lie in
// 2000..2099.
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
			f, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
			nsec = f
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
		return time.Time{}, fmt.Errorf("%w: want a time in 2000..2099 (is the camera's clock set?)", ErrRange)
	}
	return t, nil
}
