// Package ocr owns container-number reads from gate and crane OCR: their
// JSON form (one read or a batch, over HTTP), the repair of a read whose
// ISO 6346 check digit fails by exactly one OCR confusion (through
// devices/ident), and the conversion of a read into a devices.Check.
//
// It validates everything an OCR system sends (sizes, UTF-8, control
// characters, field by field) and answers the sender with an error naming
// the field. It must never log a container number and never import the
// agent, the store or sync: it hands checks to a devices.Checker and
// reports what that returns.
//
// The strict JSON decoding and the HTTP handling it shares with devices/anpr
// live in devices/internal/jsonread and devices/internal/readhttp; this
// package keeps its read, its fields and its conversion.
package ocr
