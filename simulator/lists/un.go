package lists

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/borderpost/borderpost/store"
)

// maxXMLDepth bounds element nesting; the real UN file is 5 levels deep.
const maxXMLDepth = 32

// unRecord is one INDIVIDUAL or ENTITY of the UN consolidated list.
type unRecord struct {
	First          string    `xml:"FIRST_NAME"`
	Second         string    `xml:"SECOND_NAME"`
	Third          string    `xml:"THIRD_NAME"`
	Fourth         string    `xml:"FOURTH_NAME"`
	ListType       string    `xml:"UN_LIST_TYPE"`
	Ref            string    `xml:"REFERENCE_NUMBER"`
	ListedOn       string    `xml:"LISTED_ON"`
	Gender         string    `xml:"GENDER"`
	OriginalScript string    `xml:"NAME_ORIGINAL_SCRIPT"`
	Nationality    []string  `xml:"NATIONALITY>VALUE"`
	IndAliases     []unAlias `xml:"INDIVIDUAL_ALIAS"`
	EntAliases     []unAlias `xml:"ENTITY_ALIAS"`
	DOB            []unDOB   `xml:"INDIVIDUAL_DATE_OF_BIRTH"`
	EntAddr        []unAddr  `xml:"ENTITY_ADDRESS"`
}

type unAlias struct {
	Quality string `xml:"QUALITY"`
	Name    string `xml:"ALIAS_NAME"`
}

type unDOB struct {
	Type string `xml:"TYPE_OF_DATE"`
	Date string `xml:"DATE"`
	Year string `xml:"YEAR"`
	From string `xml:"FROM_YEAR"`
	To   string `xml:"TO_YEAR"`
}

type unAddr struct {
	Street  string `xml:"STREET"`
	City    string `xml:"CITY"`
	State   string `xml:"STATE_PROVINCE"`
	Country string `xml:"COUNTRY"`
}

// guardedTokens passes the raw tokens of an XML document on, refusing any
// directive (DOCTYPE, ENTITY) and nesting deeper than maxXMLDepth before
// the decoder above it sees them.
type guardedTokens struct {
	d     *xml.Decoder
	depth int
}

func (g *guardedTokens) Token() (xml.Token, error) {
	t, err := g.d.RawToken()
	if err != nil {
		return nil, err
	}
	switch t.(type) {
	case xml.Directive:
		return nil, fmt.Errorf("%w: DOCTYPE or ENTITY declaration", ErrXMLUnsafe)
	case xml.StartElement:
		g.depth++
		if g.depth > maxXMLDepth {
			return nil, fmt.Errorf("%w: nested deeper than %d elements", ErrXMLUnsafe, maxXMLDepth)
		}
	case xml.EndElement:
		g.depth--
	}
	// RawToken's bytes live in the parser's buffer until the next call.
	return xml.CopyToken(t), nil
}

// sizeGuard fails reads once more than limit bytes have been read.
type sizeGuard struct {
	r     io.Reader
	limit int64
}

func (s *sizeGuard) Read(p []byte) (int, error) {
	if s.limit < 0 {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxListFile)
	}
	n, err := s.r.Read(p)
	s.limit -= int64(n)
	if s.limit < 0 {
		return n, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxListFile)
	}
	return n, err
}

// ParseUN returns one alert per INDIVIDUAL and ENTITY of the UN Security
// Council consolidated list XML, in document order, with ID "UN-<reference
// number>", source "UN", action "inform", category "sanctions:UN-<list
// type>" and a content version (README.md gives the whole mapping). The
// input must be UTF-8 without DOCTYPE or entity declarations, at most 64
// MiB and 32 elements deep; anything else, a record without a reference
// number or a repeated reference is an error.
func ParseUN(r io.Reader, opt Options) ([]store.Alert, error) {
	raw := xml.NewDecoder(&sizeGuard{r: r, limit: maxListFile})
	raw.Strict = true
	dec := xml.NewTokenDecoder(&guardedTokens{d: raw})
	var out []store.Alert
	seen := map[string]bool{}
	root := false
	for {
		t, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, unErr(err, len(out))
		}
		se, ok := t.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "CONSOLIDATED_LIST":
			root = true
		case "INDIVIDUAL", "ENTITY":
			var rec unRecord
			if err := dec.DecodeElement(&rec, &se); err != nil {
				return nil, unErr(err, len(out))
			}
			ref := strings.TrimSpace(rec.Ref)
			if ref == "" {
				return nil, fmt.Errorf("un: record %d: %w: no REFERENCE_NUMBER", len(out)+1, ErrUNFormat)
			}
			if seen[ref] {
				return nil, fmt.Errorf("un: record %d: %w: reference number repeated", len(out)+1, ErrUNFormat)
			}
			seen[ref] = true
			a := unAlert(ref, &rec, se.Name.Local == "INDIVIDUAL", opt)
			if err := a.Validate(); err != nil {
				return nil, fmt.Errorf("un: record %d: %w", len(out)+1, err)
			}
			out = append(out, a)
		}
	}
	if !root {
		return nil, fmt.Errorf("un: %w: no CONSOLIDATED_LIST root element", ErrUNFormat)
	}
	return out, nil
}

// unErr wraps a decoding error: limits keep their own sentinel, the rest
// is a format error.
func unErr(err error, done int) error {
	if errors.Is(err, ErrXMLUnsafe) || errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("un: after record %d: %w", done, err)
	}
	return fmt.Errorf("un: after record %d: %w: %w", done, ErrUNFormat, err)
}

// unAlert maps one UN record to an alert.
func unAlert(ref string, rec *unRecord, individual bool, opt Options) store.Alert {
	listType := strings.TrimSpace(rec.ListType)
	a := store.Alert{
		ID:         "UN-" + ref,
		Source:     "UN",
		Category:   "sanctions:UN-" + listType,
		Action:     "inform",
		LegalBasis: "UN Security Council consolidated sanctions list, " + listType,
		Authority:  "UN Security Council",
		Purposes:   opt.purposes(),
	}
	if t, err := time.Parse(time.DateOnly, strings.TrimSpace(rec.ListedOn)); err == nil {
		a.Issued = t
	}
	var aliases []string
	for _, al := range append(rec.IndAliases, rec.EntAliases...) {
		// "Low" quality aliases are the UN's weak aliases: left out, as
		// OFAC's are, since they match far too widely to screen on.
		if strings.EqualFold(strings.TrimSpace(al.Quality), "Low") {
			continue
		}
		aliases = append(aliases, al.Name)
	}
	aliases = append(aliases, rec.OriginalScript)
	if !individual {
		name := joinNonEmpty(" ", rec.First, rec.Second, rec.Third, rec.Fourth)
		c := &store.Company{Name: name, Aliases: cleanList(aliases, name)}
		for _, ad := range rec.EntAddr {
			if cc := countryCode(ad.Country); cc != "" {
				c.Country = cc
				c.Address = joinNonEmpty(", ", ad.Street, ad.City, ad.State)
				break
			}
		}
		a.Subject = store.Subject{Kind: store.SubjectCompany, Company: c}
		a.Version = contentVersion(a)
		return a
	}
	// The UN does not mark the family name: FIRST_NAME is the given name
	// and the later parts form the surname, as the list sorts them.
	sur := joinNonEmpty(" ", rec.Second, rec.Third, rec.Fourth)
	fore := joinNonEmpty(" ", rec.First)
	if sur == "" {
		sur, fore = fore, ""
	}
	p := &store.Person{Surname: sur, Forenames: fore,
		Aliases: cleanList(aliases, joinNonEmpty(" ", fore, sur))}
	switch strings.ToLower(strings.TrimSpace(rec.Gender)) {
	case "male":
		p.Sex = "M"
	case "female":
		p.Sex = "F"
	}
	var nat []string
	for _, n := range rec.Nationality {
		if cc := countryCode(n); cc != "" {
			nat = append(nat, cc)
		}
	}
	p.Nationalities = cleanList(nat)
	p.BirthDate = unBirthDate(rec.DOB)
	a.Subject = store.Subject{Kind: store.SubjectPerson, Person: p}
	a.Version = contentVersion(a)
	return a
}

// unBirthDate returns the birth date when exactly one is given and it is
// exact (a full date or a year); approximate dates and ranges are left out.
func unBirthDate(dobs []unDOB) string {
	var given []unDOB
	for _, d := range dobs {
		if strings.TrimSpace(d.Date+d.Year+d.From+d.To) != "" {
			given = append(given, d)
		}
	}
	if len(given) != 1 || !strings.EqualFold(strings.TrimSpace(given[0].Type), "EXACT") {
		return ""
	}
	d := given[0]
	if t, err := time.Parse(time.DateOnly, strings.TrimSpace(d.Date)); err == nil && strings.TrimSpace(d.Year) == "" {
		return t.Format(time.DateOnly)
	}
	if y := strings.TrimSpace(d.Year); len(y) == 4 && strings.TrimSpace(d.Date) == "" {
		if _, err := time.Parse("2006", y); err == nil {
			return y
		}
	}
	return ""
}
