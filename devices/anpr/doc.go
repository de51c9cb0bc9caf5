// Package anpr owns licence-plate reads from ANPR cameras: their JSON form
// (one read or a batch, over HTTP), their line form (one read per line over
// TCP, as cameras commonly send them), the national plate formats used to
// repair OCR confusions, and the conversion of a read into a devices.Check.
//
// It validates everything a camera sends (sizes, UTF-8, control characters,
// field by field) and answers the sender with an error naming the field. It
// must never log a plate, in raw or normalised form, and never import the
// agent, the store or sync: it hands checks to a devices.Checker and reports
// what that returns.
//
// The strict JSON decoding and the HTTP handling it shares with devices/ocr
// live in devices/internal/jsonread and devices/internal/readhttp; this
// package keeps its read, its fields and its conversion.
package anpr
