package jsonread

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// maxKeyBytes bounds a key: no device's field name comes near it.
const maxKeyBytes = 32

// Object decodes data as one JSON object of at most maxBytes bytes and
// hands each key and raw value to set, in order. It refuses, with a
// *FieldError naming the key where there is one: inputs over maxBytes or
// not UTF-8, anything but an object, keys that are not CheckText-clean text
// of at most 32 bytes, repeated keys (after unescaping), and anything after
// the object. An error returned by set is wrapped as a *FieldError for its
// key; set returns ErrUnknownField for a key it does not know. Walking the
// tokens, rather than unmarshalling into a struct, is what lets it see
// repeated keys and name the field of every error.
func Object(data []byte, maxBytes int, set func(key string, raw json.RawMessage) error) error {
	if len(data) > maxBytes {
		return FieldErr("", fmt.Errorf("read: %w: %d bytes, at most %d", ErrTooLarge, len(data), maxBytes))
	}
	if !utf8.Valid(data) {
		return FieldErr("", fmt.Errorf("read: %w", ErrEncoding))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return FieldErr("", fmt.Errorf("read: %w: %v", ErrSyntax, reason(err)))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return FieldErr("", fmt.Errorf("read: %w: want a JSON object", ErrSyntax))
	}
	seen := make(map[string]bool, 8)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return FieldErr("", fmt.Errorf("read: %w: %v", ErrSyntax, reason(err)))
		}
		key, _ := tok.(string)
		if err := CheckText(key, maxKeyBytes); err != nil {
			return FieldErr("", fmt.Errorf("read: key: %w", err))
		}
		if seen[key] {
			return FieldErr(key, ErrDuplicateField)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return FieldErr(key, fmt.Errorf("%w: %v", ErrSyntax, reason(err)))
		}
		if err := set(key, raw); err != nil {
			return FieldErr(key, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return FieldErr("", fmt.Errorf("read: %w: %v", ErrSyntax, reason(err)))
	}
	if _, err := dec.Token(); err != io.EOF {
		return FieldErr("", fmt.Errorf("read: %w: data after the object", ErrSyntax))
	}
	return nil
}

// Entry is one read of a request body, or the error that refused it.
type Entry[R any] struct {
	Read R
	Err  error
}

// Body splits a request body into reads: a JSON object is one read (batch
// false), a JSON array holds 1 to maxBatch reads (batch true), each handed
// to parse on its own so that one bad read does not spoil the others. err,
// a *FieldError with no field, is set only when the body as a whole is
// unusable: not UTF-8, not a well-formed array, more than maxBatch reads
// (ErrTooLarge) or none (ErrEmptyBatch).
func Body[R any](body []byte, maxBatch int, parse func([]byte) (R, error)) (reads []Entry[R], batch bool, err error) {
	if !utf8.Valid(body) {
		return nil, false, FieldErr("", fmt.Errorf("body: %w", ErrEncoding))
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		r, err := parse(body)
		return []Entry[R]{{Read: r, Err: err}}, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return nil, true, FieldErr("", fmt.Errorf("body: %w: %v", ErrSyntax, reason(err)))
	}
	for dec.More() {
		if len(reads) == maxBatch {
			return nil, true, FieldErr("", fmt.Errorf("body: %w: more than %d reads", ErrTooLarge, maxBatch))
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, true, FieldErr("", fmt.Errorf("body: read %d: %w: %v", len(reads), ErrSyntax, reason(err)))
		}
		r, err := parse(raw)
		reads = append(reads, Entry[R]{Read: r, Err: err})
	}
	if _, err := dec.Token(); err != nil {
		return nil, true, FieldErr("", fmt.Errorf("body: %w: %v", ErrSyntax, reason(err)))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, true, FieldErr("", fmt.Errorf("body: %w: data after the array", ErrSyntax))
	}
	if len(reads) == 0 {
		return nil, true, FieldErr("", fmt.Errorf("body: %w", ErrEmptyBatch))
	}
	return reads, true, nil
}

// reason describes a decoding error without quoting the input.
func reason(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return "invalid JSON at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of JSON"
	}
	return "invalid JSON"
}
