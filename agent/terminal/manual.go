package terminal

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
)

// manualQuery is a manual check as the page sends it. Value is the name,
// plate, container, document or EORI number as the officer typed it.
type manualQuery struct {
	Kind        string `json:"kind"` // person, plate, container, document, eori
	Value       string `json:"value"`
	Country     string `json:"country,omitempty"`     // plate country (required) or document issuing state
	BirthDate   string `json:"birth_date,omitempty"`  // person: YYYY, YYYY-MM or YYYY-MM-DD
	Nationality string `json:"nationality,omitempty"` // person: ISO 3166-1 alpha-2 or alpha-3
}

// Bounds on what an officer may type.
const (
	maxManualValue = 200 // bytes, before normalisation
	minNameLetters = 2
)

// item validates q and builds the Item the matcher looks up, normalised the
// way devices normalise the same kind. Errors name the field, never its value.
func (q manualQuery) item() (devices.Item, error) {
	if len(q.Value) > maxManualValue || len(q.Country) > 8 || len(q.BirthDate) > 10 || len(q.Nationality) > 8 {
		return devices.Item{}, fmt.Errorf("%w: a field is too long", ErrInput)
	}
	raw := strings.TrimSpace(q.Value)
	switch devices.Kind(q.Kind) {
	case devices.KindPerson:
		return personItem(raw, q.BirthDate, q.Nationality)
	case devices.KindPlate:
		if strings.TrimSpace(q.Country) == "" {
			return devices.Item{}, fmt.Errorf("%w: a plate needs its country", ErrInput)
		}
		iso, v, err := ident.NormalizePlate(q.Country, raw)
		if err != nil {
			return devices.Item{}, fmt.Errorf("%w: %w", ErrInput, err)
		}
		return devices.Item{Field: "manual.plate", Kind: devices.KindPlate, Value: v, Raw: raw, Country: iso}, nil
	case devices.KindContainer:
		v, err := ident.ParseContainer(raw)
		if err != nil {
			return devices.Item{}, fmt.Errorf("%w: %w", ErrInput, err)
		}
		return devices.Item{Field: "manual.container", Kind: devices.KindContainer, Value: v, Raw: raw}, nil
	case devices.KindDocument:
		v, err := ident.NormalizeSimple(raw)
		if err != nil {
			return devices.Item{}, fmt.Errorf("%w: document: %w", ErrInput, err)
		}
		it := devices.Item{Field: "manual.document", Kind: devices.KindDocument, Value: v, Raw: raw}
		if c := strings.TrimSpace(q.Country); c != "" {
			if it.Country, err = ident.ParseCountry(c); err != nil {
				return devices.Item{}, fmt.Errorf("%w: issuing state: %w", ErrInput, err)
			}
		}
		return it, nil
	case devices.KindEORI:
		v, err := ident.ParseEORI(strings.ToUpper(raw))
		if err != nil {
			return devices.Item{}, fmt.Errorf("%w: %w", ErrInput, err)
		}
		return devices.Item{Field: "manual.eori", Kind: devices.KindEORI, Value: v, Raw: raw}, nil
	}
	return devices.Item{}, fmt.Errorf("%w: kind must be person, plate, container, document or eori", ErrInput)
}

// personItem checks a typed name: valid UTF-8, no control characters, at
// least two letters; runs of spaces become one. The matcher does the rest
// of the normalisation (case, diacritics, transliteration).
func personItem(raw, birth, nat string) (devices.Item, error) {
	if !utf8.ValidString(raw) {
		return devices.Item{}, fmt.Errorf("%w: name is not valid UTF-8", ErrInput)
	}
	letters := 0
	for _, r := range raw {
		switch {
		case unicode.IsLetter(r):
			letters++
		case unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Cf, r):
			return devices.Item{}, fmt.Errorf("%w: name holds a control character", ErrInput)
		}
	}
	if letters < minNameLetters {
		return devices.Item{}, fmt.Errorf("%w: name needs at least %d letters", ErrInput, minNameLetters)
	}
	it := devices.Item{Field: "manual.name", Kind: devices.KindPerson, Value: strings.Join(strings.Fields(raw), " "), Raw: raw}
	if b := strings.TrimSpace(birth); b != "" {
		if err := checkBirthDate(b); err != nil {
			return devices.Item{}, err
		}
		it.BirthDate = b
	}
	if n := strings.TrimSpace(nat); n != "" {
		iso, err := ident.ParseCountry(n)
		if err != nil {
			return devices.Item{}, fmt.Errorf("%w: nationality: %w", ErrInput, err)
		}
		it.Nationality = iso
	}
	return it, nil
}

// checkBirthDate accepts YYYY, YYYY-MM or YYYY-MM-DD for a real date from
// 1900 up to today's year.
func checkBirthDate(s string) error {
	var layout string
	switch len(s) {
	case 4:
		layout = "2006"
	case 7:
		layout = "2006-01"
	case 10:
		layout = "2006-01-02"
	default:
		return fmt.Errorf("%w: birth date must be YYYY, YYYY-MM or YYYY-MM-DD", ErrInput)
	}
	t, err := time.Parse(layout, s)
	if err != nil || t.Format(layout) != s {
		return fmt.Errorf("%w: birth date must be YYYY, YYYY-MM or YYYY-MM-DD", ErrInput)
	}
	if t.Year() < 1900 || t.Year() > time.Now().Year() {
		return fmt.Errorf("%w: birth year out of range", ErrInput)
	}
	return nil
}
