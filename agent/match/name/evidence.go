package name

import (
	"fmt"
	"strconv"
	"strings"
)

// birthDate is a possibly partial date of birth; zero parts are unknown.
type birthDate struct {
	year, month, day int
}

// parseBirthDate reads "YYYY", "YYYY-MM" or "YYYY-MM-DD"; anything else
// is treated as unknown, never as a mismatch.
func parseBirthDate(s string) birthDate {
	s = strings.TrimSpace(s)
	parts := strings.Split(s, "-")
	if len(parts) == 0 || len(parts) > 3 || len(parts[0]) != 4 {
		return birthDate{}
	}
	var d birthDate
	var err error
	if d.year, err = strconv.Atoi(parts[0]); err != nil || d.year < 1800 || d.year > 2200 {
		return birthDate{}
	}
	if len(parts) > 1 {
		if d.month, err = strconv.Atoi(parts[1]); err != nil || d.month < 1 || d.month > 12 {
			return birthDate{year: d.year}
		}
	}
	if len(parts) > 2 {
		if d.day, err = strconv.Atoi(parts[2]); err != nil || d.day < 1 || d.day > 31 {
			return birthDate{year: d.year, month: d.month}
		}
	}
	return d
}

func (d birthDate) String() string {
	switch {
	case d.year == 0:
		return ""
	case d.month == 0:
		return fmt.Sprintf("%04d", d.year)
	case d.day == 0:
		return fmt.Sprintf("%04d-%02d", d.year, d.month)
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.year, d.month, d.day)
}

func normCountries(cs []string) []string {
	var out []string
	for _, c := range cs {
		if c = strings.ToUpper(strings.TrimSpace(c)); c != "" {
			out = append(out, c)
		}
	}
	return out
}

func normSex(s string) byte {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return 0
	}
	switch s[0] {
	case 'M', 'F':
		return s[0]
	}
	return 0
}

// Evidence is one piece of non-name evidence weighed into a match.
type Evidence struct {
	Field  string  // "birth_date", "nationality" or "sex"
	Query  string  // the query's value
	Alert  string  // the alert's value
	Effect string  // "agrees", "partly agrees", "conflicts"
	Factor float64 // what it multiplies the score by
	Bonus  float64 // what it adds to the score
}

// Evidence weights. A name alone scores at most noEvidenceCeiling, so that
// an agreeing date of birth can lift a perfect name above the same name
// without one; conflicts multiply the score down.
const (
	noEvidenceCeiling = 0.95
	bonusFullDate     = 0.05
	bonusYearMonth    = 0.04
	bonusYear         = 0.03
	bonusNationality  = 0.01
	factorDateClash   = 0.75
	factorYearNear    = 0.92 // years one apart: a common recording error
	factorMonthClash  = 0.9
	factorNatClash    = 0.95
	factorSexClash    = 0.8
)

// weighEvidence compares the query's date of birth, nationality and sex
// with the entry's. Unknown values on either side are no evidence.
func weighEvidence(q queryEvidence, rec *entryRecord, out []Evidence) []Evidence {
	e := rec.evidence()
	if q.birth.year != 0 && e.birth.year != 0 {
		ev := Evidence{Field: "birth_date", Query: q.birth.String(), Alert: e.birth.String(), Factor: 1}
		switch dy := abs(q.birth.year - e.birth.year); {
		case dy == 1:
			ev.Effect, ev.Factor = "year one apart", factorYearNear
		case dy > 1:
			ev.Effect, ev.Factor = "conflicts", factorDateClash
		case q.birth.month != 0 && e.birth.month != 0 && q.birth.month != e.birth.month:
			ev.Effect, ev.Factor = "month conflicts", factorMonthClash
		case q.birth.day != 0 && e.birth.day != 0 && q.birth.day != e.birth.day:
			ev.Effect, ev.Factor = "day conflicts", factorMonthClash
		case q.birth.day != 0 && e.birth.day != 0:
			ev.Effect, ev.Bonus = "agrees", bonusFullDate
		case q.birth.month != 0 && e.birth.month != 0:
			ev.Effect, ev.Bonus = "agrees to the month", bonusYearMonth
		default:
			ev.Effect, ev.Bonus = "agrees on the year", bonusYear
		}
		out = append(out, ev)
	}
	if q.nat != "" && len(e.nats) > 0 {
		ev := Evidence{Field: "nationality", Query: q.nat, Alert: strings.Join(e.nats, ","), Factor: 1}
		ev.Effect, ev.Factor = "conflicts", factorNatClash
		for _, n := range e.nats {
			if n == q.nat {
				ev.Effect, ev.Factor, ev.Bonus = "agrees", 1, bonusNationality
			}
		}
		out = append(out, ev)
	}
	if q.sex != 0 && e.sex != 0 {
		ev := Evidence{Field: "sex", Query: string(q.sex), Alert: string(e.sex), Effect: "agrees", Factor: 1}
		if q.sex != e.sex {
			ev.Effect, ev.Factor = "conflicts", factorSexClash
		}
		out = append(out, ev)
	}
	return out
}

// queryEvidence is the parsed non-name part of a Query.
type queryEvidence struct {
	birth birthDate
	nat   string
	sex   byte
}
