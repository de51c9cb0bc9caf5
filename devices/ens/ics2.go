package ens

import (
	"io"
	"strings"
)

// Bounds of the ICS2 JSON form (see README.md). Lengths follow the ICS2
// trader interface specification where DOMAIN.md gives them.
const (
	maxParties        = 99
	maxCommunications = 9
	maxMeans          = 99
	maxEquipment      = 9999
	maxSeals          = 9999
	maxRouting        = 99
	maxGoodsItems     = 9999
	maxHouses         = 99999
)

var (
	roles = map[Role]bool{
		RoleDeclarant: true, RoleRepresentative: true, RoleCarrier: true, RoleConsignor: true,
		RoleConsignee: true, RoleNotifyParty: true, RoleBuyer: true, RoleSeller: true,
		RoleSupplyChainActor: true,
	}
	meansTypes = map[string]bool{
		MeansIMO: true, MeansVesselName: true, MeansWagon: true, MeansTrain: true,
		MeansRoadVehicle: true, MeansRoadTrailer: true, MeansFlight: true, MeansAircraft: true,
		MeansENI: true, MeansInlandVesselName: true,
	}
)

// ics2MessageType reports whether t is IE3Fnn or IE3Ann with nn in 10..51,
// and whether it is an amendment.
func ics2MessageType(t string) (ok, amendment bool) {
	if len(t) != 6 || !strings.HasPrefix(t, "IE3") || (t[3] != 'F' && t[3] != 'A') || !isDigits(t[4:]) {
		return false, false
	}
	n := int(t[4]-'0')*10 + int(t[5]-'0')
	return n >= 10 && n <= 51, t[3] == 'A'
}

// ics2Check records schema faults of the ICS2 JSON form.
type ics2Check struct{ f *faults }

func (c ics2Check) length(path, v string, lo, hi int) {
	if v == "" && lo == 0 {
		return
	}
	if l := runeLen(v); l < lo || l > hi {
		if lo == hi {
			c.f.add(path, schemaErr("want %d characters, got %d", lo, l))
		} else {
			c.f.add(path, schemaErr("want %d to %d characters, got %d", max(lo, 1), hi, l))
		}
	}
}

func (c ics2Check) required(path, v string) bool {
	if strings.TrimSpace(v) == "" {
		c.f.add(path, schemaErr("required field missing"))
		return false
	}
	return true
}

func (c ics2Check) count(path string, n, most int) bool {
	if n > most {
		c.f.add(path, schemaErr("want at most %d elements, got %d", most, n))
		return false
	}
	return true
}

func (c ics2Check) decimal(path, v string) {
	if v != "" {
		if err := decimal(16, 6)(v); err != nil {
			c.f.add(path, err)
		}
	}
}

func (c ics2Check) declaration(d *Declaration) {
	ok, amendment := ics2MessageType(d.MessageType)
	if !ok {
		c.f.add("message_type", schemaErr("want IE3Fnn or IE3Ann with nn from 10 to 51"))
	}
	d.Amendment = amendment
	c.length("lrn", d.LRN, 0, 22)
	c.length("mrn", d.MRN, 0, 18)
	if d.LRN == "" && d.MRN == "" {
		c.f.add("lrn", schemaErr("want an lrn, an mrn or both"))
	}
	if amendment && d.MRN == "" {
		c.f.add("mrn", schemaErr("an amendment needs the mrn it amends"))
	}
	if d.IssueDate.IsZero() {
		c.f.add("issue_date", schemaErr("required field missing"))
	}
	c.length("specific_circumstance", d.SpecificCircumstance, 0, 3)
	c.length("addressed_member_state", d.AddressedMemberState, 0, 2)
	c.length("office_of_first_entry", d.OfficeOfFirstEntry, 0, 8)
	c.length("place_of_loading", d.PlaceOfLoading, 0, 35)
	c.length("place_of_unloading", d.PlaceOfUnloading, 0, 35)
	c.parties("parties", d.Parties)
	if c.count("active_means", len(d.ActiveMeans), maxMeans) {
		for i := range d.ActiveMeans {
			c.means(idx("active_means", i), &d.ActiveMeans[i])
		}
	}
	c.consignment("consignment", &d.Consignment, false)
}

func (c ics2Check) parties(path string, ps []Party) {
	if !c.count(path, len(ps), maxParties) {
		return
	}
	for i := range ps {
		p := &ps[i]
		pp := idx(path, i)
		if !roles[p.Role] {
			c.f.add(pp+".role", schemaErr("unknown role"))
		}
		if strings.TrimSpace(p.Name) == "" && strings.TrimSpace(p.ID) == "" {
			c.f.add(pp, schemaErr("want a name, an id or both"))
		}
		c.length(pp+".name", p.Name, 0, 70)
		c.length(pp+".id", p.ID, 0, 17)
		switch p.TypeOfPerson {
		case "", PersonNatural, PersonLegal, PersonAssociation:
		default:
			c.f.add(pp+".type_of_person", schemaErr("want 1, 2 or 3"))
		}
		if a := p.Address; a != nil {
			ap := pp + ".address"
			c.length(ap+".street", a.Street, 0, 70)
			c.length(ap+".number", a.Number, 0, 35)
			c.length(ap+".postcode", a.Postcode, 0, 17)
			c.length(ap+".city", a.City, 0, 35)
			c.length(ap+".subdivision", a.Subdivision, 0, 35)
			c.length(ap+".country", a.Country, 0, 2)
			c.length(ap+".po_box", a.POBox, 0, 70)
		}
		if c.count(pp+".communications", len(p.Communications), maxCommunications) {
			for j, m := range p.Communications {
				mp := idx(pp+".communications", j)
				if m.Type != CommEmail && m.Type != CommPhone {
					c.f.add(mp+".type", schemaErr("want %q or %q", CommEmail, CommPhone))
				}
				if c.required(mp+".identifier", m.Identifier) {
					c.length(mp+".identifier", m.Identifier, 1, 512)
				}
			}
		}
	}
}

func (c ics2Check) means(path string, m *Means) {
	if m.TypeOfIdentification != "" && !meansTypes[m.TypeOfIdentification] {
		c.f.add(path+".type_of_identification", schemaErr("not a known CL750 code"))
	}
	if c.required(path+".identification", m.Identification) {
		c.length(path+".identification", m.Identification, 1, 35)
	}
	c.length(path+".nationality", m.Nationality, 0, 2)
	c.length(path+".mode", m.Mode, 0, 1)
	c.length(path+".conveyance_reference", m.ConveyanceReference, 0, 35)
}

func (c ics2Check) consignment(path string, k *Consignment, house bool) {
	if doc := k.TransportDocument; doc != nil {
		c.length(path+".transport_document.type", doc.Type, 0, 4)
		if c.required(path+".transport_document.reference", doc.Reference) {
			c.length(path+".transport_document.reference", doc.Reference, 1, 70)
		}
	}
	c.decimal(path+".gross_mass", k.GrossMass)
	c.parties(path+".parties", k.Parties)
	if c.count(path+".transport_equipment", len(k.TransportEquipment), maxEquipment) {
		for i, e := range k.TransportEquipment {
			ep := idx(path+".transport_equipment", i)
			if c.required(ep+".container", e.Container) {
				c.length(ep+".container", e.Container, 1, 17)
			}
			c.length(ep+".size_type", e.SizeType, 0, 10)
			c.seals(ep+".seals", e.Seals)
		}
	}
	c.seals(path+".seals", k.Seals)
	if c.count(path+".passive_means", len(k.PassiveMeans), maxMeans) {
		for i := range k.PassiveMeans {
			c.means(idx(path+".passive_means", i), &k.PassiveMeans[i])
		}
	}
	if c.count(path+".routing_countries", len(k.RoutingCountries), maxRouting) {
		for i, rc := range k.RoutingCountries {
			c.length(idx(path+".routing_countries", i), rc, 2, 2)
		}
	}
	if c.count(path+".goods_items", len(k.GoodsItems), maxGoodsItems) {
		for i := range k.GoodsItems {
			c.goodsItem(idx(path+".goods_items", i), &k.GoodsItems[i])
		}
	}
	if house && len(k.HouseConsignments) > 0 {
		c.f.add(path+".house_consignments", schemaErr("house consignments do not nest"))
		return
	}
	if c.count(path+".house_consignments", len(k.HouseConsignments), maxHouses) {
		for i := range k.HouseConsignments {
			c.consignment(idx(path+".house_consignments", i), &k.HouseConsignments[i], true)
		}
	}
}

func (c ics2Check) seals(path string, seals []string) {
	if c.count(path, len(seals), maxSeals) {
		for i, s := range seals {
			c.length(idx(path, i), s, 1, 20)
		}
	}
}

func (c ics2Check) goodsItem(path string, g *GoodsItem) {
	if g.ItemNumber < 0 || g.ItemNumber > 99999 {
		c.f.add(path+".item_number", schemaErr("want 1 to 99999"))
	}
	c.length(path+".description", g.Description, 0, 512)
	c.length(path+".hs_code", g.HSCode, 0, 6)
	c.length(path+".cn_code", g.CNCode, 0, 2)
	c.length(path+".cus_code", g.CUSCode, 0, 8)
	c.length(path+".un_number", g.UNNumber, 0, 4)
	c.decimal(path+".gross_mass", g.GrossMass)
	for i, p := range g.Packaging {
		pp := idx(path+".packaging", i)
		c.length(pp+".type", p.Type, 0, 2)
		if p.Count < 0 || p.Count > 99999999 {
			c.f.add(pp+".count", schemaErr("want 0 to 99999999"))
		}
		c.length(pp+".marks", p.Marks, 0, 512)
	}
	for i, d := range g.Documents {
		dp := idx(path+".documents", i)
		c.length(dp+".type", d.Type, 0, 4)
		if c.required(dp+".reference", d.Reference) {
			c.length(dp+".reference", d.Reference, 1, 70)
		}
	}
	c.parties(path+".parties", g.Parties)
}

// ParseICS2 reads a declaration in the ICS2 JSON form documented in
// README.md (the JSON encoding of Declaration) from r. It refuses input
// beyond lim, non-UTF-8 text, control characters, duplicate and unknown
// fields, and returns a *ValidationError listing every fault of the form
// (required fields, lengths, code lists), with paths such as
// "consignment.house_consignments[0].parties[1].name". Identifiers are
// verified later, by Validate.
func ParseICS2(r io.Reader, lim Limits) (*Declaration, error) {
	lim = lim.withDefaults()
	b, err := readInput(r, lim)
	if err != nil {
		return nil, err
	}
	if _, err := scanJSON(b, lim); err != nil {
		return nil, err
	}
	return parseICS2(b)
}

// parseICS2 decodes input already read, checked and scanned.
func parseICS2(b []byte) (*Declaration, error) {
	d := &Declaration{}
	if err := decodeStrict(b, d); err != nil {
		return nil, err
	}
	var f faults
	ics2Check{&f}.declaration(d)
	if err := f.err(); err != nil {
		return nil, err
	}
	return d, nil
}
