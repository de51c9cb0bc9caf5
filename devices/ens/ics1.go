package ens

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ICS1 message types and their namespaces (DG TAXUD ICS phase 1, v11).
const (
	TypeCC315A = "CC315A" // IE315 Entry Summary Declaration
	TypeCC313A = "CC313A" // IE313 Entry Summary Declaration amendment
	nsICS      = "http://ics.dgtaxud.ec/"
)

// xsdElem is one element of an XSD sequence: its name, occurrences (max 0
// is unbounded), and either a simple type or a child sequence.
type xsdElem struct {
	name     string
	min, max int
	typ      simpleType
	kids     []xsdElem
}

func req(name string, t simpleType) xsdElem { return xsdElem{name: name, min: 1, max: 1, typ: t} }
func opt(name string, t simpleType) xsdElem { return xsdElem{name: name, min: 0, max: 1, typ: t} }
func group(name string, min, max int, kids ...xsdElem) xsdElem {
	return xsdElem{name: name, min: min, max: max, kids: kids}
}

// trader is the sequence shared by every ICS1 party type: name, street and
// number, postcode, city, country, language, TIN.
func trader(name string, min int, nam, str, pos, cit, cou, lng, tin string, tinRequired bool) xsdElem {
	t := opt(tin, tTIN)
	if tinRequired {
		t = req(tin, tTIN)
	}
	return group(name, min, 1,
		opt(nam, tName), opt(str, tName), opt(pos, tPostcode), opt(cit, tName),
		opt(cou, tCountry), opt(lng, tLanguage), t)
}

// ics1Schema returns the sequence of the root element of CC315A or CC313A,
// transcribed from CC315A-v11-2.xsd and CC313A-v11-2.xsd.
func ics1Schema(amendment bool) []xsdElem {
	msgType, ref, place, dateTime := TypeCC315A, req("RefNumHEA4", anMax(22)), "DecPlaHEA394", "DecDatTimHEA114"
	if amendment {
		msgType, ref, place, dateTime = TypeCC313A, req("DocNumHEA5", tMRN), "AmdPlaHEA598", "DatTimAmeHEA113"
	}
	s := []xsdElem{
		req("MesSenMES3", anMax(35)),
		opt("MesRecMES6", anMax(35)),
		req("DatOfPreMES9", tDatePrep),
		req("TimOfPreMES10", tTime),
		opt("PriMES15", tAlpha1),
		req("MesIdeMES19", anMax(14)),
		req("MesTypMES20", enum(msgType)),
		opt("CorIdeMES25", anMax(14)),
		group("HEAHEA", 1, 1,
			ref,
			req("TraModAtBorHEA76", digits(1, 2)),
			opt("IdeOfMeaOfTraCroHEA85", anMax(27)),
			opt("IdeOfMeaOfTraCroHEA85LNG", tLanguage),
			opt("NatOfMeaOfTraCroHEA87", tCountry),
			opt("TotNumOfIteHEA305", digits(1, 5)),
			opt("TotNumOfPacHEA306", digits(1, 7)),
			opt("TotGroMasHEA307", tDecimal11_3),
			opt(place, anMax(35)),
			opt(place+"LNG", tLanguage),
			opt("SpeCirIndHEA1", tAlphaCap1),
			opt("TraChaMetOfPayHEA1", tAlphaCap1),
			opt("ComRefNumHEA", anMax(70)),
			opt("ConRefNumHEA", anMax(35)),
			opt("PlaLoaGOOITE334", tPlace),
			opt("PlaLoaGOOITE334LNG", tLanguage),
			opt("PlaUnlGOOITE334", tPlace),
			opt("CodPlUnHEA357LNG", tLanguage),
			req(dateTime, tDateTime),
		),
		trader("TRACONCO1", 0, "NamCO17", "StrAndNumCO122", "PosCodCO123", "CitCO124", "CouCO125", "NADLNGCO", "TINCO159", false),
		trader("TRACONCE1", 0, "NamCE17", "StrAndNumCE122", "PosCodCE123", "CitCE124", "CouCE125", "NADLNGCE", "TINCE159", false),
		trader("NOTPAR670", 0, "NamNOTPAR672", "StrNumNOTPAR673", "PosCodNOTPAR676", "CitNOTPAR674", "CouCodNOTPAR675", "NOTPAR670LNG", "TINNOTPAR671", false),
		group("GOOITEGDS", 1, 0,
			req("IteNumGDS7", digits(1, 5)),
			opt("GooDesGDS23", anMax(280)),
			opt("GooDesGDS23LNG", tLanguage),
			opt("GroMasGDS46", tDecimal11_3),
			opt("MetOfPayGDI12", tAlphaCap1),
			opt("ComRefNumGIM1", anMax(70)),
			opt("UNDanGooCodGDI1", digits(4, 4)),
			opt("PlaLoaGOOITE333", tPlace),
			opt("PlaLoaGOOITE333LNG", tLanguage),
			opt("PlaUnlGOOITE333", tPlace),
			opt("PlaUnlGOOITE333LNG", tLanguage),
			group("PRODOCDC2", 0, 99, req("DocTypDC21", anMax(4)), req("DocRefDC23", anMax(35)), opt("DocRefDCLNG", tLanguage)),
			group("SPEMENMT2", 0, 99, req("AddInfCodMT23", anMax(5))),
			trader("TRACONCO2", 0, "NamCO27", "StrAndNumCO222", "PosCodCO223", "CitCO224", "CouCO225", "NADLNGGTCO", "TINCO259", false),
			group("COMCODGODITM", 0, 1, req("ComNomCMD1", tCommodity)),
			trader("TRACONCE2", 0, "NamCE27", "StrAndNumCE222", "PosCodCE223", "CitCE224", "CouCE225", "NADLNGGICE", "TINCE259", false),
			group("CONNR2", 0, 99, req("ConNumNR21", anMax(17))),
			group("IDEMEATRAGI970", 0, 0, opt("NatIDEMEATRAGI973", tCountry), req("IdeMeaTraGIMEATRA971", anMax(27)), opt("IdeMeaTraGIMEATRA972LNG", tLanguage)),
			group("PACGS2", 0, 99, req("KinOfPacGS23", anExact(2)), opt("NumOfPacGS24", digits(1, 5)), opt("NumOfPieGS25", digits(1, 5)), opt("MarNumOfPacGSL21", anMax(140)), opt("MarNumOfPacGSL21LNG", tLanguage)),
			trader("PRTNOT640", 0, "NamPRTNOT642", "StrNumPRTNOT646", "PstCodPRTNOT644", "CtyPRTNOT643", "CouCodGINOT647", "PRTNOT640LNG", "TINPRTNOT641", false),
		),
		group("ITI", 0, 99, req("CouOfRouCodITI1", tCountry)),
	}
	if !amendment {
		s = append(s, group("CUSOFFLON", 0, 1, req("RefNumCOL1", tOffice)))
	}
	return append(s,
		trader("TRAREP", 0, "NamTRE1", "StrAndNumTRE1", "PosCodTRE1", "CitTRE1", "CouCodTRE1", "TRAREPLNG", "TINTRE1", true),
		trader("PERLODSUMDEC", 1, "NamPLD1", "StrAndNumPLD1", "PosCodPLD1", "CitPLD1", "CouCodPLD1", "PERLODSUMDECLNG", "TINPLD1", true),
		group("SEAID529", 0, 0, req("SeaIdSEAID530", anMax(20)), opt("SeaIdSEAID530LNG", tLanguage)),
		group("CUSOFFFENT730", 1, 1, req("RefNumCUSOFFFENT731", tOffice), req("ExpDatOfArrFIRENT733", tDateTime)),
		group("CUSOFFSENT740", 0, 99, req("RefNumSUBENR909", tOffice)),
		trader("TRACARENT601", 0, "NamTRACARENT604", "StrNumTRACARENT607", "PstCodTRACARENT606", "CtyTRACARENT603", "CouCodTRACARENT605", "TRACARENT601LNG", "TINTRACARENT602", false),
	)
}

// Built once per call would cost allocations on every parse; the schemas
// are immutable after construction, so they are shared.
var (
	schemaCC315A = ics1Schema(false)
	schemaCC313A = ics1Schema(true)
)

// checkSeq validates the children of n against seq, recording every fault:
// missing required elements, unexpected or misplaced ones, too many
// occurrences, text where only elements belong, attributes, and simple type
// violations.
func checkSeq(f *faults, path string, n *xnode, seq []xsdElem) {
	if strings.TrimSpace(n.text.String()) != "" {
		f.add(path, schemaErr("text is not allowed here"))
	}
	counts := make([]int, len(seq))
	i := 0
	for _, k := range n.kids {
		kp := join(path, k.name.Local)
		if k.name.Space != "" {
			f.add(kp, schemaErr("element must not be in a namespace"))
			continue
		}
		j := i
		for j < len(seq) && seq[j].name != k.name.Local {
			j++
		}
		if j == len(seq) {
			if indexOf(seq[:i], k.name.Local) >= 0 {
				f.add(kp, schemaErr("element out of order"))
			} else {
				f.add(kp, schemaErr("unexpected element"))
			}
			continue
		}
		for m := i; m < j; m++ {
			if counts[m] < seq[m].min {
				f.add(join(path, seq[m].name), schemaErr("required element missing"))
			}
		}
		i = j
		e := seq[j]
		counts[j]++
		if e.max > 0 && counts[j] > e.max {
			f.add(kp, schemaErr("more than %d occurrences", e.max))
			continue
		}
		if e.max != 1 {
			kp += "[" + strconv.Itoa(counts[j]-1) + "]"
		}
		checkElem(f, kp, k, e)
	}
	for m := i; m < len(seq); m++ {
		if counts[m] < seq[m].min {
			f.add(join(path, seq[m].name), schemaErr("required element missing"))
		}
	}
}

func checkElem(f *faults, path string, n *xnode, e xsdElem) {
	for _, a := range n.attrs {
		if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
			f.add(path, schemaErr("attributes are not allowed"))
			break
		}
	}
	if e.kids != nil {
		checkSeq(f, path, n, e.kids)
		return
	}
	if len(n.kids) > 0 {
		f.add(path, schemaErr("child elements are not allowed"))
		return
	}
	if err := e.typ(collapseSpace(n.text.String())); err != nil {
		f.add(path, err)
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func indexOf(seq []xsdElem, name string) int {
	for i, e := range seq {
		if e.name == name {
			return i
		}
	}
	return -1
}

// ParseICS1 reads an ICS1 IE315 Entry Summary Declaration (root ie:CC315A)
// or an IE313 amendment (root ie:CC313A) from r. It refuses input beyond
// lim, non-UTF-8 text, control characters, DOCTYPE and entity declarations,
// and returns a *ValidationError listing every schema fault (paths are
// element names joined by dots, repeated elements indexed from 0, the root
// left out, for example "GOOITEGDS[0].UNDanGooCodGDI1"). Identifiers are
// verified later, by Validate.
func ParseICS1(r io.Reader, lim Limits) (*Declaration, error) {
	lim = lim.withDefaults()
	b, err := readInput(r, lim)
	if err != nil {
		return nil, err
	}
	return parseICS1(b, lim)
}

func parseICS1(b []byte, lim Limits) (*Declaration, error) {
	root, err := parseXMLTree(b, lim)
	if err != nil {
		return nil, err
	}
	var seq []xsdElem
	switch root.name.Local {
	case TypeCC315A:
		seq = schemaCC315A
	case TypeCC313A:
		seq = schemaCC313A
	default:
		return nil, fmt.Errorf("ens: %w: root element is not CC315A or CC313A", ErrFormat)
	}
	if root.name.Space != nsICS+root.name.Local {
		return nil, fmt.Errorf("ens: %w: root element is not in namespace %s%s", ErrFormat, nsICS, root.name.Local)
	}
	var f faults
	checkSeq(&f, "", root, seq)
	if err := f.err(); err != nil {
		return nil, err
	}
	return ics1Declaration(root), nil
}

// ics1MeansType gives the type of identification that ICS1's mode of
// transport at the border implies for the identity of the means crossing
// the border.
var ics1MeansType = map[string]string{
	"1": MeansIMO, "2": MeansTrain, "3": MeansRoadVehicle, "4": MeansFlight, "8": MeansENI,
}

// ics1Mode maps ICS1 and HMRC mode codes to CL018. HMRC's schema also
// allows 10 and 11, sea modes in UK usage (unverified); they map to 1.
func ics1Mode(m string) string {
	m = strings.TrimLeft(m, "0")
	if m == "10" || m == "11" {
		return "1"
	}
	return m
}

func parseICS1Time(v string) time.Time {
	t, _ := time.Parse(layoutDateTime, v) // schema-checked already
	return t
}

// ics1Party maps one ICS1 trader element, whose children are named after
// their field (see traderField).
func ics1Party(n *xnode, role Role) Party {
	if n == nil {
		return Party{}
	}
	p := Party{Role: role}
	a := &Address{}
	for _, k := range n.kids {
		val := collapseSpace(k.text.String())
		switch pos := traderField(k.name.Local); pos {
		case 0:
			p.Name = val
		case 1:
			a.Street = val
		case 2:
			a.Postcode = val
		case 3:
			a.City = val
		case 4:
			a.Country = val
		case 6:
			p.ID = val
		}
	}
	if *a != (Address{}) {
		p.Address = a
	}
	return p
}

// traderField tells which field of a trader an element holds, from the
// naming pattern of the ICS1 schemas: 0 name, 1 street, 2 postcode, 3 city,
// 4 country, 5 language, 6 TIN, -1 unknown.
func traderField(name string) int {
	switch {
	case strings.HasPrefix(name, "Nam"):
		return 0
	case strings.HasPrefix(name, "Str") || strings.HasPrefix(name, "Srt"):
		return 1
	case strings.HasPrefix(name, "PosCod") || strings.HasPrefix(name, "PstCod"):
		return 2
	case strings.HasPrefix(name, "Cit") || strings.HasPrefix(name, "Cty"):
		return 3
	case strings.HasPrefix(name, "Cou"):
		return 4
	case strings.HasPrefix(name, "TIN"):
		return 6
	case strings.HasSuffix(name, "LNG") || strings.HasPrefix(name, "NADLNG"):
		return 5
	}
	return -1
}

// ics1Declaration maps a schema-valid CC315A or CC313A tree.
func ics1Declaration(root *xnode) *Declaration {
	d := &Declaration{MessageType: root.name.Local, Amendment: root.name.Local == TypeCC313A}
	h := root.child("HEAHEA")
	if d.Amendment {
		d.MRN = h.value("DocNumHEA5")
		d.IssueDate = parseICS1Time(h.value("DatTimAmeHEA113"))
	} else {
		d.LRN = h.value("RefNumHEA4")
		d.IssueDate = parseICS1Time(h.value("DecDatTimHEA114"))
	}
	d.SpecificCircumstance = h.value("SpeCirIndHEA1")
	d.PlaceOfLoading = h.value("PlaLoaGOOITE334")
	d.PlaceOfUnloading = h.value("PlaUnlGOOITE334")
	if e := root.child("CUSOFFFENT730"); e != nil {
		d.OfficeOfFirstEntry = strings.ToUpper(e.value("RefNumCUSOFFFENT731"))
		d.ExpectedArrival = parseICS1Time(e.value("ExpDatOfArrFIRENT733"))
	}
	mode := ics1Mode(h.value("TraModAtBorHEA76"))
	if id := h.value("IdeOfMeaOfTraCroHEA85"); id != "" {
		d.ActiveMeans = append(d.ActiveMeans, Means{
			TypeOfIdentification: ics1MeansType[mode],
			Identification:       id,
			Nationality:          h.value("NatOfMeaOfTraCroHEA87"),
			Mode:                 mode,
			ConveyanceReference:  h.value("ConRefNumHEA"),
		})
	}
	for _, p := range []struct {
		el   string
		role Role
	}{{"PERLODSUMDEC", RoleDeclarant}, {"TRAREP", RoleRepresentative}, {"TRACARENT601", RoleCarrier}} {
		if n := root.child(p.el); n != nil {
			d.Parties = append(d.Parties, ics1Party(n, p.role))
		}
	}
	c := &d.Consignment
	if ref := h.value("ComRefNumHEA"); ref != "" {
		c.TransportDocument = &Document{Reference: ref}
	}
	c.GrossMass = h.value("TotGroMasHEA307")
	for _, p := range []struct {
		el   string
		role Role
	}{{"TRACONCO1", RoleConsignor}, {"TRACONCE1", RoleConsignee}, {"NOTPAR670", RoleNotifyParty}} {
		if n := root.child(p.el); n != nil {
			c.Parties = append(c.Parties, ics1Party(n, p.role))
		}
	}
	for _, n := range root.all("ITI") {
		c.RoutingCountries = append(c.RoutingCountries, n.value("CouOfRouCodITI1"))
	}
	for _, n := range root.all("SEAID529") {
		c.Seals = append(c.Seals, n.value("SeaIdSEAID530"))
	}
	// Item-level identities of the means crossing the border are, in
	// combined transport, the road vehicles carried (trucks on a ferry).
	passiveType := ""
	if mode == "1" || mode == "3" {
		passiveType = MeansRoadVehicle
	}
	seenBox, seenMeans := map[string]bool{}, map[string]bool{}
	for _, g := range root.all("GOOITEGDS") {
		it := GoodsItem{
			Description: g.value("GooDesGDS23"),
			GrossMass:   g.value("GroMasGDS46"),
			UNNumber:    g.value("UNDanGooCodGDI1"),
		}
		it.ItemNumber, _ = strconv.Atoi(g.value("IteNumGDS7"))
		if cc := g.child("COMCODGODITM"); cc != nil {
			code := cc.value("ComNomCMD1")
			// ICS1 allows 4 to 8 digits: the HS heading (4) or
			// subheading (6), then the CN extension (2).
			if len(code) < 6 {
				it.HSCode = code[:4]
			} else {
				it.HSCode = code[:6]
			}
			if len(code) == 8 {
				it.CNCode = code[6:]
			}
		}
		for _, doc := range g.all("PRODOCDC2") {
			it.Documents = append(it.Documents, Document{Type: doc.value("DocTypDC21"), Reference: doc.value("DocRefDC23")})
		}
		for _, pk := range g.all("PACGS2") {
			n, _ := strconv.Atoi(pk.value("NumOfPacGS24"))
			it.Packaging = append(it.Packaging, Packaging{Type: pk.value("KinOfPacGS23"), Count: n, Marks: pk.value("MarNumOfPacGSL21")})
		}
		for _, p := range []struct {
			el   string
			role Role
		}{{"TRACONCO2", RoleConsignor}, {"TRACONCE2", RoleConsignee}, {"PRTNOT640", RoleNotifyParty}} {
			if n := g.child(p.el); n != nil {
				it.Parties = append(it.Parties, ics1Party(n, p.role))
			}
		}
		for _, box := range g.all("CONNR2") {
			v := box.value("ConNumNR21")
			if k := strings.ToUpper(v); !seenBox[k] {
				seenBox[k] = true
				c.TransportEquipment = append(c.TransportEquipment, Equipment{Container: v})
			}
		}
		for _, m := range g.all("IDEMEATRAGI970") {
			pm := Means{TypeOfIdentification: passiveType, Identification: m.value("IdeMeaTraGIMEATRA971"), Nationality: m.value("NatIDEMEATRAGI973")}
			if k := pm.Nationality + "|" + strings.ToUpper(pm.Identification); !seenMeans[k] {
				seenMeans[k] = true
				c.PassiveMeans = append(c.PassiveMeans, pm)
			}
		}
		c.GoodsItems = append(c.GoodsItems, it)
	}
	return d
}
