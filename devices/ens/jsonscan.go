package ens

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// scanJSON walks b once as a token stream before it is decoded, refusing
// nesting deeper than lim.MaxDepth, more than lim.MaxTokens tokens,
// duplicate keys in an object (compared case-insensitively, as
// encoding/json matches them, so that two readers cannot see two different
// documents), control characters written as escapes (\u0000 and the like,
// which the byte-level checkText cannot see) and trailing data. It returns
// the keys of the top-level object.
func scanJSON(b []byte, lim Limits) (map[string]bool, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct {
		object  bool
		keys    map[string]bool
		wantKey bool
	}
	var stack []*frame
	var top map[string]bool
	tokens := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, jsonSyntax(err)
		}
		tokens++
		if tokens > lim.MaxTokens {
			return nil, fmt.Errorf("ens: %w: more than %d", ErrTooManyTokens, lim.MaxTokens)
		}
		var cur *frame
		if len(stack) > 0 {
			cur = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if cur != nil && cur.object {
					cur.wantKey = true
				}
				if len(stack) >= lim.MaxDepth {
					return nil, fmt.Errorf("ens: %w: more than %d levels", ErrTooDeep, lim.MaxDepth)
				}
				f := &frame{object: d == '{', wantKey: true}
				if f.object {
					f.keys = map[string]bool{}
					if len(stack) == 0 {
						top = f.keys
					}
				}
				stack = append(stack, f)
			case '}', ']':
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					// The value is complete: anything further is trailing data.
					if _, err := dec.Token(); err != io.EOF {
						return nil, fmt.Errorf("ens: %w: data after the JSON value", ErrSyntax)
					}
					if top == nil {
						return nil, fmt.Errorf("ens: %w: the document must be a JSON object", ErrFormat)
					}
					return top, nil
				}
			}
			continue
		}
		if str, ok := tok.(string); ok {
			if err := checkDecoded(str); err != nil {
				return nil, err
			}
		}
		if cur == nil {
			return nil, fmt.Errorf("ens: %w: the document must be a JSON object", ErrFormat)
		}
		if cur.object {
			if cur.wantKey {
				k := tok.(string)
				lk := strings.ToLower(k)
				if cur.keys[lk] {
					return nil, fmt.Errorf("ens: %w: duplicate key in an object", ErrSyntax)
				}
				cur.keys[lk] = true
				cur.wantKey = false
			} else {
				cur.wantKey = true
			}
		}
	}
	if top == nil {
		return nil, fmt.Errorf("ens: %w: the document must be a JSON object", ErrFormat)
	}
	return nil, fmt.Errorf("ens: %w: unexpected end of input", ErrSyntax)
}

// checkDecoded refuses a decoded JSON string (key or value) holding a
// control character other than tab, line feed and carriage return: the
// same rule checkText applies to the raw bytes, applied after escapes.
func checkDecoded(s string) error {
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7F || (r >= 0x80 && r <= 0x9F) {
			return fmt.Errorf("ens: %w: written as a JSON escape", ErrControlChar)
		}
	}
	return nil
}

func jsonSyntax(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("ens: %w: JSON at byte %d: %s", ErrSyntax, se.Offset, se.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("ens: %w: unexpected end of input", ErrSyntax)
	}
	return fmt.Errorf("ens: %w: %w", ErrSyntax, err)
}

// decodeStrict decodes b into v refusing unknown fields. Type mismatches
// are reported as schema faults at the field's path.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &ValidationError{Errors: []FieldError{{Path: te.Field, Err: schemaErr("want a JSON %s", te.Type.Kind())}}}
		}
		if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
			// The message quotes the field name, which the sender chose.
			return &ValidationError{Errors: []FieldError{{Path: strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`), Err: schemaErr("unknown field")}}}
		}
		// Other decode errors (a date that is not RFC 3339) quote the
		// value; keep it out of the message.
		return fmt.Errorf("ens: %w: a value has the wrong form (dates and times are RFC 3339)", ErrSchema)
	}
	return nil
}
