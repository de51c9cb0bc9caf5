// Package jsonread owns the strict decoding shared by the device packages
// that take reads as JSON objects (devices/anpr, devices/ocr): walking one
// object key by key so that unknown and repeated keys are seen, splitting a
// body into one read or an array of reads, and the field rules those reads
// share (text without control characters, times in a sane window,
// confidences as 0..1 or percent). Every refusal is a *FieldError naming
// the field, wrapping one of the sentinels of errors.go.
//
// It must never quote the refused input in an error (errors go to logs) and
// never know any device's fields: the caller's set function does.
package jsonread
