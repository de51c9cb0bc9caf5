package lists

import "errors"

// Errors returned by the parsers, wrapped with the file, line or record and
// field that failed; callers test with errors.Is. The messages never quote
// the value read.
var (
	// ErrOFACFormat means an OFAC legacy CSV file is not in the layout
	// OFAC publishes (field count, entry number, duplicate entry).
	ErrOFACFormat = errors.New("OFAC CSV format")
	// ErrUNFormat means the UN consolidated list XML could not be read as
	// such (bad XML, missing reference number, duplicate reference).
	ErrUNFormat = errors.New("UN list XML format")
	// ErrXMLUnsafe means the XML holds a DOCTYPE or entity declaration, or
	// exceeds the size or nesting limits: refused before any expansion.
	ErrXMLUnsafe = errors.New("XML refused")
	// ErrCSVFormat means a row of the national CSV form is malformed: wrong
	// header, wrong field count, or a field that fails validation.
	ErrCSVFormat = errors.New("list CSV format")
	// ErrTooLarge means an input exceeds the size limit the parser accepts.
	ErrTooLarge = errors.New("input too large")
)
