package lists

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/borderpost/borderpost/devices/ident"
)

// remarks is what the free-text Remarks field of an OFAC entry reliably
// says, read item by item ("; " separates items).
type remarks struct {
	birthDate     string   // set only when exactly one DOB item is given and it is a plain date
	nationalities []string // ISO alpha-2 of "nationality" and "citizen" items
	sex           string   // "M" or "F" from "Gender Male" / "Gender Female"
	vesselIMO     string   // verified IMO of a "Vessel Registration Identification" item
	companyIMO    []string // "IMO 1234567" of other IMO items (company numbers carry no check digit)
	tailNumber    string   // "Aircraft Tail Number" item, as written
}

var (
	reDOBDay   = regexp.MustCompile(`^(\d{1,2}) ([A-Z][a-z]{2}) (\d{4})$`)
	reDOBMonth = regexp.MustCompile(`^([A-Z][a-z]{2}) (\d{4})$`)
	reDOBYear  = regexp.MustCompile(`^(\d{4})$`)
	reIMO      = regexp.MustCompile(`\bIMO (\d{7})\b`)
	reSevenDig = regexp.MustCompile(`^(\d{7})$`)
)

var months = map[string]int{"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}

// parseRemarks reads the items of an OFAC Remarks field it can read
// reliably and leaves the rest (places of birth, documents, "Linked To",
// weak aliases, digital currency addresses).
func parseRemarks(s string) remarks {
	var r remarks
	var dobs []string
	dobItems := 0
	for _, item := range strings.Split(s, ";") {
		item = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(item), "."))
		item = strings.TrimPrefix(item, "alt. ")
		switch {
		case strings.HasPrefix(item, "DOB "):
			dobItems++
			if d, ok := ofacDate(strings.TrimPrefix(item, "DOB ")); ok {
				dobs = append(dobs, d)
			}
		case strings.HasPrefix(item, "nationality "):
			if c := countryCode(strings.TrimPrefix(item, "nationality ")); c != "" {
				r.nationalities = append(r.nationalities, c)
			}
		case strings.HasPrefix(item, "citizen "):
			if c := countryCode(strings.TrimPrefix(item, "citizen ")); c != "" {
				r.nationalities = append(r.nationalities, c)
			}
		case item == "Gender Male":
			r.sex = "M"
		case item == "Gender Female":
			r.sex = "F"
		case strings.HasPrefix(item, "Aircraft Tail Number "):
			if r.tailNumber == "" {
				r.tailNumber = strings.TrimPrefix(item, "Aircraft Tail Number ")
			}
		case strings.HasPrefix(item, "Vessel Registration Identification "):
			v := strings.TrimPrefix(item, "Vessel Registration Identification ")
			if m := reIMO.FindStringSubmatch(v); m != nil {
				v = m[1]
			} else if !reSevenDig.MatchString(v) {
				continue
			}
			if imo, err := ident.ParseIMO(v); err == nil && r.vesselIMO == "" {
				r.vesselIMO = imo
			}
		case strings.Contains(item, "IMO "):
			if m := reIMO.FindStringSubmatch(item); m != nil {
				r.companyIMO = append(r.companyIMO, "IMO "+m[1])
			}
		}
	}
	// One reliable date and nothing else: with several candidates any one
	// chosen could wrongly rule out a true hit, so none is kept.
	if dobItems == 1 && len(dobs) == 1 {
		r.birthDate = dobs[0]
	}
	r.nationalities = cleanList(r.nationalities)
	r.companyIMO = cleanList(r.companyIMO)
	if r.vesselIMO == "" {
		// A vessel may give its number as "Identification Number IMO ...":
		// taken only when the ship check digit holds.
		for _, c := range r.companyIMO {
			if imo, err := ident.ParseIMO(c); err == nil {
				r.vesselIMO = imo
				break
			}
		}
	}
	return r
}

// ofacDate reads "02 Jan 1962", "Jan 1962" or "1962" as YYYY-MM-DD,
// YYYY-MM or YYYY. Ranges ("1960 to 1962") and approximations ("circa
// 1962") are not dates and give false.
func ofacDate(s string) (string, bool) {
	if m := reDOBDay.FindStringSubmatch(s); m != nil {
		mo, ok := months[m[2]]
		var day int
		fmt.Sscanf(m[1], "%d", &day)
		if !ok || day < 1 || day > 31 {
			return "", false
		}
		return fmt.Sprintf("%s-%02d-%02d", m[3], mo, day), true
	}
	if m := reDOBMonth.FindStringSubmatch(s); m != nil {
		mo, ok := months[m[1]]
		if !ok {
			return "", false
		}
		return fmt.Sprintf("%s-%02d", m[2], mo), true
	}
	if reDOBYear.MatchString(s) {
		return s, true
	}
	return "", false
}
