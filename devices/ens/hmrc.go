package ens

import (
	"io"
	"strconv"
	"strings"
	"time"
)

// HMRC's JSON rendering of ICS1 ENS data
// (conf/jsonschemas/EntrySummaryDeclaration.json in
// hmrc/import-control-entry-declaration-store). The types mirror that
// schema; every object there has additionalProperties false, so unknown
// fields are refused.
type hmrcENS struct {
	SubmissionID *string          `json:"submissionId"`
	Metadata     *hmrcMetadata    `json:"metadata"`
	Declaration  *hmrcDeclaration `json:"declaration"`
	Amendment    *hmrcAmendment   `json:"amendment"`
	Parties      *hmrcParties     `json:"parties"`
	Goods        *hmrcGoods       `json:"goods"`
	Itinerary    *hmrcItinerary   `json:"itinerary"`
	SpecificCI   *string          `json:"specificCircumstancesIndicator"`
}

type hmrcMetadata struct {
	SenderEORI            *string `json:"senderEORI"`
	SenderBranch          *string `json:"senderBranch"`
	MessageType           *string `json:"messageType"`
	MessageIdentification *string `json:"messageIdentification"`
	PreparationDateTime   *string `json:"preparationDateTime"`
	ReceivedDateTime      *string `json:"receivedDateTime"`
	CorrelationID         *string `json:"correlationId"`
}

type hmrcDeclaration struct {
	LocalReferenceNumber *string `json:"localReferenceNumber"`
	Place                *string `json:"place"`
	Language             *string `json:"language"`
	DateTime             *string `json:"dateTime"`
	OfficeOfLodgement    *string `json:"officeOfLodgement"`
}

type hmrcAmendment struct {
	MovementReferenceNumber *string `json:"movementReferenceNumber"`
	Place                   *string `json:"place"`
	Language                *string `json:"language"`
	DateTime                *string `json:"dateTime"`
}

type hmrcParties struct {
	Declarant      *hmrcTrader `json:"declarant"`
	Representative *hmrcTrader `json:"representative"`
	Carrier        *hmrcTrader `json:"carrier"`
	Consignor      *hmrcTrader `json:"consignor"`
	Consignee      *hmrcTrader `json:"consignee"`
	NotifyParty    *hmrcTrader `json:"notifyParty"`
}

type hmrcTrader struct {
	Name     *string      `json:"name"`
	Address  *hmrcAddress `json:"address"`
	Language *string      `json:"language"`
	EORI     *string      `json:"eori"`
}

type hmrcAddress struct {
	StreetAndNumber *string `json:"streetAndNumber"`
	City            *string `json:"city"`
	PostalCode      *string `json:"postalCode"`
	CountryCode     *string `json:"countryCode"`
}

type hmrcGoods struct {
	NumberOfItems    *int            `json:"numberOfItems"`
	NumberOfPackages *int            `json:"numberOfPackages"`
	GrossMass        *string         `json:"grossMass"`
	Seals            []hmrcSeal      `json:"seals"`
	GoodsItems       []hmrcGoodsItem `json:"goodsItems"`
}

type hmrcSeal struct {
	Identity         *string `json:"identity"`
	IdentityLanguage *string `json:"identityLanguage"`
}

type hmrcGoodsItem struct {
	ItemNumber                      *string         `json:"itemNumber"`
	Description                     *string         `json:"description"`
	DescriptionLanguage             *string         `json:"descriptionLanguage"`
	GrossMass                       *string         `json:"grossMass"`
	TransportChargesMethodOfPayment *string         `json:"transportChargesMethodOfPayment"`
	CommercialReferenceNumber       *string         `json:"commercialReferenceNumber"`
	UNDangerousGoodsCode            *string         `json:"unDangerousGoodsCode"`
	Loading                         *hmrcLoading    `json:"loading"`
	Documents                       []hmrcDocument  `json:"documents"`
	SpecialMentions                 []string        `json:"specialMentions"`
	Consignor                       *hmrcTrader     `json:"consignor"`
	CommodityCode                   *string         `json:"commodityCode"`
	Consignee                       *hmrcTrader     `json:"consignee"`
	Containers                      []hmrcContainer `json:"containers"`
	IdentityOfMeansOfCrossingBorder []hmrcMeans     `json:"identityOfMeansOfCrossingBorder"`
	Packages                        []hmrcPackage   `json:"packages"`
	NotifyParty                     *hmrcTrader     `json:"notifyParty"`
}

type hmrcLoading struct {
	PlaceOfLoading    *string `json:"placeOfLoading"`
	LoadingLanguage   *string `json:"loadingLanguage"`
	PlaceOfUnloading  *string `json:"placeOfUnloading"`
	UnloadingLanguage *string `json:"unloadingLanguage"`
}

type hmrcDocument struct {
	Type      *string `json:"type"`
	Reference *string `json:"reference"`
	Language  *string `json:"language"`
}

type hmrcContainer struct {
	ContainerNumber *string `json:"containerNumber"`
}

type hmrcMeans struct {
	Nationality *string `json:"nationality"`
	Identity    *string `json:"identity"`
	Language    *string `json:"language"`
}

type hmrcPackage struct {
	KindOfPackages   *string `json:"kindOfPackages"`
	NumberOfPackages *string `json:"numberOfPackages"`
	NumberOfPieces   *string `json:"numberOfPieces"`
	Marks            *string `json:"marks"`
	MarksLanguage    *string `json:"marksLanguage"`
}

type hmrcItinerary struct {
	ModeOfTransportAtBorder         *string         `json:"modeOfTransportAtBorder"`
	IdentityOfMeansOfCrossingBorder *hmrcMeans      `json:"identityOfMeansOfCrossingBorder"`
	TransportChargesMethodOfPayment *string         `json:"transportChargesMethodOfPayment"`
	CommercialReferenceNumber       *string         `json:"commercialReferenceNumber"`
	ConveyanceReference             *string         `json:"conveyanceReference"`
	Loading                         *hmrcLoading    `json:"loading"`
	CountriesOfRouting              []string        `json:"countriesOfRouting"`
	OfficeOfFirstEntry              *hmrcFirstEntry `json:"officeOfFirstEntry"`
	OfficesOfSubsequentEntry        []string        `json:"officesOfSubsequentEntry"`
}

type hmrcFirstEntry struct {
	Reference                 *string `json:"reference"`
	ExpectedDateTimeOfArrival *string `json:"expectedDateTimeOfArrival"`
}

// jsonRule checks one string value of a JSON form.
type jsonRule func(string) error

func maxLen(n int) jsonRule {
	return func(v string) error {
		if l := runeLen(v); l > n {
			return schemaErr("want at most %d characters, got %d", n, l)
		}
		return nil
	}
}

func lenRange(a, b int) jsonRule {
	return func(v string) error {
		if l := runeLen(v); l < a || l > b {
			if a == b {
				return schemaErr("want %d characters, got %d", a, l)
			}
			return schemaErr("want %d to %d characters, got %d", a, b, l)
		}
		return nil
	}
}

// hmrcDateTime is the schema's dateTime: YYYY-MM-DDThh:mm:ss.sssZ.
func hmrcDateTime(v string) error {
	if len(v) != 24 {
		return schemaErr("want YYYY-MM-DDThh:mm:ss.sssZ")
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", v); err != nil {
		return schemaErr("want YYYY-MM-DDThh:mm:ss.sssZ")
	}
	return nil
}

// hmrcMass is the schema's mass: up to 11 digits, optionally a point and
// up to 3 decimals, 12 characters at most.
func hmrcMass(v string) error {
	i, f, dot := strings.Cut(v, ".")
	if len(v) > 12 || !isDigits(i) || len(i) > 11 || dot && (!isDigits(f) || len(f) > 3) {
		return schemaErr("want up to 11 digits and up to 3 decimals")
	}
	return nil
}

// jsonCheck records schema faults of a JSON form.
type jsonCheck struct{ f *faults }

// str checks an optional string; a required one must be present.
func (c jsonCheck) str(path string, v *string, required bool, rules ...jsonRule) {
	if v == nil {
		if required {
			c.f.add(path, schemaErr("required field missing"))
		}
		return
	}
	for _, r := range rules {
		if err := r(*v); err != nil {
			c.f.add(path, err)
			return
		}
	}
}

// count checks the number of elements of an array that is present.
func (c jsonCheck) count(path string, n int, present bool, min, max int) {
	if present && (n < min || n > max) {
		c.f.add(path, schemaErr("want %d to %d elements, got %d", min, max, n))
	}
}

func (c jsonCheck) trader(path string, t *hmrcTrader) {
	if t == nil {
		return
	}
	// oneOf: contact details, an EORI alone, or both.
	switch {
	case t.Name != nil || t.Address != nil || t.Language != nil:
		c.str(path+".name", t.Name, true, maxLen(35))
		if t.Address == nil {
			c.f.add(path+".address", schemaErr("required field missing"))
		} else {
			a := t.Address
			c.str(path+".address.streetAndNumber", a.StreetAndNumber, true, maxLen(35))
			c.str(path+".address.city", a.City, true, maxLen(35))
			c.str(path+".address.postalCode", a.PostalCode, true, maxLen(9))
			c.str(path+".address.countryCode", a.CountryCode, true, lenRange(2, 2))
		}
		c.str(path+".language", t.Language, false, maxLen(2))
		c.str(path+".eori", t.EORI, false, lenRange(3, 17))
	case t.EORI != nil:
		c.str(path+".eori", t.EORI, true, lenRange(3, 17))
	default:
		c.f.add(path, schemaErr("want a name and address, an eori, or both"))
	}
}

func (c jsonCheck) loading(path string, l *hmrcLoading) {
	if l == nil {
		return
	}
	c.str(path+".placeOfLoading", l.PlaceOfLoading, false, maxLen(35))
	c.str(path+".loadingLanguage", l.LoadingLanguage, false, maxLen(2))
	c.str(path+".placeOfUnloading", l.PlaceOfUnloading, false, maxLen(35))
	c.str(path+".unloadingLanguage", l.UnloadingLanguage, false, maxLen(2))
}

func (c jsonCheck) means(path string, m *hmrcMeans) {
	c.str(path+".nationality", m.Nationality, false, maxLen(2))
	c.str(path+".identity", m.Identity, true, maxLen(27))
	c.str(path+".language", m.Language, false, maxLen(2))
}

func (c jsonCheck) hmrc(e *hmrcENS) {
	c.str("submissionId", e.SubmissionID, true, lenRange(36, 36))
	c.str("specificCircumstancesIndicator", e.SpecificCI, false, jsonRule(enum("A", "C", "D", "E")))
	if m := e.Metadata; m == nil {
		c.f.add("metadata", schemaErr("required field missing"))
	} else {
		c.str("metadata.senderEORI", m.SenderEORI, true, lenRange(3, 17))
		c.str("metadata.senderBranch", m.SenderBranch, true, maxLen(20))
		c.str("metadata.messageType", m.MessageType, true, jsonRule(enum("IE315", "IE313")))
		c.str("metadata.messageIdentification", m.MessageIdentification, true, maxLen(14))
		c.str("metadata.preparationDateTime", m.PreparationDateTime, true, hmrcDateTime)
		c.str("metadata.receivedDateTime", m.ReceivedDateTime, true, hmrcDateTime)
		c.str("metadata.correlationId", m.CorrelationID, true, lenRange(14, 14))
	}
	switch {
	case e.Declaration != nil && e.Amendment != nil:
		c.f.add("amendment", schemaErr("want either declaration or amendment, not both"))
	case e.Declaration != nil:
		d := e.Declaration
		c.str("declaration.localReferenceNumber", d.LocalReferenceNumber, true, maxLen(22))
		c.str("declaration.place", d.Place, true, maxLen(35))
		c.str("declaration.language", d.Language, false, maxLen(2))
		c.str("declaration.dateTime", d.DateTime, true, hmrcDateTime)
		c.str("declaration.officeOfLodgement", d.OfficeOfLodgement, false, maxLen(8))
	case e.Amendment != nil:
		a := e.Amendment
		c.str("amendment.movementReferenceNumber", a.MovementReferenceNumber, true, lenRange(18, 18))
		c.str("amendment.place", a.Place, true, maxLen(35))
		c.str("amendment.language", a.Language, false, maxLen(2))
		c.str("amendment.dateTime", a.DateTime, true, hmrcDateTime)
	default:
		c.f.add("declaration", schemaErr("want declaration or amendment"))
	}
	if p := e.Parties; p == nil {
		c.f.add("parties", schemaErr("required field missing"))
	} else {
		if p.Declarant == nil {
			c.f.add("parties.declarant", schemaErr("required field missing"))
		}
		c.trader("parties.declarant", p.Declarant)
		c.trader("parties.representative", p.Representative)
		c.trader("parties.carrier", p.Carrier)
		c.trader("parties.consignor", p.Consignor)
		c.trader("parties.consignee", p.Consignee)
		c.trader("parties.notifyParty", p.NotifyParty)
	}
	if g := e.Goods; g == nil {
		c.f.add("goods", schemaErr("required field missing"))
	} else {
		if g.NumberOfItems == nil {
			c.f.add("goods.numberOfItems", schemaErr("required field missing"))
		}
		c.str("goods.grossMass", g.GrossMass, false, hmrcMass)
		c.count("goods.seals", len(g.Seals), g.Seals != nil, 1, 9999)
		for i, s := range g.Seals {
			p := idx("goods.seals", i)
			c.str(p+".identity", s.Identity, true, maxLen(20))
			c.str(p+".identityLanguage", s.IdentityLanguage, false, maxLen(2))
		}
		c.count("goods.goodsItems", len(g.GoodsItems), g.GoodsItems != nil, 1, 999)
		for i := range g.GoodsItems {
			c.goodsItem(idx("goods.goodsItems", i), &g.GoodsItems[i])
		}
	}
	if it := e.Itinerary; it == nil {
		c.f.add("itinerary", schemaErr("required field missing"))
	} else {
		c.str("itinerary.modeOfTransportAtBorder", it.ModeOfTransportAtBorder, true, jsonRule(enum("1", "2", "3", "4", "8", "10", "11")))
		if it.IdentityOfMeansOfCrossingBorder != nil {
			c.means("itinerary.identityOfMeansOfCrossingBorder", it.IdentityOfMeansOfCrossingBorder)
		}
		c.str("itinerary.transportChargesMethodOfPayment", it.TransportChargesMethodOfPayment, false, jsonRule(enum("A", "B", "C", "D", "H", "Y", "Z")))
		c.str("itinerary.commercialReferenceNumber", it.CommercialReferenceNumber, false, maxLen(70))
		c.str("itinerary.conveyanceReference", it.ConveyanceReference, false, maxLen(35))
		c.loading("itinerary.loading", it.Loading)
		c.count("itinerary.countriesOfRouting", len(it.CountriesOfRouting), it.CountriesOfRouting != nil, 1, 99)
		for i := range it.CountriesOfRouting {
			c.str(idx("itinerary.countriesOfRouting", i), &it.CountriesOfRouting[i], true, lenRange(2, 2))
		}
		if fe := it.OfficeOfFirstEntry; fe == nil {
			c.f.add("itinerary.officeOfFirstEntry", schemaErr("required field missing"))
		} else {
			c.str("itinerary.officeOfFirstEntry.reference", fe.Reference, true, maxLen(8))
			c.str("itinerary.officeOfFirstEntry.expectedDateTimeOfArrival", fe.ExpectedDateTimeOfArrival, true, hmrcDateTime)
		}
		c.count("itinerary.officesOfSubsequentEntry", len(it.OfficesOfSubsequentEntry), it.OfficesOfSubsequentEntry != nil, 1, 99)
		for i := range it.OfficesOfSubsequentEntry {
			c.str(idx("itinerary.officesOfSubsequentEntry", i), &it.OfficesOfSubsequentEntry[i], true, maxLen(8))
		}
	}
}

func (c jsonCheck) goodsItem(p string, g *hmrcGoodsItem) {
	c.str(p+".itemNumber", g.ItemNumber, true, maxLen(5))
	c.str(p+".description", g.Description, false, maxLen(280))
	c.str(p+".descriptionLanguage", g.DescriptionLanguage, false, maxLen(2))
	c.str(p+".grossMass", g.GrossMass, false, hmrcMass)
	c.str(p+".transportChargesMethodOfPayment", g.TransportChargesMethodOfPayment, false, jsonRule(enum("A", "B", "C", "D", "H", "Y", "Z")))
	c.str(p+".commercialReferenceNumber", g.CommercialReferenceNumber, false, maxLen(70))
	c.str(p+".unDangerousGoodsCode", g.UNDangerousGoodsCode, false, maxLen(4))
	c.loading(p+".loading", g.Loading)
	c.count(p+".documents", len(g.Documents), g.Documents != nil, 1, 99)
	for i, d := range g.Documents {
		dp := idx(p+".documents", i)
		c.str(dp+".type", d.Type, true, maxLen(4))
		c.str(dp+".reference", d.Reference, true, maxLen(35))
		c.str(dp+".language", d.Language, false, maxLen(2))
	}
	c.count(p+".specialMentions", len(g.SpecialMentions), g.SpecialMentions != nil, 1, 99)
	for i := range g.SpecialMentions {
		c.str(idx(p+".specialMentions", i), &g.SpecialMentions[i], true, maxLen(5))
	}
	c.trader(p+".consignor", g.Consignor)
	c.str(p+".commodityCode", g.CommodityCode, false, lenRange(4, 8))
	c.trader(p+".consignee", g.Consignee)
	c.count(p+".containers", len(g.Containers), g.Containers != nil, 1, 99)
	for i, k := range g.Containers {
		c.str(idx(p+".containers", i)+".containerNumber", k.ContainerNumber, true, maxLen(17))
	}
	c.count(p+".identityOfMeansOfCrossingBorder", len(g.IdentityOfMeansOfCrossingBorder), g.IdentityOfMeansOfCrossingBorder != nil, 1, 999)
	for i := range g.IdentityOfMeansOfCrossingBorder {
		c.means(idx(p+".identityOfMeansOfCrossingBorder", i), &g.IdentityOfMeansOfCrossingBorder[i])
	}
	c.count(p+".packages", len(g.Packages), g.Packages != nil, 1, 99)
	for i, k := range g.Packages {
		kp := idx(p+".packages", i)
		c.str(kp+".kindOfPackages", k.KindOfPackages, true, maxLen(2))
		c.str(kp+".numberOfPackages", k.NumberOfPackages, false, maxLen(5))
		c.str(kp+".numberOfPieces", k.NumberOfPieces, false, maxLen(5))
		c.str(kp+".marks", k.Marks, false, maxLen(140))
		c.str(kp+".marksLanguage", k.MarksLanguage, false, maxLen(2))
	}
	c.trader(p+".notifyParty", g.NotifyParty)
}

// ParseHMRC reads HMRC's JSON rendering of an ICS1 Entry Summary
// Declaration (IE315) or amendment (IE313) from r. It refuses input beyond
// lim, non-UTF-8 text, control characters, duplicate keys and unknown
// fields, and returns a *ValidationError listing every fault against HMRC's
// JSON schema, with paths in HMRC's names (for example
// "goods.goodsItems[0].containers[1].containerNumber"). HMRC's schema checks
// lengths only, so identifiers and codes are verified later, by Validate.
func ParseHMRC(r io.Reader, lim Limits) (*Declaration, error) {
	lim = lim.withDefaults()
	b, err := readInput(r, lim)
	if err != nil {
		return nil, err
	}
	if _, err := scanJSON(b, lim); err != nil {
		return nil, err
	}
	return parseHMRC(b)
}

// parseHMRC decodes input already read, checked and scanned.
func parseHMRC(b []byte) (*Declaration, error) {
	var e hmrcENS
	if err := decodeStrict(b, &e); err != nil {
		return nil, err
	}
	var f faults
	jsonCheck{&f}.hmrc(&e)
	if err := f.err(); err != nil {
		return nil, err
	}
	return hmrcToDeclaration(&e), nil
}

func sv(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func hmrcTime(p *string) time.Time {
	t, _ := time.Parse("2006-01-02T15:04:05.000Z", sv(p)) // schema-checked
	return t
}

func hmrcParty(t *hmrcTrader, role Role) Party {
	p := Party{Role: role, Name: sv(t.Name), ID: sv(t.EORI)}
	if a := t.Address; a != nil {
		p.Address = &Address{Street: sv(a.StreetAndNumber), City: sv(a.City), Postcode: sv(a.PostalCode), Country: sv(a.CountryCode)}
	}
	return p
}

// hmrcToDeclaration maps a schema-valid HMRC document.
func hmrcToDeclaration(e *hmrcENS) *Declaration {
	d := &Declaration{MessageType: sv(e.Metadata.MessageType), SpecificCircumstance: sv(e.SpecificCI)}
	if a := e.Amendment; a != nil {
		d.Amendment = true
		d.MRN = sv(a.MovementReferenceNumber)
		d.IssueDate = hmrcTime(a.DateTime)
	} else {
		d.LRN = sv(e.Declaration.LocalReferenceNumber)
		d.IssueDate = hmrcTime(e.Declaration.DateTime)
	}
	it := e.Itinerary
	d.OfficeOfFirstEntry = strings.ToUpper(sv(it.OfficeOfFirstEntry.Reference))
	d.ExpectedArrival = hmrcTime(it.OfficeOfFirstEntry.ExpectedDateTimeOfArrival)
	if l := it.Loading; l != nil {
		d.PlaceOfLoading, d.PlaceOfUnloading = sv(l.PlaceOfLoading), sv(l.PlaceOfUnloading)
	}
	mode := ics1Mode(sv(it.ModeOfTransportAtBorder))
	if m := it.IdentityOfMeansOfCrossingBorder; m != nil {
		d.ActiveMeans = append(d.ActiveMeans, Means{
			TypeOfIdentification: ics1MeansType[mode],
			Identification:       sv(m.Identity),
			Nationality:          sv(m.Nationality),
			Mode:                 mode,
			ConveyanceReference:  sv(it.ConveyanceReference),
		})
	}
	ps := e.Parties
	for _, p := range []struct {
		t    *hmrcTrader
		role Role
	}{{ps.Declarant, RoleDeclarant}, {ps.Representative, RoleRepresentative}, {ps.Carrier, RoleCarrier}} {
		if p.t != nil {
			d.Parties = append(d.Parties, hmrcParty(p.t, p.role))
		}
	}
	c := &d.Consignment
	if ref := sv(it.CommercialReferenceNumber); ref != "" {
		c.TransportDocument = &Document{Reference: ref}
	}
	c.GrossMass = sv(e.Goods.GrossMass)
	for _, p := range []struct {
		t    *hmrcTrader
		role Role
	}{{ps.Consignor, RoleConsignor}, {ps.Consignee, RoleConsignee}, {ps.NotifyParty, RoleNotifyParty}} {
		if p.t != nil {
			c.Parties = append(c.Parties, hmrcParty(p.t, p.role))
		}
	}
	c.RoutingCountries = append(c.RoutingCountries, it.CountriesOfRouting...)
	for _, s := range e.Goods.Seals {
		c.Seals = append(c.Seals, sv(s.Identity))
	}
	passiveType := ""
	if mode == "1" || mode == "3" {
		passiveType = MeansRoadVehicle
	}
	seenBox, seenMeans := map[string]bool{}, map[string]bool{}
	for _, g := range e.Goods.GoodsItems {
		gi := GoodsItem{Description: sv(g.Description), GrossMass: sv(g.GrossMass), UNNumber: sv(g.UNDangerousGoodsCode)}
		gi.ItemNumber, _ = strconv.Atoi(sv(g.ItemNumber))
		if code := sv(g.CommodityCode); code != "" {
			// Only digits make an HS code; anything else is kept
			// whole so that Validate reports it.
			switch {
			case !isDigits(code):
				gi.HSCode = code
			case len(code) < 6:
				gi.HSCode = code[:4]
			default:
				gi.HSCode = code[:6]
				if len(code) == 8 {
					gi.CNCode = code[6:]
				}
			}
		}
		for _, doc := range g.Documents {
			gi.Documents = append(gi.Documents, Document{Type: sv(doc.Type), Reference: sv(doc.Reference)})
		}
		for _, pk := range g.Packages {
			n, _ := strconv.Atoi(sv(pk.NumberOfPackages))
			gi.Packaging = append(gi.Packaging, Packaging{Type: sv(pk.KindOfPackages), Count: n, Marks: sv(pk.Marks)})
		}
		for _, p := range []struct {
			t    *hmrcTrader
			role Role
		}{{g.Consignor, RoleConsignor}, {g.Consignee, RoleConsignee}, {g.NotifyParty, RoleNotifyParty}} {
			if p.t != nil {
				gi.Parties = append(gi.Parties, hmrcParty(p.t, p.role))
			}
		}
		for _, box := range g.Containers {
			v := sv(box.ContainerNumber)
			if k := strings.ToUpper(v); !seenBox[k] {
				seenBox[k] = true
				c.TransportEquipment = append(c.TransportEquipment, Equipment{Container: v})
			}
		}
		for _, m := range g.IdentityOfMeansOfCrossingBorder {
			pm := Means{TypeOfIdentification: passiveType, Identification: sv(m.Identity), Nationality: sv(m.Nationality)}
			if k := pm.Nationality + "|" + strings.ToUpper(pm.Identification); !seenMeans[k] {
				seenMeans[k] = true
				c.PassiveMeans = append(c.PassiveMeans, pm)
			}
		}
		c.GoodsItems = append(c.GoodsItems, gi)
	}
	return d
}
