package ocr

import (
	"encoding/json"

	"github.com/borderpost/borderpost/devices/internal/jsonread"
)

// ParseJSON decodes one read from a JSON object:
//
//	{"value": "CSQU 305438 3", "confidence": 0.97, "lane": "gate-2-in",
//	 "image": "https://ocr.local/img/77.jpg", "device": "gate-ocr-2",
//	 "time": "2026-11-27T03:14:07Z"}
//
// "value" is required; the others may be absent or null. "time" is an RFC
// 3339 string or unix seconds (a number); "confidence" is a number, 0..1
// or 0..100. Decoding is strict: unknown or repeated keys, wrong types,
// trailing data, invalid UTF-8, control characters and inputs over
// MaxReadBytes are refused with a *FieldError naming the field. ParseJSON
// does not check the container number itself: Read.Check does.
func ParseJSON(data []byte) (Read, error) {
	var r Read
	err := jsonread.Object(data, MaxReadBytes, func(key string, raw json.RawMessage) error {
		var err error
		switch key {
		case "value":
			r.Value, err = jsonread.String(raw, maxValueBytes)
		case "confidence":
			r.Confidence, err = jsonread.Confidence(raw)
		case "lane":
			r.Lane, err = jsonread.String(raw, maxLaneBytes)
		case "image":
			r.Image, err = jsonread.String(raw, maxImageBytes)
		case "device":
			r.Device, err = jsonread.String(raw, maxDeviceBytes)
		case "time":
			r.Time, err = jsonread.Time(raw, clock)
		default:
			return ErrUnknownField
		}
		return err
	})
	if err != nil {
		return Read{}, err
	}
	if r.Value == "" {
		return Read{}, fieldErr("value", ErrMissing)
	}
	return r, nil
}
