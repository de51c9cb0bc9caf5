package ens

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// Errors returned by the parsers and transports. Each is wrapped with the
// detail of what failed; callers test with errors.Is. Wrapped messages never
// repeat the offending value.
var (
	// ErrTooLarge means the input exceeded Limits.MaxBytes.
	ErrTooLarge = errors.New("input too large")
	// ErrEncoding means the input is not valid UTF-8 (or declares another
	// encoding).
	ErrEncoding = errors.New("input is not UTF-8")
	// ErrControlChar means the input holds a control character other than
	// tab, line feed and carriage return.
	ErrControlChar = errors.New("control character in input")
	// ErrDoctype means an XML input carries a DOCTYPE, ENTITY or other
	// declaration; they are refused to rule out entity expansion.
	ErrDoctype = errors.New("XML declarations (DOCTYPE, ENTITY) are not accepted")
	// ErrTooDeep means the input nests deeper than Limits.MaxDepth.
	ErrTooDeep = errors.New("input nested too deeply")
	// ErrTooManyTokens means the input holds more than Limits.MaxTokens
	// elements, values or keys.
	ErrTooManyTokens = errors.New("input has too many tokens")
	// ErrSyntax means the input is not well-formed XML or JSON.
	ErrSyntax = errors.New("malformed input")
	// ErrFormat means the input is well-formed but of no form this package
	// reads (wrong root element, unknown JSON shape, unknown media type).
	ErrFormat = errors.New("unknown declaration format")
	// ErrSchema means a field breaks the rules of its input form: a missing
	// required element, an unexpected one, a wrong pattern or length.
	ErrSchema = errors.New("schema")
	// ErrValue means a field is well-formed for its input form but its
	// value is not valid: a code outside its code list, a malformed phone
	// number or e-mail address. Identifier faults wrap ident's errors
	// instead (ident.ErrContainerCheckDigit and so on).
	ErrValue = errors.New("invalid value")
	// ErrChecker means the declaration was valid but the Checker failed;
	// the check may have been recorded, so it must not be resent blindly.
	ErrChecker = errors.New("the checker failed")
)

// FieldError is one fault of a document, located by the path of the field
// that holds it: for example
// "consignment.transport_equipment[2].container: container: container check
// digit: ...". Paths of schema faults are in the input form's own terms
// (XML element names for ICS1, HMRC's JSON names); paths of identifier faults
// are in the terms of the ICS2 JSON form, whatever the input form was.
type FieldError struct {
	Path string
	Err  error
}

// Error returns "path: reason".
func (e FieldError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the underlying error, so errors.Is sees ident's errors.
func (e FieldError) Unwrap() error { return e.Err }

// MarshalJSON encodes the fault as {"path": ..., "error": ...}.
func (e FieldError) MarshalJSON() ([]byte, error) {
	msg := ""
	if e.Err != nil {
		msg = e.Err.Error()
	}
	return json.Marshal(struct {
		Path  string `json:"path"`
		Error string `json:"error"`
	}{e.Path, msg})
}

// ValidationError holds every fault found in one document, in document
// order. A parser returns it (as error) rather than stopping at the first
// fault so that a sender can fix a declaration in one round.
type ValidationError struct {
	Errors []FieldError
}

// Error lists the faults, separated by "; ".
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("ens: ")
	b.WriteString(strconv.Itoa(len(e.Errors)))
	b.WriteString(" fault(s): ")
	for i, f := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	return b.String()
}

// Unwrap returns the individual faults, so errors.Is and errors.As look
// through them.
func (e *ValidationError) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i := range e.Errors {
		out[i] = e.Errors[i]
	}
	return out
}

// faults collects FieldErrors while a document is walked.
type faults struct {
	list []FieldError
}

func (f *faults) add(path string, err error) {
	f.list = append(f.list, FieldError{Path: path, Err: err})
}

// err returns nil when no fault was recorded, else a *ValidationError.
func (f *faults) err() error {
	if len(f.list) == 0 {
		return nil
	}
	return &ValidationError{Errors: f.list}
}
