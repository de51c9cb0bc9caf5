// Package devices owns the sources of things to check at a border post: one
// sub-package per device (scan feeds, ENS declarations, MRZ readers, ...).
// Each device parses and validates what it receives, turns it into a Check
// and hands it to a Checker.
//
// This package holds only the seam between devices and the agent. It must
// never import the agent, the store or sync: a device knows nothing about
// alerts, keys or the network to central, and it must never log personal
// data (names, plates, document numbers) in clear.
package devices

import (
	"context"
	"time"
)

// Kind names what an Item is, so the matcher knows which index to consult.
type Kind string

// The kinds of item a device can ask to check.
const (
	KindPlate     Kind = "plate"     // licence plate; Country holds the issuing country
	KindContainer Kind = "container" // ISO 6346 container number
	KindDocument  Kind = "document"  // identity document number; Country holds the issuing state
	KindPerson    Kind = "person"    // a person's name, with optional birth date, nationality, sex
	KindCompany   Kind = "company"   // a company's name
	KindEORI      Kind = "eori"      // EU economic operator number
	KindIMO       Kind = "imo"       // vessel IMO number
	KindAircraft  Kind = "aircraft"  // aircraft registration
	KindVIN       Kind = "vin"       // vehicle identification number
	KindFirearm   Kind = "firearm"   // firearm serial number
	KindPhone     Kind = "phone"     // E.164 phone number
	KindEmail     Kind = "email"     // e-mail address
)

// Item is one value within a Check. Value is already validated and
// normalised by the device; Raw keeps what was read so that an officer can
// see both.
type Item struct {
	// Field says where the value came from in the source, for example
	// "plate", "consignor.name" or "transport_equipment[2]".
	Field string `json:"field"`
	Kind  Kind   `json:"kind"`
	// Value is the normalised value the matcher looks up.
	Value string `json:"value"`
	// Raw is the value as the device read it, before normalisation.
	Raw string `json:"raw,omitempty"`
	// Country is the plate's country, the document's issuing state or a
	// company's country, as ISO 3166-1 alpha-2.
	Country string `json:"country,omitempty"`
	// Correction says how a device corrected a read, for example
	// "OCR O->0 at position 5", or is empty.
	Correction string `json:"correction,omitempty"`
	// Confidence is the device's own confidence in the read, 0..1, or 0
	// when the device gives none.
	Confidence float64 `json:"confidence,omitempty"`

	// Person evidence, used when Kind is KindPerson (and for documents
	// read from an MRZ, where the holder's details are known).
	BirthDate   string `json:"birth_date,omitempty"`  // YYYY, YYYY-MM or YYYY-MM-DD
	Nationality string `json:"nationality,omitempty"` // ISO 3166-1 alpha-2
	Sex         string `json:"sex,omitempty"`         // "M", "F" or ""
}

// Check is one arrival to check against the replica: a scan (one item) or a
// declaration (many items). ID is the reference by which the audit log and
// central know it; the device sets it when its source gives one, otherwise
// the Checker assigns one.
type Check struct {
	ID     string    `json:"id"`
	Device string    `json:"device"`
	Lane   string    `json:"lane,omitempty"`
	Time   time.Time `json:"time"`
	Items  []Item    `json:"items"`
}

// Hit is a match of one Item against one alert, as a device reports it back
// to its sender.
type Hit struct {
	ID           string  `json:"hit_id"`
	AlertID      string  `json:"alert_id"`
	AlertVersion uint64  `json:"alert_version"`
	Field        string  `json:"field"`
	Match        string  `json:"match"` // exact, normalised, fuzzy, derived
	Score        float64 `json:"score"`
	Category     string  `json:"category,omitempty"`
	Action       string  `json:"action,omitempty"`
	Explanation  string  `json:"explanation,omitempty"`
	// Namesakes are the IDs of more alerts whose names score exactly as
	// this hit's, past the hits the agent reads for one name: references,
	// not hits, for the sender to show as "and N more alerts".
	Namesakes []string `json:"namesakes,omitempty"`
}

// Result is the answer to one Check.
type Result struct {
	CheckID string `json:"check_id"`
	Hits    []Hit  `json:"hits"`
}

// Checker checks arrivals against the replica. The agent implements it; a
// device calls it once per Check and must not retry a Check whose error it
// has not understood, since the Checker may already have recorded it.
type Checker interface {
	Check(ctx context.Context, c Check) (Result, error)
}
