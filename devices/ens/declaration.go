package ens

import "time"

// Declaration is one Entry Summary Declaration (or an amendment of one),
// whatever form it arrived in. Its JSON encoding is the ICS2 JSON form
// documented in README.md. A Declaration returned by a parser has passed its
// form's schema; its identifiers are verified by Validate and Check.
type Declaration struct {
	// MessageType is the filing's message type: IE3F10..IE3F51 or an
	// amendment IE3A10..IE3A51 for ICS2, CC315A or CC313A for ICS1.
	MessageType string `json:"message_type"`
	// Amendment is set for IE3Ann, CC313A and HMRC's IE313.
	Amendment bool `json:"-"`
	// LRN is the declarant's local reference number (up to 22 characters).
	LRN string `json:"lrn,omitempty"`
	// MRN is the movement reference number given by customs (18
	// characters, with a check character).
	MRN string `json:"mrn,omitempty"`
	// IssueDate is when the declaration (or amendment) was made.
	IssueDate time.Time `json:"issue_date"`
	// SpecificCircumstance is the specific circumstance indicator.
	SpecificCircumstance string `json:"specific_circumstance,omitempty"`
	// AddressedMemberState is the ISO 3166-1 alpha-2 code of the member
	// state the filing is addressed to.
	AddressedMemberState string `json:"addressed_member_state,omitempty"`
	// OfficeOfFirstEntry is the customs office reference (an8, country
	// prefix) and ExpectedArrival the expected date and time of arrival.
	OfficeOfFirstEntry string    `json:"office_of_first_entry,omitempty"`
	ExpectedArrival    time.Time `json:"expected_arrival,omitzero"`
	// PlaceOfLoading and PlaceOfUnloading are UN/LOCODEs in ICS2, free
	// text in ICS1.
	PlaceOfLoading   string `json:"place_of_loading,omitempty"`
	PlaceOfUnloading string `json:"place_of_unloading,omitempty"`
	// Parties at declaration level: declarant, representative, carrier.
	Parties []Party `json:"parties,omitempty"`
	// ActiveMeans are the active border transport means.
	ActiveMeans []Means `json:"active_means,omitempty"`
	// Consignment is the master consignment; house consignments hang
	// below it.
	Consignment Consignment `json:"consignment"`
}

// Role is a party's role in a declaration.
type Role string

// The party roles of an ENS.
const (
	RoleDeclarant        Role = "declarant"
	RoleRepresentative   Role = "representative"
	RoleCarrier          Role = "carrier"
	RoleConsignor        Role = "consignor"
	RoleConsignee        Role = "consignee"
	RoleNotifyParty      Role = "notify_party"
	RoleBuyer            Role = "buyer"
	RoleSeller           Role = "seller"
	RoleSupplyChainActor Role = "supply_chain_actor"
)

// Types of person (ICS2 code list CL729).
const (
	PersonNatural     = "1"
	PersonLegal       = "2"
	PersonAssociation = "3"
)

// Party is one person or company named in a declaration.
type Party struct {
	Role Role `json:"role"`
	// Name is up to 70 characters.
	Name string `json:"name,omitempty"`
	// ID is the party's identification number: an EORI or, in ICS1, a
	// TIN (up to 17 characters).
	ID string `json:"id,omitempty"`
	// TypeOfPerson is "1" natural person, "2" legal person, "3"
	// association of persons, or empty when not given.
	TypeOfPerson   string          `json:"type_of_person,omitempty"`
	Address        *Address        `json:"address,omitempty"`
	Communications []Communication `json:"communications,omitempty"`
}

// Address is a party's postal address.
type Address struct {
	Street      string `json:"street,omitempty"`
	Number      string `json:"number,omitempty"`
	Postcode    string `json:"postcode,omitempty"`
	City        string `json:"city,omitempty"`
	Subdivision string `json:"subdivision,omitempty"`
	// Country is ISO 3166-1 alpha-2.
	Country string `json:"country,omitempty"`
	POBox   string `json:"po_box,omitempty"`
}

// Communication types.
const (
	CommEmail = "email"
	CommPhone = "phone"
)

// Communication is one way to reach a party: Type is "email" or "phone";
// phone numbers are given in international form (+ or 00).
type Communication struct {
	Type       string `json:"type"`
	Identifier string `json:"identifier"`
}

// Types of identification of a means of transport (CL750, codes
// unverified; configuration cannot change them yet).
const (
	MeansIMO              = "10" // IMO ship identification number
	MeansVesselName       = "11" // name of a sea-going vessel
	MeansWagon            = "20" // wagon number
	MeansTrain            = "21" // train number
	MeansRoadVehicle      = "30" // registration number of a road vehicle
	MeansRoadTrailer      = "31" // registration number of a road trailer
	MeansFlight           = "40" // IATA flight number
	MeansAircraft         = "41" // registration number of an aircraft
	MeansENI              = "80" // European vessel identification number
	MeansInlandVesselName = "81" // name of an inland waterways vessel
)

// Means is an active or passive means of transport.
type Means struct {
	// TypeOfIdentification is a CL750 code (see the Means* constants),
	// or empty when the input form does not say.
	TypeOfIdentification string `json:"type_of_identification,omitempty"`
	// Identification is up to 35 characters.
	Identification string `json:"identification"`
	// Nationality is ISO 3166-1 alpha-2.
	Nationality string `json:"nationality,omitempty"`
	// Mode is the mode of transport at the border (CL018: 1 sea, 2 rail,
	// 3 road, 4 air, 5 postal, 7 fixed installation, 8 inland waterway,
	// 9 own propulsion).
	Mode string `json:"mode,omitempty"`
	// ConveyanceReference is the voyage or flight number.
	ConveyanceReference string `json:"conveyance_reference,omitempty"`
}

// Document is a transport document (bill of lading, air waybill, CMR) or a
// produced document.
type Document struct {
	Type      string `json:"type,omitempty"`
	Reference string `json:"reference"`
}

// Equipment is one piece of transport equipment.
type Equipment struct {
	// Container is the ISO 6346 container number (up to 17 characters
	// as given).
	Container string   `json:"container"`
	SizeType  string   `json:"size_type,omitempty"`
	Seals     []string `json:"seals,omitempty"`
}

// Consignment is the master consignment of a declaration or one house
// consignment. House consignments do not nest.
type Consignment struct {
	TransportDocument  *Document   `json:"transport_document,omitempty"`
	GrossMass          string      `json:"gross_mass,omitempty"`
	Parties            []Party     `json:"parties,omitempty"`
	TransportEquipment []Equipment `json:"transport_equipment,omitempty"`
	// Seals not tied to a piece of equipment (ICS1 puts them at
	// declaration level).
	Seals []string `json:"seals,omitempty"`
	// PassiveMeans are passive border transport means (trailers, trucks
	// on a ferry).
	PassiveMeans []Means `json:"passive_means,omitempty"`
	// RoutingCountries are ISO 3166-1 alpha-2 codes in order of routing.
	RoutingCountries  []string      `json:"routing_countries,omitempty"`
	GoodsItems        []GoodsItem   `json:"goods_items,omitempty"`
	HouseConsignments []Consignment `json:"house_consignments,omitempty"`
}

// GoodsItem is one goods item of a consignment.
type GoodsItem struct {
	ItemNumber int `json:"item_number,omitempty"`
	// Description is up to 512 characters.
	Description string `json:"description,omitempty"`
	// HSCode is the Harmonized System subheading (6 digits; ICS1 may give
	// 4), CNCode the Combined Nomenclature extension (2 digits).
	HSCode  string `json:"hs_code,omitempty"`
	CNCode  string `json:"cn_code,omitempty"`
	CUSCode string `json:"cus_code,omitempty"`
	// UNNumber is the UN dangerous goods number (4 digits).
	UNNumber  string      `json:"un_number,omitempty"`
	GrossMass string      `json:"gross_mass,omitempty"`
	Packaging []Packaging `json:"packaging,omitempty"`
	Documents []Document  `json:"documents,omitempty"`
	// Parties at item level (ICS1 item consignor, consignee and notify
	// party).
	Parties []Party `json:"parties,omitempty"`
}

// Packaging describes the packages of a goods item.
type Packaging struct {
	Type  string `json:"type,omitempty"`
	Count int    `json:"count,omitempty"`
	Marks string `json:"marks,omitempty"`
}
