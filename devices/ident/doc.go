// Package ident owns the rules for identifiers that arrive from outside: ISO
// 6346 container numbers, licence plates, IMO ship numbers, ICS2 MRNs, EORI
// numbers and country codes. It validates them (check digits, formats,
// lengths) and normalises them to the one form under which the replica
// indexes them, so that a device, the matcher and central agree on it.
//
// It is a leaf: pure functions over strings, no I/O, no state, and it must
// never put the value it rejects into an error message, since errors are
// logged and plates and document numbers are personal data.
package ident
