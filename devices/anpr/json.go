package anpr

import (
	"encoding/json"

	"github.com/borderpost/borderpost/devices/internal/jsonread"
)

// ParseJSON decodes one read from a JSON object:
//
//	{"time": "2026-11-27T03:14:07Z", "lane": "3", "plate": "B MW 1234",
//	 "country": "D", "confidence": 0.93, "camera": "gate-a", "image": "img/1.jpg"}
//
// "plate" and "country" are required; the others may be absent or null.
// "time" is an RFC 3339 string or unix seconds (a number); "confidence" is a
// number, 0..1 or 0..100. Decoding is strict: unknown or repeated keys,
// wrong types, trailing data, invalid UTF-8, control characters and inputs
// over MaxReadBytes are refused with a *FieldError naming the field.
func ParseJSON(data []byte) (Read, error) {
	var r Read
	err := jsonread.Object(data, MaxReadBytes, func(key string, raw json.RawMessage) error {
		var err error
		switch key {
		case "time":
			r.Time, err = jsonread.Time(raw, clock)
		case "lane":
			r.Lane, err = jsonread.String(raw, maxLaneBytes)
		case "plate":
			r.Plate, err = jsonread.String(raw, maxPlateBytes)
		case "country":
			r.Country, err = jsonread.String(raw, maxCountryBytes)
		case "confidence":
			r.Confidence, err = jsonread.Confidence(raw)
		case "camera":
			r.Camera, err = jsonread.String(raw, maxCameraBytes)
		case "image":
			r.Image, err = jsonread.String(raw, maxImageBytes)
		default:
			return ErrUnknownField
		}
		return err
	})
	if err != nil {
		return Read{}, err
	}
	if r.Plate == "" {
		return Read{}, fieldErr("plate", ErrMissing)
	}
	if r.Country == "" {
		return Read{}, fieldErr("country", ErrMissing)
	}
	return r, nil
}
