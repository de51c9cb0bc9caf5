package anpr

import (
	"github.com/borderpost/borderpost/devices/internal/jsonread"
	"github.com/borderpost/borderpost/devices/internal/readhttp"
)

// Errors returned by the parsers, the conversion and the servers. Each is
// wrapped with detail (a position, a limit) and, for a field, in a
// *FieldError naming it; callers test with errors.Is and errors.As. No
// message repeats the value that was refused, so all are safe to log. They
// are the sentinels of the decoding shared with devices/ocr, so the same
// error matches in both packages.
var (
	// ErrTooLarge means an input (body, read, line or field) exceeds its
	// size limit.
	ErrTooLarge = jsonread.ErrTooLarge
	// ErrEncoding means an input is not valid UTF-8.
	ErrEncoding = jsonread.ErrEncoding
	// ErrControl means a control or invisible formatting character (or a
	// replacement character left by a broken encoding) was found in text.
	ErrControl = jsonread.ErrControl
	// ErrSyntax means a JSON read or a line does not follow the grammar.
	ErrSyntax = jsonread.ErrSyntax
	// ErrUnknownField means a JSON read holds a key this package does not
	// know; decoding is strict so that a misconfigured camera is noticed.
	ErrUnknownField = jsonread.ErrUnknownField
	// ErrDuplicateField means a JSON read names the same key twice.
	ErrDuplicateField = jsonread.ErrDuplicateField
	// ErrMissing means a required field is absent or empty.
	ErrMissing = jsonread.ErrMissing
	// ErrType means a JSON field holds the wrong kind of value.
	ErrType = jsonread.ErrType
	// ErrRange means a number or a time is outside what is accepted.
	ErrRange = jsonread.ErrRange
	// ErrEmptyBatch means a JSON array of reads holds none.
	ErrEmptyBatch = jsonread.ErrEmptyBatch
	// ErrCheck means the Checker failed on a well-formed read; the sender
	// is told only that, the detail goes to the agent's log.
	ErrCheck = readhttp.ErrCheck
)

// FieldError is an error about one named field of a read. Field is the JSON
// key or the line protocol's field name ("time", "lane", "plate",
// "country", "confidence"...), or "" when the error concerns the read as a
// whole. Its Error returns "field: problem".
type FieldError = jsonread.FieldError

// fieldErr wraps err as a *FieldError for field.
func fieldErr(field string, err error) error { return jsonread.FieldErr(field, err) }
