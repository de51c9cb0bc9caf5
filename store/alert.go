package store

import (
	"fmt"
	"time"
)

// SubjectKind names what an alert is about.
type SubjectKind string

// The subjects an alert can have (DESIGN.md, "Alerts").
const (
	SubjectPerson    SubjectKind = "person"
	SubjectCompany   SubjectKind = "company"
	SubjectVehicle   SubjectKind = "vehicle" // a vehicle or a number plate
	SubjectContainer SubjectKind = "container"
	SubjectDocument  SubjectKind = "document"
	SubjectFirearm   SubjectKind = "firearm"
	SubjectPhone     SubjectKind = "phone"
	SubjectEmail     SubjectKind = "email"
	SubjectVessel    SubjectKind = "vessel"
	SubjectAircraft  SubjectKind = "aircraft"
)

// Alert is one watch-list record as the replica holds it. The JSON form is
// the one documented in docs/alerts.md and carried in deltas.
type Alert struct {
	ID         string    `json:"id"`
	Version    uint64    `json:"version"`
	Source     string    `json:"source"`   // SIS, EUROPOL, NATIONAL, ...
	Category   string    `json:"category"` // e.g. "art26-arrest", "art38-seizure"
	Action     string    `json:"action"`   // the action to be taken, in plain words
	Warnings   []string  `json:"warnings,omitempty"`
	LegalBasis string    `json:"legal_basis,omitempty"`
	Authority  string    `json:"authority,omitempty"`
	Issued     time.Time `json:"issued"`
	Expires    time.Time `json:"expires,omitzero"`
	Purposes   []string  `json:"purposes,omitempty"` // which authorities may use a hit
	// Posts and Regions narrow where an alert is relevant: kinds of post
	// (road, sea, air, rail, postal) and regions as central names them.
	// Empty means everywhere. Scopes select on them (docs/protocol.md).
	Posts   []string `json:"posts,omitempty"`
	Regions []string `json:"regions,omitempty"`
	Subject Subject  `json:"subject"`
}

// Subject is what an alert is about: Kind says which of the fields below
// is set.
type Subject struct {
	Kind      SubjectKind `json:"kind"`
	Person    *Person     `json:"person,omitempty"`
	Company   *Company    `json:"company,omitempty"`
	Vehicle   *Vehicle    `json:"vehicle,omitempty"`
	Container *Container  `json:"container,omitempty"`
	Document  *Document   `json:"document,omitempty"`
	Firearm   *Firearm    `json:"firearm,omitempty"`
	Phone     string      `json:"phone,omitempty"` // E.164
	Email     string      `json:"email,omitempty"`
	Vessel    *Vessel     `json:"vessel,omitempty"`
	Aircraft  *Aircraft   `json:"aircraft,omitempty"`
}

// Person is a wanted or flagged person.
type Person struct {
	Surname       string   `json:"surname"`
	Forenames     string   `json:"forenames,omitempty"`
	Aliases       []string `json:"aliases,omitempty"`
	BirthDate     string   `json:"birth_date,omitempty"` // YYYY, YYYY-MM or YYYY-MM-DD
	Sex           string   `json:"sex,omitempty"`
	Nationalities []string `json:"nationalities,omitempty"`
}

// Company is an economic operator.
type Company struct {
	Name        string   `json:"name"`
	Aliases     []string `json:"aliases,omitempty"`
	EORI        string   `json:"eori,omitempty"`
	Identifiers []string `json:"identifiers,omitempty"`
	Country     string   `json:"country,omitempty"`
	Address     string   `json:"address,omitempty"`
}

// Vehicle is a vehicle or a number plate.
type Vehicle struct {
	Plate        string `json:"plate,omitempty"`
	PlateCountry string `json:"plate_country,omitempty"` // ISO 3166-1 alpha-2
	VIN          string `json:"vin,omitempty"`
	Make         string `json:"make,omitempty"`
	Model        string `json:"model,omitempty"`
	// Colour as the issuing authority describes it (free text), so that
	// an officer can compare it with the vehicle in front of them.
	Colour string `json:"colour,omitempty"`
}

// Container is an ISO 6346 container.
type Container struct {
	Number string `json:"number"`
}

// Document is an identity or travel document.
type Document struct {
	Number  string `json:"number"`
	Type    string `json:"type,omitempty"`    // passport, id-card, ...
	Country string `json:"country,omitempty"` // issuing state, ISO 3166-1 alpha-2
}

// Firearm is a firearm sought by serial number.
type Firearm struct {
	Serial string `json:"serial"`
	Make   string `json:"make,omitempty"`
}

// Vessel is a ship identified by its IMO number.
type Vessel struct {
	IMO  string `json:"imo"`
	Name string `json:"name,omitempty"`
	// Aliases are the vessel's other and former names: a declaration may
	// name it by any of them.
	Aliases []string `json:"aliases,omitempty"`
}

// Aircraft is identified by its registration mark.
type Aircraft struct {
	Registration string `json:"registration"`
}

// Validate reports whether an alert has what the replica needs to hold it.
func (a *Alert) Validate() error {
	if a.ID == "" {
		return fmt.Errorf("%w: no id", ErrInvalidAlert)
	}
	if a.Version == 0 {
		return fmt.Errorf("%w: alert %s has version 0", ErrInvalidAlert, a.ID)
	}
	s := a.Subject
	ok := false
	switch s.Kind {
	case SubjectPerson:
		ok = s.Person != nil && s.Person.Surname != ""
	case SubjectCompany:
		ok = s.Company != nil && s.Company.Name != ""
	case SubjectVehicle:
		ok = s.Vehicle != nil && (s.Vehicle.Plate != "" || s.Vehicle.VIN != "")
	case SubjectContainer:
		ok = s.Container != nil && s.Container.Number != ""
	case SubjectDocument:
		ok = s.Document != nil && s.Document.Number != ""
	case SubjectFirearm:
		ok = s.Firearm != nil && s.Firearm.Serial != ""
	case SubjectPhone:
		ok = s.Phone != ""
	case SubjectEmail:
		ok = s.Email != ""
	case SubjectVessel:
		ok = s.Vessel != nil && s.Vessel.IMO != ""
	case SubjectAircraft:
		ok = s.Aircraft != nil && s.Aircraft.Registration != ""
	}
	if !ok {
		return fmt.Errorf("%w: alert %s has no usable %q subject", ErrInvalidAlert, a.ID, s.Kind)
	}
	for _, p := range a.Posts {
		if !ValidPostKind(p) {
			return fmt.Errorf("%w: alert %s names post kind %q; use road, sea, air, rail or postal", ErrInvalidAlert, a.ID, p)
		}
	}
	return nil
}

// ValidPostKind reports whether p is a kind of post: road, sea, air, rail
// or postal.
func ValidPostKind(p string) bool {
	switch p {
	case "road", "sea", "air", "rail", "postal":
		return true
	}
	return false
}

// Expired reports whether the alert must no longer produce hits at t.
func (a *Alert) Expired(t time.Time) bool {
	return !a.Expires.IsZero() && !t.Before(a.Expires)
}
