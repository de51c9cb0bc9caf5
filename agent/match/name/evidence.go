package name

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/language"
)

// birthDate is a possibly partial date of birth; zero parts are unknown.
type birthDate struct {
	year, month, day int
}

// parseBirthDate reads "YYYY", "YYYY-MM" or "YYYY-MM-DD". Anything else,
// and a date that does not exist (month 13, 30 February), is unknown:
// no evidence, never a mismatch, since a recording error cannot say which
// part is wrong.
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
		if d.month, err = strconv.Atoi(parts[1]); err != nil || len(parts[1]) != 2 || d.month < 1 || d.month > 12 {
			return birthDate{}
		}
	}
	if len(parts) > 2 {
		if d.day, err = strconv.Atoi(parts[2]); err != nil || len(parts[2]) != 2 || d.day < 1 || d.day > daysIn(d.year, d.month) {
			return birthDate{}
		}
	}
	return d
}

// daysIn is the number of days of a month (Gregorian).
func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
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

// normCountries upper-cases nationalities and writes alpha-3 codes as
// alpha-2 ("AFG" is "AF"), so that the two forms agree.
func normCountries(cs []string) []string {
	var out []string
	for _, c := range cs {
		if c = normCountry(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

func normCountry(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if len(c) == 3 {
		if r, err := language.ParseRegion(c); err == nil && r.IsCountry() {
			return r.String()
		}
	}
	return c
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
// without one; conflicts multiply the score down. factorDateNear was set on
// the development set (README.md, "Evaluation protocol"); RuleDateNear
// switches it off.
const (
	noEvidenceCeiling = 0.95
	bonusFullDate     = 0.05
	bonusYearMonth    = 0.04
	bonusYear         = 0.03
	bonusNationality  = 0.01
	// factorDateClash: birth years two or more apart; another person more
	// likely than a recording error.
	factorDateClash = 0.75
	// factorDateNear: a year one apart, or day and month swapped (both 12
	// or under): the commonest recording errors on lists and declarations,
	// so weak disagreement only. At 0.92 a name with a one-letter slip and
	// such a date fell under the threshold (issue 18).
	factorDateNear   = 0.97
	factorMonthClash = 0.9
	factorNatClash   = 0.95
	factorSexClash   = 0.8
)

// weighEvidence compares the query's date of birth, nationality and sex
// with the entry's. Unknown values on either side are no evidence.
func weighEvidence(q queryEvidence, rec *entryRecord, off RuleSet, out []Evidence) []Evidence {
	return weighEvidenceText(q, rec, off, out, true)
}

// weighEvidenceText is weighEvidence, leaving out the values' text
// (Query and Alert) unless text is set: Search weighs the evidence of
// every candidate to rank it, and formats the values only for the
// matches it returns. Factors and bonuses are the same either way.
func weighEvidenceText(q queryEvidence, rec *entryRecord, off RuleSet, out []Evidence, text bool) []Evidence {
	if q.birth.year == 0 && q.nat == "" && q.sex == 0 {
		return out // nothing to weigh: the entry's record is not read
	}
	near := !off.Has(RuleDateNear)
	e := rec.evidence()
	if q.birth.year != 0 && e.birth.year != 0 {
		ev := Evidence{Field: "birth_date", Factor: 1}
		if text {
			ev.Query, ev.Alert = q.birth.String(), e.birth.String()
		}
		switch dy := abs(q.birth.year - e.birth.year); {
		case dy == 1 && near:
			ev.Effect, ev.Factor = "year one apart", factorDateNear
		case dy >= 1:
			ev.Effect, ev.Factor = "conflicts", factorDateClash
		case near && q.birth.day != 0 && e.birth.day != 0 && q.birth.month != e.birth.month &&
			q.birth.month == e.birth.day && q.birth.day == e.birth.month:
			ev.Effect, ev.Factor = "day and month swapped", factorDateNear
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
		ev := Evidence{Field: "nationality", Query: q.nat, Factor: 1}
		if text {
			ev.Alert = strings.Join(e.nats, ",")
		}
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
