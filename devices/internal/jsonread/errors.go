package jsonread

import (
	"errors"
	"strings"
)

// Errors returned by the decoders and field rules. Each is wrapped with
// detail (a position, a limit) and, for a field, in a *FieldError naming
// it; callers test with errors.Is and errors.As. No message repeats the
// value that was refused, so all are safe to log.
var (
	// ErrTooLarge means an input (body, read, line or field) exceeds its
	// size limit.
	ErrTooLarge = errors.New("too large")
	// ErrEncoding means an input is not valid UTF-8.
	ErrEncoding = errors.New("not valid UTF-8")
	// ErrControl means a control or invisible formatting character (or a
	// replacement character left by a broken encoding) was found in text.
	ErrControl = errors.New("control character")
	// ErrSyntax means a JSON read or a line does not follow the grammar.
	ErrSyntax = errors.New("syntax")
	// ErrUnknownField means a JSON read holds a key its device does not
	// know; decoding is strict so that a misconfigured device is noticed.
	ErrUnknownField = errors.New("unknown field")
	// ErrDuplicateField means a JSON read names the same key twice.
	ErrDuplicateField = errors.New("duplicate field")
	// ErrMissing means a required field is absent or empty.
	ErrMissing = errors.New("required")
	// ErrType means a JSON field holds the wrong kind of value.
	ErrType = errors.New("wrong type")
	// ErrRange means a number or a time is outside what is accepted.
	ErrRange = errors.New("out of range")
	// ErrEmptyBatch means a JSON array of reads holds none.
	ErrEmptyBatch = errors.New("empty batch")
)

// FieldError is an error about one named field of a read. Field is the JSON
// key or a line protocol's field name, or "" when the error concerns the
// read or the request as a whole.
type FieldError struct {
	Field string
	Err   error
}

// Error returns "field: problem", without repeating the field when the
// wrapped error (from devices/ident) already starts with it.
func (e *FieldError) Error() string {
	msg := e.Err.Error()
	if e.Field == "" || strings.HasPrefix(msg, e.Field+":") {
		return msg
	}
	return e.Field + ": " + msg
}

// Unwrap returns the underlying error for errors.Is.
func (e *FieldError) Unwrap() error { return e.Err }

// FieldErr wraps err as a *FieldError for field.
func FieldErr(field string, err error) error {
	return &FieldError{Field: field, Err: err}
}
