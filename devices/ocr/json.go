package ocr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
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
	if len(data) > MaxReadBytes {
		return r, fieldErr("", fmt.Errorf("read: %w: %d bytes, at most %d", ErrTooLarge, len(data), MaxReadBytes))
	}
	if !utf8.Valid(data) {
		return r, fieldErr("", fmt.Errorf("read: %w", ErrEncoding))
	}
	err := decodeObject(data, func(key string, raw json.RawMessage) error {
		var err error
		switch key {
		case "value":
			r.Value, err = jsonString(raw, maxValueBytes)
		case "confidence":
			r.Confidence, err = jsonConfidence(raw)
		case "lane":
			r.Lane, err = jsonString(raw, maxLaneBytes)
		case "image":
			r.Image, err = jsonString(raw, maxImageBytes)
		case "device":
			r.Device, err = jsonString(raw, maxDeviceBytes)
		case "time":
			r.Time, err = jsonTime(raw)
		default:
			return fieldErr(key, ErrUnknownField)
		}
		if err != nil {
			return fieldErr(key, err)
		}
		return nil
	})
	if err != nil {
		return Read{}, err
	}
	if r.Value == "" {
		return Read{}, fieldErr("value", ErrMissing)
	}
	return r, nil
}

// decodeObject walks one JSON object and hands each key and raw value to
// set, refusing repeated keys and anything after the object. Walking the
// tokens, rather than unmarshalling into a struct, is what lets it see
// repeated keys and name the field of every error.
func decodeObject(data []byte, set func(key string, raw json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return fieldErr("", fmt.Errorf("read: %w: %v", ErrSyntax, jsonReason(err)))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fieldErr("", fmt.Errorf("read: %w: want a JSON object", ErrSyntax))
	}
	seen := make(map[string]bool, 8)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fieldErr("", fmt.Errorf("read: %w: %v", ErrSyntax, jsonReason(err)))
		}
		key, _ := tok.(string)
		if err := checkText(key, 32); err != nil {
			return fieldErr("", fmt.Errorf("read: key: %w", err))
		}
		if seen[key] {
			return fieldErr(key, ErrDuplicateField)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fieldErr(key, fmt.Errorf("%w: %v", ErrSyntax, jsonReason(err)))
		}
		if err := set(key, raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fieldErr("", fmt.Errorf("read: %w: %v", ErrSyntax, jsonReason(err)))
	}
	if _, err := dec.Token(); err != io.EOF {
		return fieldErr("", fmt.Errorf("read: %w: data after the object", ErrSyntax))
	}
	return nil
}

// jsonReason describes a decoding error without quoting the input.
func jsonReason(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return "invalid JSON at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of JSON"
	}
	return "invalid JSON"
}

// isNull reports whether raw is the JSON literal null, which counts as
// absent.
func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// jsonString decodes a JSON string of at most max bytes with checkText.
func jsonString(raw json.RawMessage, max int) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	if len(raw) == 0 || raw[0] != '"' {
		return "", fmt.Errorf("%w: want a string", ErrType)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%w: %s", ErrSyntax, jsonReason(err))
	}
	if err := checkText(s, max); err != nil {
		return "", err
	}
	return s, nil
}

// jsonConfidence decodes a JSON number, 0..1 or 0..100.
func jsonConfidence(raw json.RawMessage) (float64, error) {
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
	return scaleConfidence(v)
}

// jsonTime decodes an RFC 3339 string or a number of unix seconds.
func jsonTime(raw json.RawMessage) (t0 time.Time, err error) {
	if isNull(raw) {
		return t0, nil
	}
	if len(raw) > 0 && raw[0] == '"' {
		s, err := jsonString(raw, 64)
		if err != nil {
			return t0, err
		}
		return parseTime(s)
	}
	if len(raw) > 0 && raw[0] >= '0' && raw[0] <= '9' {
		return parseTime(string(raw))
	}
	return t0, fmt.Errorf("%w: want an RFC 3339 string or unix seconds", ErrType)
}

// bodyRead is one read of a request body, or the error that refused it.
type bodyRead struct {
	read Read
	err  error
}

// decodeBody splits a request body into reads: a JSON object is one read,
// a JSON array holds 1 to MaxBatch reads, each decoded on its own so that
// one bad read does not spoil the others. err is set only when the body as
// a whole is unusable.
func decodeBody(body []byte) (reads []bodyRead, batch bool, err error) {
	if !utf8.Valid(body) {
		return nil, false, fieldErr("", fmt.Errorf("body: %w", ErrEncoding))
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		r, err := ParseJSON(body)
		return []bodyRead{{read: r, err: err}}, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return nil, true, fieldErr("", fmt.Errorf("body: %w: %v", ErrSyntax, jsonReason(err)))
	}
	for dec.More() {
		if len(reads) == MaxBatch {
			return nil, true, fieldErr("", fmt.Errorf("body: %w: more than %d reads", ErrTooLarge, MaxBatch))
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, true, fieldErr("", fmt.Errorf("body: read %d: %w: %v", len(reads), ErrSyntax, jsonReason(err)))
		}
		r, err := ParseJSON(raw)
		reads = append(reads, bodyRead{read: r, err: err})
	}
	if _, err := dec.Token(); err != nil {
		return nil, true, fieldErr("", fmt.Errorf("body: %w: %v", ErrSyntax, jsonReason(err)))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, true, fieldErr("", fmt.Errorf("body: %w: data after the array", ErrSyntax))
	}
	if len(reads) == 0 {
		return nil, true, fieldErr("", fmt.Errorf("body: %w", ErrEmptyBatch))
	}
	return reads, true, nil
}
