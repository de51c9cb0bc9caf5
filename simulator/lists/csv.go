package lists

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/borderpost/borderpost/devices/ident"
	"github.com/borderpost/borderpost/store"
)

// csvColumns is the header the national CSV form must start with, in this
// order (README.md, "National CSV").
var csvColumns = [...]string{"id", "kind", "name", "aliases", "birth_date", "nationality",
	"plate", "plate_country", "container", "document", "document_country", "eori",
	"action", "category", "purposes", "expires"}

// Column positions in csvColumns.
const (
	colID = iota
	colKind
	colName
	colAliases
	colBirthDate
	colNationality
	colPlate
	colPlateCountry
	colContainer
	colDocument
	colDocumentCountry
	colEORI
	colAction
	colCategory
	colPurposes
	colExpires
	csvWidth
)

// csvKindColumns lists, per kind, the subject columns it may fill; a
// subject column filled for another kind is an error, since it usually
// means the columns are shifted.
var csvKindColumns = map[store.SubjectKind][]int{
	store.SubjectPerson:    {colName, colAliases, colBirthDate, colNationality},
	store.SubjectCompany:   {colName, colAliases, colNationality, colEORI},
	store.SubjectVehicle:   {colPlate, colPlateCountry},
	store.SubjectContainer: {colContainer},
	store.SubjectDocument:  {colDocument, colDocumentCountry},
}

var (
	reCSVID   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$`)
	reBirth   = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2})?)?$`)
	csvSubCol = []int{colName, colAliases, colBirthDate, colNationality, colPlate, colPlateCountry,
		colContainer, colDocument, colDocumentCountry, colEORI}
)

// ParseCSV reads the national CSV form (README.md): a header row naming
// the columns in csvColumns order, then one alert per row with source
// "NATIONAL" and a content version. Identifiers are verified with
// devices/ident (check digits, countries, EORI); a row that fails, a
// repeated id, a wrong header or field count is an error naming the line
// and column, never the value. Empty purposes take opt's purposes.
func ParseCSV(r io.Reader, opt Options) ([]store.Alert, error) {
	cr := csv.NewReader(&sizeGuard{r: r, limit: maxListFile})
	cr.FieldsPerRecord = csvWidth
	head, err := cr.Read()
	if err != nil {
		return nil, csvErr(err, 1)
	}
	for i, h := range head {
		if strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) != csvColumns[i] {
			return nil, fmt.Errorf("csv: line 1: %w: column %d must be %q", ErrCSVFormat, i+1, csvColumns[i])
		}
	}
	var out []store.Alert
	seen := map[string]bool{}
	for {
		f, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, csvErr(err, 0)
		}
		line, _ := cr.FieldPos(0)
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		a, col, err := csvAlert(f, opt)
		if err != nil {
			return nil, fmt.Errorf("csv: line %d column %s: %w: %w", line, csvColumns[col], ErrCSVFormat, err)
		}
		if seen[a.ID] {
			return nil, fmt.Errorf("csv: line %d column id: %w: id repeated", line, ErrCSVFormat)
		}
		seen[a.ID] = true
		out = append(out, a)
	}
}

// csvErr wraps a reading error; csv.ParseError names the line and column
// itself and quotes no field content.
func csvErr(err error, line int) error {
	if errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("csv: %w", err)
	}
	if line > 0 {
		return fmt.Errorf("csv: line %d: %w: %w", line, ErrCSVFormat, err)
	}
	return fmt.Errorf("csv: %w: %w", ErrCSVFormat, err)
}

// errField is the detail of a field that failed; the column is reported
// beside it.
var errField = errors.New("invalid value")

// csvAlert maps one row; on error it returns the column at fault.
func csvAlert(f []string, opt Options) (store.Alert, int, error) {
	if !reCSVID.MatchString(f[colID]) {
		return store.Alert{}, colID, fmt.Errorf("%w: 1 to 128 letters, digits and . _ : / -, starting with a letter or digit", errField)
	}
	kind := store.SubjectKind(strings.ToLower(f[colKind]))
	allowed, ok := csvKindColumns[kind]
	if !ok {
		return store.Alert{}, colKind, fmt.Errorf("%w: want person, company, vehicle, container or document", errField)
	}
	for _, c := range csvSubCol {
		if f[c] != "" && !contains(allowed, c) {
			return store.Alert{}, c, fmt.Errorf("%w: not used for kind %s", errField, kind)
		}
	}
	if f[colAction] == "" {
		return store.Alert{}, colAction, fmt.Errorf("%w: the action to be taken is required", errField)
	}
	a := store.Alert{ID: f[colID], Source: "NATIONAL", Action: f[colAction], Category: f[colCategory]}
	a.Purposes = cleanList(strings.Split(f[colPurposes], ";"))
	if a.Purposes == nil {
		a.Purposes = opt.purposes()
	}
	if f[colExpires] != "" {
		t, err := time.Parse(time.RFC3339, f[colExpires])
		if err != nil {
			t, err = time.Parse(time.DateOnly, f[colExpires])
		}
		if err != nil {
			return store.Alert{}, colExpires, fmt.Errorf("%w: want RFC 3339 or YYYY-MM-DD", errField)
		}
		a.Expires = t.UTC()
	}
	aliases := cleanList(strings.Split(f[colAliases], ";"))
	var countries []string
	for _, c := range strings.Split(f[colNationality], ";") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		cc, err := ident.ParseCountry(c)
		if err != nil {
			return store.Alert{}, colNationality, err
		}
		countries = append(countries, cc)
	}
	countries = cleanList(countries)
	a.Subject.Kind = kind
	switch kind {
	case store.SubjectPerson:
		sur, fore := splitOFACName(f[colName])
		if sur == "" {
			return store.Alert{}, colName, fmt.Errorf("%w: a person needs a surname (SURNAME, Forenames)", errField)
		}
		if b := f[colBirthDate]; b != "" && !validBirthDate(b) {
			return store.Alert{}, colBirthDate, fmt.Errorf("%w: want YYYY, YYYY-MM or YYYY-MM-DD", errField)
		}
		a.Subject.Person = &store.Person{Surname: sur, Forenames: fore, Aliases: aliases,
			BirthDate: f[colBirthDate], Nationalities: countries}
	case store.SubjectCompany:
		name := joinNonEmpty(" ", f[colName])
		if name == "" {
			return store.Alert{}, colName, fmt.Errorf("%w: a company needs a name", errField)
		}
		if len(countries) > 1 {
			return store.Alert{}, colNationality, fmt.Errorf("%w: a company has one country", errField)
		}
		c := &store.Company{Name: name, Aliases: cleanList(aliases, name)}
		if len(countries) == 1 {
			c.Country = countries[0]
		}
		if f[colEORI] != "" {
			e, err := ident.ParseEORI(f[colEORI])
			if err != nil {
				return store.Alert{}, colEORI, err
			}
			c.EORI = e
		}
		a.Subject.Company = c
	case store.SubjectVehicle:
		if f[colPlate] == "" || f[colPlateCountry] == "" {
			return store.Alert{}, colPlate, fmt.Errorf("%w: a vehicle needs plate and plate_country", errField)
		}
		iso, plate, err := ident.NormalizePlate(f[colPlateCountry], f[colPlate])
		if err != nil {
			return store.Alert{}, colPlate, err
		}
		a.Subject.Vehicle = &store.Vehicle{Plate: plate, PlateCountry: iso}
	case store.SubjectContainer:
		n, err := ident.ParseContainer(f[colContainer])
		if err != nil {
			return store.Alert{}, colContainer, err
		}
		a.Subject.Container = &store.Container{Number: n}
	case store.SubjectDocument:
		n, err := ident.NormalizeSimple(f[colDocument])
		if err != nil {
			return store.Alert{}, colDocument, err
		}
		d := &store.Document{Number: n}
		if f[colDocumentCountry] != "" {
			if d.Country, err = ident.ParseCountry(f[colDocumentCountry]); err != nil {
				return store.Alert{}, colDocumentCountry, err
			}
		}
		a.Subject.Document = d
	}
	a.Version = contentVersion(a)
	if err := a.Validate(); err != nil {
		return store.Alert{}, colKind, err
	}
	return a, 0, nil
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// validBirthDate accepts YYYY, YYYY-MM and YYYY-MM-DD naming a real date.
func validBirthDate(s string) bool {
	if !reBirth.MatchString(s) {
		return false
	}
	layout := map[int]string{4: "2006", 7: "2006-01", 10: time.DateOnly}[len(s)]
	_, err := time.Parse(layout, s)
	return err == nil
}
