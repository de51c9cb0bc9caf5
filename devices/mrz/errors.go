package mrz

import (
	"errors"
	"strings"
)

// Sentinel errors. Every error this package returns wraps one of them, so a
// caller can tell what went wrong with errors.Is without reading the text.
var (
	// ErrFormat means the lines are not a TD1, TD2 or TD3 zone: wrong
	// number of lines, wrong lengths, or a field that is not laid out as
	// ICAO 9303 requires.
	ErrFormat = errors.New("mrz: not an ICAO 9303 machine-readable zone")
	// ErrCharacter means a line holds a character outside A-Z, 0-9 and '<'.
	ErrCharacter = errors.New("mrz: character not allowed")
	// ErrCheckDigit means a check digit does not match its field.
	ErrCheckDigit = errors.New("mrz: check digit mismatch")
	// ErrDate means a date field is not a valid date.
	ErrDate = errors.New("mrz: invalid date")
	// ErrUnsupported means a well-formed zone of a kind this package does
	// not read (visas).
	ErrUnsupported = errors.New("mrz: unsupported document")

	// ErrRequest means an HTTP request was refused before its lines were
	// parsed: wrong method, media type, size, encoding or JSON shape.
	ErrRequest = errors.New("mrz: bad request")
	// ErrLine means a line on the stream transport was refused before it
	// joined a document: too long, not printable ASCII, or of a length no
	// zone has.
	ErrLine = errors.New("mrz: bad line")
	// ErrIncomplete means the stream transport dropped a document because a
	// blank line or a line of another length came before its last line.
	ErrIncomplete = errors.New("mrz: incomplete document")
	// ErrCheck means the Checker failed; the sender gets no detail.
	ErrCheck = errors.New("mrz: check failed")
)

// Field names used in FieldError.Field. They are stable identifiers (the
// HTTP error body carries them); messages show them with spaces.
const (
	FieldLine           = "line"
	FieldDocumentCode   = "document_code"
	FieldIssuingState   = "issuing_state"
	FieldDocumentNumber = "document_number"
	FieldBirthDate      = "birth_date"
	FieldSex            = "sex"
	FieldExpiryDate     = "expiry_date"
	FieldNationality    = "nationality"
	FieldPersonalNumber = "personal_number"
	FieldOptionalData   = "optional_data"
	FieldComposite      = "composite"
	FieldName           = "name"
)

// FieldError is a failure tied to one field of the zone. Its message names
// the field and what was expected, and carries positions and check digits
// but never the field's value, so it is safe to log.
type FieldError struct {
	Field string // one of the Field constants
	Line  int    // 1-based line of the zone, 0 when not tied to a line
	Pos   int    // 1-based position within the line, 0 when not tied to one
	Msg   string // human-readable, starting with the field's name
	Err   error  // the sentinel it wraps
}

// Error returns "mrz: " followed by the message.
func (e *FieldError) Error() string { return "mrz: " + e.Msg }

// Unwrap returns the sentinel error.
func (e *FieldError) Unwrap() error { return e.Err }

// fieldName turns a Field constant into the words used in messages.
func fieldName(field string) string { return strings.ReplaceAll(field, "_", " ") }
