package ocr

import (
	"time"

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

// clock names the device whose clock to suspect when a time is refused.
const clock = "system"

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
