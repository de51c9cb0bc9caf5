// Package readhttp owns the HTTP plumbing shared by the device packages
// that take JSON reads over HTTP (devices/anpr, devices/ocr): the method,
// content-type, in-flight, body-size and read-timeout guards, one read or
// an array of reads decoded through devices/internal/jsonread, one
// devices.Check per accepted read, and the JSON answers and their status
// codes.
//
// It must never log or echo a value read (refusals are logged without
// values, and an error message goes back only to the sender who sent the
// value) and never know any device's fields: the device package's Parse
// and Read.Check do.
package readhttp
