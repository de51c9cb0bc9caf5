// Package ens owns the Entry Summary Declaration (ENS) feed of a border post:
// it parses declarations in three forms (ICS1 IE315/IE313 XML, HMRC's JSON
// rendering of the same data, and the ICS2-shaped JSON documented in
// README.md) into one Declaration, validates every identifier in it through
// package ident, turns it into a devices.Check, and receives declarations
// over HTTP and from a watched directory.
//
// Every input is untrusted: reads are bounded, non-UTF-8 text, control
// characters, XML DOCTYPE and entity declarations and deep nesting are
// refused before any field is looked at. The package must never log or put
// into an error the value of a field (names, EORIs, container and document
// numbers are personal or commercial data): errors name the field's path and
// the rule it broke, never its content.
package ens
