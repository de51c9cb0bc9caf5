// Package mrz owns the ICAO 9303 travel-document reader device: it parses
// the machine-readable zone of passports (TD3), and of ID cards and other
// travel documents (TD1, TD2) as MRZ readers send it, verifies every check
// digit, and turns the document into a devices.Check. It serves readers over
// HTTP (Handler) and over a line stream such as TCP or a serial-to-TCP link
// (StreamServer).
//
// It must never log personal data: names, document numbers, birth dates and
// the zone's lines go to the Checker and back to the sender only. Errors
// carry field names, positions and check digits, never values.
package mrz

import (
	"strings"
	"time"

	"github.com/borderpost/borderpost/devices"
)

// Format is the size of a machine-readable zone.
type Format int

// The ICAO 9303 zone sizes this package reads.
const (
	TD1 Format = 1 + iota // 3 lines of 30: ID cards
	TD2                   // 2 lines of 36
	TD3                   // 2 lines of 44: passports
)

// String returns "TD1", "TD2" or "TD3".
func (f Format) String() string {
	switch f {
	case TD1:
		return "TD1"
	case TD2:
		return "TD2"
	case TD3:
		return "TD3"
	}
	return "unknown"
}

// Document is a parsed and fully verified machine-readable zone. Codes are
// kept as read (fillers removed); the Country fields hold their ISO 3166-1
// alpha-2 mapping, or "" where the code names no country.
type Document struct {
	Format Format
	Lines  []string // the zone exactly as parsed

	Code           string // document code, e.g. "P", "PT", "I", "ID"
	IssuingState   string // e.g. "UTO", "D", "FRA"
	IssuingCountry string // alpha-2, e.g. "DE"; "" for UTO, UNO, XXA ...

	// Number is the document number without fillers; for long numbers on
	// TD1 and TD2 it includes the part carried in the optional data.
	Number string
	// NumberRaw is the number as it stands in the zone, fillers included,
	// with "<" and the continuation appended for long numbers.
	NumberRaw string

	Surname       string // primary identifier, '<' read as space
	GivenNames    string // secondary identifier, '<' read as space
	NameRaw       string // the name field as read, trailing fillers removed
	NameTruncated bool   // the name fills its field, so it may be cut short

	Nationality        string // as read, e.g. "UTO", "D", "XXA"
	NationalityCountry string // alpha-2 or ""

	// BirthDate is YYYY-MM-DD, or YYYY-MM or YYYY when the zone gives the
	// day or month as fillers, or "" when it gives no birth date at all.
	BirthDate string
	Sex       string    // "M", "F", or "" for unspecified ('<' or 'X')
	Expiry    time.Time // expiry date, midnight UTC

	// OptionalData is the first optional-data field without trailing
	// fillers: on TD3 the personal number, on TD1 line 1 (after a long
	// document number's continuation), on TD2 line 2 (likewise).
	OptionalData string
	// OptionalData2 is TD1's second optional-data field (line 2).
	OptionalData2 string
}

// FullName returns the holder's name as "GIVEN NAMES SURNAME", or "" when
// the zone carries no name.
func (d *Document) FullName() string {
	return strings.TrimSpace(d.GivenNames + " " + d.Surname)
}

// Expired reports whether the document's expiry date lies before now's
// calendar date. A document is valid through its expiry date.
func (d *Document) Expired(now time.Time) bool {
	y, m, day := now.Date()
	return d.Expiry.Before(time.Date(y, m, day, 0, 0, 0, 0, time.UTC))
}

// Item Field names in the Check.
const (
	ItemDocument = "document_number"
	ItemHolder   = "holder"
)

// Check turns the document into a Check for device and lane at time at:
// one KindDocument item (Value the number without fillers, Country the
// issuing state, Raw the zone's lines joined by "\n") and, when the zone
// carries a name, one KindPerson item (Value "GIVEN NAMES SURNAME", Raw the
// name field as read). Both carry the holder's birth date, nationality and
// sex. ID is left empty for the Checker to assign.
func (d *Document) Check(device, lane string, at time.Time) devices.Check {
	items := []devices.Item{{
		Field:       ItemDocument,
		Kind:        devices.KindDocument,
		Value:       d.Number,
		Raw:         strings.Join(d.Lines, "\n"),
		Country:     d.IssuingCountry,
		BirthDate:   d.BirthDate,
		Nationality: d.NationalityCountry,
		Sex:         d.Sex,
	}}
	if name := d.FullName(); name != "" {
		items = append(items, devices.Item{
			Field:       ItemHolder,
			Kind:        devices.KindPerson,
			Value:       name,
			Raw:         d.NameRaw,
			BirthDate:   d.BirthDate,
			Nationality: d.NationalityCountry,
			Sex:         d.Sex,
		})
	}
	return devices.Check{Device: device, Lane: lane, Time: at, Items: items}
}
