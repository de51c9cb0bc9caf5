package anpr

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
	"github.com/borderpost/borderpost/devices/internal/jsonread"
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

// clock names the device whose clock to suspect when a time is refused.
const clock = "camera"

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

// parseConfidence reads a plain decimal number (digits, optionally a point
// and more digits) and scales it to 0..1: values above 1 are percent.
func parseConfidence(s string) (float64, error) {
	if !jsonread.IsDecimal(s) {
		return 0, fmt.Errorf("%w: want a decimal number, 0..1 or 0..100", ErrSyntax)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: want a decimal number, 0..1 or 0..100", ErrSyntax)
	}
	return jsonread.ScaleConfidence(v)
}
