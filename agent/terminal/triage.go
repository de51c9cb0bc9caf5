package terminal

import (
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/borderpost/borderpost/store"
)

// Ranks order the live list by what the officer must do, most urgent
// first. An urgent hit (rank 0) stays pinned at the top until it has an
// outcome.
const (
	rankArrest = iota // arrest, or any hit whose alert warns "armed" or "violent"
	rankStop          // refuse entry, seize
	rankCheck         // discreet or specific check, inquiry
	rankInform        // inform, report, anything else
)

// FoldWindow is how long repeated reads of one value against one alert
// fold into a single card with a count.
const FoldWindow = 15 * time.Minute

// triage returns the hit's rank and the kind of action, for styling:
// arrest, refuse, seize, check or inform. It reads the alert's category,
// action and warnings in plain words, since alerts from different sources
// name their categories differently.
func (h *Hit) triage() (rank int, action string) {
	text := strings.ToLower(h.Category + " " + h.Action)
	danger := false
	for _, w := range h.Warnings {
		lw := strings.ToLower(w)
		if strings.Contains(lw, "armed") || strings.Contains(lw, "violen") {
			danger = true
		}
	}
	switch {
	case strings.Contains(text, "arrest"):
		return rankArrest, "arrest"
	case strings.Contains(text, "refus"):
		action = "refuse"
		rank = rankStop
	case strings.Contains(text, "seiz"):
		action = "seize"
		rank = rankStop
	case strings.Contains(text, "check") || strings.Contains(text, "discreet") || strings.Contains(text, "inquiry"):
		action = "check"
		rank = rankCheck
	default:
		action = "inform"
		rank = rankInform
	}
	if danger {
		rank = rankArrest
	}
	return rank, action
}

// confidence says in words how sure the match is: exact (the value as
// read, or only spacing and punctuation differ), close (an OCR correction,
// or a name scored 0.9 or more), possible (anything weaker).
func (h *Hit) confidence() string {
	switch {
	case h.Match == "exact" || h.Match == "normalised" || h.Score >= 0.99:
		return "exact"
	case h.Match == "derived" || h.Score >= 0.9:
		return "close"
	}
	return "possible"
}

// readView is what the device or officer read, as the officer sees it.
type readView struct {
	What    string `json:"what"` // Plate, Container, Name, Document, ...
	Value   string `json:"value"`
	Country string `json:"country,omitempty"`
}

// subjectRow is one fact of the alert's subject beside what was read; Agree
// is "agrees", "differs" or empty when nothing was read to compare.
type subjectRow struct {
	Label string `json:"label"`
	Alert string `json:"alert"`
	Read  string `json:"read,omitempty"`
	Agree string `json:"agree,omitempty"`
}

// subjectView describes the alert's subject in the officer's words.
type subjectView struct {
	Title string       `json:"title"` // "Vehicle sought", "Person sought", ...
	Rows  []subjectRow `json:"rows"`
}

var readWhat = map[string]string{
	"plate": "Plate", "container": "Container", "person": "Name", "document": "Document",
	"eori": "EORI number", "company": "Company", "vin": "Vehicle identification number",
	"firearm": "Firearm serial", "phone": "Phone", "email": "E-mail", "vessel": "Vessel (IMO)", "aircraft": "Aircraft",
}

func (h *Hit) read() readView {
	v := h.Raw
	if v == "" || strings.Contains(v, "\n") || strings.Contains(v, "<") { // a machine-readable zone: its fillers are not what the officer compares
		v = h.Value
	}
	what := readWhat[h.ItemKind]
	if what == "" {
		what = strings.ToUpper(h.ItemKind[:min(1, len(h.ItemKind))]) + h.ItemKind[min(1, len(h.ItemKind)):]
	}
	return readView{What: what, Value: v, Country: h.Country}
}

// squash reduces an identifier to its letters and digits in upper case,
// so "B-AB 123" and "BAB123" compare equal.
func squash(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

// compare returns "agrees" or "differs", or "" when either side is empty.
func compare(alert, read string) string {
	if alert == "" || read == "" {
		return ""
	}
	if squash(alert) == squash(read) {
		return "agrees"
	}
	return "differs"
}

// effectWord maps the name engine's evidence effect to agrees or differs.
func effectWord(e string) string {
	switch {
	case strings.Contains(e, "conflict"):
		return "differs"
	case strings.Contains(e, "agree"):
		return "agrees"
	case e != "":
		return "differs"
	}
	return ""
}

// subject describes the alert's subject beside what was read. It returns
// nil when the agent could not read the alert.
func (h *Hit) subject() *subjectView {
	s := h.Subject
	if s == nil {
		return nil
	}
	rd := h.read()
	var v subjectView
	row := func(label, alert, read, agree string) {
		if alert == "" && read == "" {
			return
		}
		v.Rows = append(v.Rows, subjectRow{Label: label, Alert: alert, Read: read, Agree: agree})
	}
	switch {
	case s.Vehicle != nil:
		x := s.Vehicle
		v.Title = "Vehicle sought"
		if h.ItemKind == "vin" {
			row("Vehicle identification number", x.VIN, rd.Value, compare(x.VIN, h.Value))
			row("Plate", x.Plate, "", "")
		} else {
			row("Plate", x.Plate, rd.Value, compare(x.Plate, h.Value))
			if x.VIN != "" {
				row("Vehicle identification number", x.VIN, "", "")
			}
		}
		row("Country", x.PlateCountry, h.Country, compare(x.PlateCountry, h.Country))
		row("Make", x.Make, "", "")
		row("Model", x.Model, "", "")
		row("Colour", x.Colour, "", "")
	case s.Person != nil:
		x := s.Person
		v.Title = "Person sought"
		name := strings.TrimSpace(strings.ToUpper(x.Surname) + ", " + x.Forenames)
		name = strings.TrimSuffix(name, ",")
		row("Name", name, rd.Value, nameAgreement(x, rd.Value))
		if len(x.Aliases) > 0 {
			row("Also known as", strings.Join(x.Aliases, "; "), "", "")
		}
		ev := map[string]NameFactRow{}
		if h.Name != nil {
			for _, e := range h.Name.Evidence {
				ev[e.Field] = e
			}
		}
		row("Birth date", x.BirthDate, ev["birth_date"].Query, effectWord(ev["birth_date"].Effect))
		row("Sex", sexWord(x.Sex), sexWord(ev["sex"].Query), effectWord(ev["sex"].Effect))
		row("Nationality", strings.Join(x.Nationalities, ", "), ev["nationality"].Query, effectWord(ev["nationality"].Effect))
	case s.Document != nil:
		x := s.Document
		v.Title = "Document sought"
		row("Type", words(x.Type), "", "")
		row("Number", x.Number, rd.Value, compare(x.Number, h.Value))
		row("Issuing state", x.Country, h.Country, compare(x.Country, h.Country))
	case s.Container != nil:
		v.Title = "Container sought"
		row("Number", s.Container.Number, rd.Value, compare(s.Container.Number, h.Value))
	case s.Company != nil:
		x := s.Company
		v.Title = "Company sought"
		read := ""
		if h.ItemKind != "eori" {
			read = rd.Value
		}
		row("Name", x.Name, read, "")
		eori := ""
		if h.ItemKind == "eori" {
			eori = rd.Value
		}
		row("EORI number", x.EORI, eori, compare(x.EORI, eori))
		row("Country", x.Country, "", "")
	case s.Firearm != nil:
		v.Title = "Firearm sought"
		row("Serial number", s.Firearm.Serial, rd.Value, compare(s.Firearm.Serial, h.Value))
		row("Make", s.Firearm.Make, "", "")
	case s.Vessel != nil:
		v.Title = "Vessel sought"
		row("IMO number", s.Vessel.IMO, rd.Value, compare(s.Vessel.IMO, h.Value))
		row("Name", s.Vessel.Name, "", "")
	case s.Aircraft != nil:
		v.Title = "Aircraft sought"
		row("Registration", s.Aircraft.Registration, rd.Value, compare(s.Aircraft.Registration, h.Value))
	case s.Phone != "":
		v.Title = "Phone sought"
		row("Number", s.Phone, rd.Value, compare(s.Phone, h.Value))
	case s.Email != "":
		v.Title = "E-mail address sought"
		row("Address", s.Email, rd.Value, compare(s.Email, h.Value))
	default:
		return nil
	}
	return &v
}

// nameAgreement is "agrees" when the name read holds the same words as
// the alert's name (in any order and case), "similar" otherwise: the
// matcher found it close enough to hit.
func nameAgreement(p *store.Person, read string) string {
	if read == "" {
		return ""
	}
	words := func(s string) []string {
		f := strings.FieldsFunc(strings.ToUpper(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		slices.Sort(f)
		return f
	}
	if slices.Equal(words(p.Forenames+" "+p.Surname), words(read)) {
		return "agrees"
	}
	return "similar"
}

func sexWord(s string) string {
	switch strings.ToUpper(s) {
	case "M":
		return "male"
	case "F":
		return "female"
	}
	return strings.ToLower(s)
}

// words turns "id-card" or "false_match" into "id card", "false match".
func words(s string) string {
	return strings.NewReplacer("_", " ", "-", " ").Replace(s)
}
