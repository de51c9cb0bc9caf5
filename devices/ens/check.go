package ens

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
)

// Validate verifies every identifier and code of d: the MRN's check
// character, EORI formats, ISO 6346 container check digits, IMO check
// digits, plates, country codes, modes of transport, phone numbers and e-mail
// addresses, UN numbers and HS codes. It returns nil or a *ValidationError
// listing every fault, with paths in the ICS2 JSON form's terms.
func (d *Declaration) Validate() error {
	var w walker
	w.declaration(d)
	return w.f.err()
}

// Check turns d into a devices.Check for the named device. It holds one Item
// per party name (KindPerson when the type of person is "1", natural
// person; KindCompany otherwise, since ENS parties without a type are
// overwhelmingly companies), per EORI, per e-mail address and phone number,
// per container, and per active or passive means of transport whose type
// says what it is (IMO number, aircraft registration, road vehicle or
// trailer plate). Each Item's Field is its path in the ICS2 JSON form.
// Values that fail Validate are left out: call Validate to learn which. The
// Check's ID is the MRN when it is valid, else the LRN.
func (d *Declaration) Check(device string) devices.Check {
	var w walker
	w.declaration(d)
	id := d.LRN
	if w.mrn != "" {
		id = w.mrn
	} else if id == "" {
		id = strings.TrimSpace(d.MRN)
	}
	return devices.Check{
		ID:     id,
		Device: device,
		Time:   time.Now().UTC(),
		Items:  w.items,
	}
}

// walker visits a Declaration once, collecting the Items it yields and the
// faults it holds, so that Check and Validate agree by construction.
type walker struct {
	items []devices.Item
	f     faults
	mrn   string // the valid, normalised MRN
}

func idx(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func (w *walker) declaration(d *Declaration) {
	if d.MRN != "" {
		if m, err := ident.ParseMRN(d.MRN); err != nil {
			w.f.add("mrn", err)
		} else {
			w.mrn = m
		}
	}
	if d.AddressedMemberState != "" {
		w.country("addressed_member_state", d.AddressedMemberState)
	}
	if d.OfficeOfFirstEntry != "" {
		w.office("office_of_first_entry", d.OfficeOfFirstEntry)
	}
	for i := range d.Parties {
		w.party(idx("parties", i), &d.Parties[i])
	}
	for i := range d.ActiveMeans {
		w.means(idx("active_means", i), &d.ActiveMeans[i])
	}
	w.consignment("consignment", &d.Consignment)
}

// country verifies an ISO 3166-1 alpha-2 code and returns it normalised, or
// "" after recording a fault.
func (w *walker) country(path, s string) string {
	if len(strings.TrimSpace(s)) != 2 {
		w.f.add(path, fmt.Errorf("%w: want 2 letters", ident.ErrCountry))
		return ""
	}
	c, err := ident.ParseCountry(s)
	if err != nil {
		w.f.add(path, err)
		return ""
	}
	return c
}

// office verifies a customs office reference: a country code and six
// letters or digits.
func (w *walker) office(path, s string) {
	if len(s) != 8 || !isAlnumUpper(s) {
		w.f.add(path, fmt.Errorf("%w: customs office: want 8 capital letters or digits", ErrValue))
		return
	}
	if _, err := ident.ParseCountry(s[:2]); err != nil {
		w.f.add(path, fmt.Errorf("customs office: %w", err))
	}
}

func (w *walker) party(path string, p *Party) {
	country := ""
	if p.Address != nil && p.Address.Country != "" {
		country = w.country(path+".address.country", p.Address.Country)
	}
	if name := collapseSpace(p.Name); name != "" {
		it := devices.Item{Field: path + ".name", Kind: devices.KindCompany, Value: name, Raw: p.Name}
		if p.TypeOfPerson == PersonNatural {
			it.Kind = devices.KindPerson
		} else {
			it.Country = country
		}
		w.items = append(w.items, it)
	}
	if p.ID != "" {
		if e, err := ident.ParseEORI(p.ID); err != nil {
			w.f.add(path+".id", err)
		} else {
			w.items = append(w.items, devices.Item{Field: path + ".id", Kind: devices.KindEORI, Value: e, Raw: p.ID})
		}
	}
	for i, c := range p.Communications {
		cp := idx(path+".communications", i)
		switch c.Type {
		case CommEmail:
			if v, err := ident.NormalizeEmail(c.Identifier); err != nil {
				w.f.add(cp+".identifier", err)
			} else {
				w.items = append(w.items, devices.Item{Field: cp + ".identifier", Kind: devices.KindEmail, Value: v, Raw: c.Identifier})
			}
		case CommPhone:
			if v, err := ident.NormalizePhone(c.Identifier); err != nil {
				w.f.add(cp+".identifier", err)
			} else {
				w.items = append(w.items, devices.Item{Field: cp + ".identifier", Kind: devices.KindPhone, Value: v, Raw: c.Identifier})
			}
		default:
			w.f.add(cp+".type", fmt.Errorf("%w: communication type: want %q or %q", ErrValue, CommEmail, CommPhone))
		}
	}
}

// modes is code list CL018, modes of transport.
var modes = map[string]bool{"1": true, "2": true, "3": true, "4": true, "5": true, "7": true, "8": true, "9": true}

func (w *walker) means(path string, m *Means) {
	if m.Mode != "" && !modes[m.Mode] {
		w.f.add(path+".mode", fmt.Errorf("%w: mode of transport: not a CL018 code", ErrValue))
	}
	nat := ""
	if m.Nationality != "" {
		nat = w.country(path+".nationality", m.Nationality)
	}
	ip := path + ".identification"
	switch m.TypeOfIdentification {
	case MeansIMO:
		if v, err := ident.ParseIMO(m.Identification); err != nil {
			w.f.add(ip, err)
		} else {
			w.items = append(w.items, devices.Item{Field: ip, Kind: devices.KindIMO, Value: v, Raw: m.Identification})
		}
	case MeansVesselName:
		// A ship named, not numbered: screened by name like a company.
		if name := collapseSpace(m.Identification); name != "" {
			w.items = append(w.items, devices.Item{Field: ip, Kind: devices.KindCompany, Value: name, Raw: m.Identification, Country: nat})
		}
	case MeansAircraft:
		if v, err := ident.NormalizeAircraft(m.Identification); err != nil {
			w.f.add(ip, err)
		} else {
			w.items = append(w.items, devices.Item{Field: ip, Kind: devices.KindAircraft, Value: v, Raw: m.Identification, Country: nat})
		}
	case MeansRoadVehicle, MeansRoadTrailer:
		if m.Nationality == "" {
			w.f.add(path+".nationality", fmt.Errorf("%w: a plate needs the vehicle's nationality", ErrValue))
			return
		}
		if nat == "" {
			return // the nationality fault is already recorded
		}
		if iso, v, err := ident.NormalizePlate(nat, m.Identification); err != nil {
			w.f.add(ip, err)
		} else {
			w.items = append(w.items, devices.Item{Field: ip, Kind: devices.KindPlate, Value: v, Raw: m.Identification, Country: iso})
		}
	}
}

func (w *walker) consignment(path string, c *Consignment) {
	for i := range c.Parties {
		w.party(idx(path+".parties", i), &c.Parties[i])
	}
	for i, e := range c.TransportEquipment {
		cp := idx(path+".transport_equipment", i) + ".container"
		if v, err := ident.ParseContainer(e.Container); err != nil {
			w.f.add(cp, err)
		} else {
			w.items = append(w.items, devices.Item{Field: cp, Kind: devices.KindContainer, Value: v, Raw: e.Container})
		}
	}
	for i := range c.PassiveMeans {
		w.means(idx(path+".passive_means", i), &c.PassiveMeans[i])
	}
	for i, rc := range c.RoutingCountries {
		w.country(idx(path+".routing_countries", i), rc)
	}
	for i := range c.GoodsItems {
		w.goodsItem(idx(path+".goods_items", i), &c.GoodsItems[i])
	}
	for i := range c.HouseConsignments {
		w.consignment(idx(path+".house_consignments", i), &c.HouseConsignments[i])
	}
}

func (w *walker) goodsItem(path string, g *GoodsItem) {
	if g.HSCode != "" && !(isDigits(g.HSCode) && (len(g.HSCode) == 4 || len(g.HSCode) == 6)) {
		w.f.add(path+".hs_code", fmt.Errorf("%w: HS code: want 6 digits (4 in ICS1)", ErrValue))
	}
	if g.CNCode != "" && !(isDigits(g.CNCode) && len(g.CNCode) == 2) {
		w.f.add(path+".cn_code", fmt.Errorf("%w: CN code: want 2 digits", ErrValue))
	}
	if g.UNNumber != "" && !(isDigits(g.UNNumber) && len(g.UNNumber) == 4) {
		w.f.add(path+".un_number", fmt.Errorf("%w: UN number: want 4 digits", ErrValue))
	}
	for i := range g.Parties {
		w.party(idx(path+".parties", i), &g.Parties[i])
	}
}
