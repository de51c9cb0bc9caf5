// Package scan is the device for single reads posted as JSON over HTTP
// (POST /v1/scans): licence plates from ANPR cameras and container numbers
// from gate OCR, one read per request. It validates each read strictly
// (ISO 6346 check digit, plate characters and country), normalises it, and
// hands it to the agent as a devices.Check.
//
// It must never pass an unvalidated value on, never answer bad input with
// anything but a 4xx and a message naming the problem, and never log the
// value read.
package scan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
)

// MaxBody is the largest request body accepted: a read is a few hundred
// bytes, so anything this large is not a read.
const MaxBody = 16 << 10

// Read is one scan as a device posts it.
type Read struct {
	// ID is the device's reference for the read; the agent assigns one if
	// it is empty. Resending a read with the same ID records it again.
	ID         string    `json:"id,omitempty"`
	Kind       string    `json:"kind"`              // "plate" or "container"
	Value      string    `json:"value"`             // as read
	Country    string    `json:"country,omitempty"` // plates: distinguishing sign or ISO 3166 code
	Device     string    `json:"device"`
	Lane       string    `json:"lane,omitempty"`
	Confidence float64   `json:"confidence,omitempty"` // 0..1
	Time       time.Time `json:"time,omitzero"`
}

// Decode reads one Read from r, refusing bodies over MaxBody, unknown
// fields, trailing data, invalid UTF-8 and control characters.
func Decode(r io.Reader) (Read, error) {
	var rd Read
	body, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return rd, fmt.Errorf("%w: %w", ErrBody, err)
	}
	if len(body) > MaxBody {
		return rd, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxBody)
	}
	if !utf8.Valid(body) {
		return rd, fmt.Errorf("%w: not valid UTF-8", ErrBody)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rd); err != nil {
		return rd, fmt.Errorf("%w: %w", ErrBody, err)
	}
	if dec.More() {
		return rd, fmt.Errorf("%w: data after the JSON object", ErrBody)
	}
	for name, v := range map[string]string{"id": rd.ID, "kind": rd.Kind, "value": rd.Value, "country": rd.Country, "device": rd.Device, "lane": rd.Lane} {
		if strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return rd, fmt.Errorf("%w: field %s holds a control character", ErrBody, name)
		}
		if len(v) > 128 {
			return rd, fmt.Errorf("%w: field %s is longer than 128 bytes", ErrBody, name)
		}
	}
	return rd, nil
}

// Check validates and normalises the read and returns it as a Check. The
// error names the field and the rule that failed.
func (rd Read) Check(now time.Time) (devices.Check, error) {
	if rd.Device == "" {
		return devices.Check{}, fmt.Errorf("%w: device: required", ErrInvalid)
	}
	if rd.Confidence < 0 || rd.Confidence > 1 {
		return devices.Check{}, fmt.Errorf("%w: confidence: must be between 0 and 1", ErrInvalid)
	}
	t := rd.Time
	if t.IsZero() {
		t = now
	}
	it := devices.Item{Field: rd.Kind, Raw: rd.Value, Confidence: rd.Confidence}
	switch rd.Kind {
	case "plate":
		iso, plate, err := ident.NormalizePlate(rd.Country, rd.Value)
		if err != nil {
			return devices.Check{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		it.Kind, it.Value, it.Country = devices.KindPlate, plate, iso
	case "container":
		v, err := ident.ParseContainer(rd.Value)
		if err != nil {
			return devices.Check{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		it.Kind, it.Value = devices.KindContainer, v
	case "":
		return devices.Check{}, fmt.Errorf("%w: kind: required, plate or container", ErrInvalid)
	default:
		return devices.Check{}, fmt.Errorf("%w: kind: %q is not plate or container", ErrInvalid, rd.Kind)
	}
	return devices.Check{ID: rd.ID, Device: rd.Device, Lane: rd.Lane, Time: t.UTC(), Items: []devices.Item{it}}, nil
}

// Errors returned by Decode and Check.
var (
	// ErrBody means the request body is not one well-formed read.
	ErrBody = errors.New("malformed scan")
	// ErrTooLarge means the body exceeds MaxBody.
	ErrTooLarge = errors.New("scan too large")
	// ErrInvalid means a field fails validation.
	ErrInvalid = errors.New("invalid scan")
)
