package mrz

import (
	"fmt"
	"strings"
	"time"
)

// span is one field of the zone: 0-based line, [start, end) within it.
type span struct{ line, start, end int }

func (s span) in(lines []string) string { return lines[s.line][s.start:s.end] }

// layout places every field of one zone size. Positions follow ICAO 9303
// Parts 4 (TD3), 5 (TD1) and 6 (TD2).
type layout struct {
	format              Format
	rows, cols          int
	code, state, name   span
	number, numberCD    span
	birth, birthCD, sex span
	expiry, expiryCD    span
	nationality         span
	optional, optional2 span // optional2 is empty except on TD1
	personalCD          span // empty except on TD3
	composite           span
	compositeOver       []span
	longNumber          bool // a '<' in numberCD continues the number in optional
}

var layouts = [...]layout{
	{
		format: TD1, rows: 3, cols: 30,
		code: span{0, 0, 2}, state: span{0, 2, 5}, number: span{0, 5, 14}, numberCD: span{0, 14, 15},
		optional: span{0, 15, 30},
		birth:    span{1, 0, 6}, birthCD: span{1, 6, 7}, sex: span{1, 7, 8},
		expiry: span{1, 8, 14}, expiryCD: span{1, 14, 15}, nationality: span{1, 15, 18},
		optional2: span{1, 18, 29}, composite: span{1, 29, 30},
		compositeOver: []span{{0, 5, 30}, {1, 0, 7}, {1, 8, 15}, {1, 18, 29}},
		name:          span{2, 0, 30},
		longNumber:    true,
	},
	{
		format: TD2, rows: 2, cols: 36,
		code: span{0, 0, 2}, state: span{0, 2, 5}, name: span{0, 5, 36},
		number: span{1, 0, 9}, numberCD: span{1, 9, 10}, nationality: span{1, 10, 13},
		birth: span{1, 13, 19}, birthCD: span{1, 19, 20}, sex: span{1, 20, 21},
		expiry: span{1, 21, 27}, expiryCD: span{1, 27, 28},
		optional: span{1, 28, 35}, composite: span{1, 35, 36},
		compositeOver: []span{{1, 0, 10}, {1, 13, 20}, {1, 21, 35}},
		longNumber:    true,
	},
	{
		format: TD3, rows: 2, cols: 44,
		code: span{0, 0, 2}, state: span{0, 2, 5}, name: span{0, 5, 44},
		number: span{1, 0, 9}, numberCD: span{1, 9, 10}, nationality: span{1, 10, 13},
		birth: span{1, 13, 19}, birthCD: span{1, 19, 20}, sex: span{1, 20, 21},
		expiry: span{1, 21, 27}, expiryCD: span{1, 27, 28},
		optional: span{1, 28, 42}, personalCD: span{1, 42, 43}, composite: span{1, 43, 44},
		compositeOver: []span{{1, 0, 10}, {1, 13, 20}, {1, 21, 43}},
	},
}

// layoutFor returns the layout whose size matches lines, or nil.
func layoutFor(lines []string) *layout {
	for i := range layouts {
		l := &layouts[i]
		if len(lines) != l.rows {
			continue
		}
		ok := true
		for _, s := range lines {
			ok = ok && len(s) == l.cols
		}
		if ok {
			return l
		}
	}
	return nil
}

// Rows returns how many lines a zone whose lines are n characters long
// has (3 for TD1, 2 for TD2 and TD3), or 0 if no zone has lines of n.
func Rows(n int) int {
	for _, l := range layouts {
		if l.cols == n {
			return l.rows
		}
	}
	return 0
}

// Parse reads one machine-readable zone given as its lines, without line
// terminators: 3 x 30 (TD1), 2 x 36 (TD2) or 2 x 44 (TD3). It verifies
// every check digit (document number, birth date, expiry date, TD3's
// personal number, composite) and every field's form, and resolves
// two-digit years against now: a birth date is never after now, an expiry
// date falls within 50 years either side of now. It returns the first
// failure as a *FieldError wrapping ErrFormat, ErrCharacter, ErrCheckDigit,
// ErrDate or ErrUnsupported; check digits are verified before dates and
// codes, so a misread field is reported by its check digit.
func Parse(lines []string, now time.Time) (Document, error) {
	l := layoutFor(lines)
	if l == nil {
		return Document{}, formatError(lines)
	}
	for i, s := range lines {
		for j := 0; j < len(s); j++ {
			if _, ok := charValue(s[j]); !ok {
				return Document{}, &FieldError{Field: FieldLine, Line: i + 1, Pos: j + 1, Err: ErrCharacter,
					Msg: fmt.Sprintf("line %d position %d holds %s; expected A-Z, 0-9 or '<'", i+1, j+1, describeByte(s[j]))}
			}
		}
	}
	d := Document{Format: l.format, Lines: append([]string(nil), lines...)}

	// The document code comes first: a visa's zone has these sizes too, but
	// another layout and no composite check digit.
	code := l.code.in(lines)
	if !isLetter(code[0]) || !(isLetter(code[1]) || code[1] == '<') {
		return Document{}, spanError(FieldDocumentCode, l.code, ErrFormat, "document code must be a letter followed by a letter or '<'")
	}
	if code[0] == 'V' {
		return Document{}, spanError(FieldDocumentCode, l.code, ErrUnsupported, "document code V is a visa; visas are not read")
	}
	d.Code = strings.TrimRight(code, "<")

	if err := d.readNumber(l, lines); err != nil {
		return Document{}, err
	}
	for _, c := range []struct {
		field    string
		over, cd span
	}{
		{FieldBirthDate, l.birth, l.birthCD},
		{FieldExpiryDate, l.expiry, l.expiryCD},
		{FieldPersonalNumber, l.optional, l.personalCD},
	} {
		if c.cd == (span{}) {
			continue
		}
		if err := verify(c.field, c.over.in(lines), c.cd, lines); err != nil {
			return Document{}, err
		}
	}
	var composite strings.Builder
	for _, s := range l.compositeOver {
		composite.WriteString(s.in(lines))
	}
	if err := verifyStrict(FieldComposite, composite.String(), l.composite, lines); err != nil {
		return Document{}, err
	}

	var err error
	if d.IssuingState, d.IssuingCountry, err = stateCode(FieldIssuingState, l.state, lines); err != nil {
		return Document{}, err
	}
	if d.Nationality, d.NationalityCountry, err = stateCode(FieldNationality, l.nationality, lines); err != nil {
		return Document{}, err
	}
	if d.BirthDate, err = birthDate(l.birth, lines, now); err != nil {
		return Document{}, err
	}
	if d.Expiry, err = expiryDate(l.expiry, lines, now); err != nil {
		return Document{}, err
	}
	switch sex := l.sex.in(lines)[0]; sex {
	case 'M', 'F':
		d.Sex = string(sex)
	case '<', 'X':
		// ICAO writes unspecified as '<'; several states print 'X'.
	default:
		return Document{}, spanError(FieldSex, l.sex, ErrFormat, "sex must be M, F, X or '<'")
	}
	if err := d.readName(l.name, lines); err != nil {
		return Document{}, err
	}
	if l.optional2 != (span{}) {
		d.OptionalData2 = strings.TrimRight(l.optional2.in(lines), "<")
	}
	return d, nil
}

// readNumber reads and verifies the document number. On TD1 and TD2 a '<'
// in the check-digit slot means the number is longer than 9 characters: the
// rest, then its check digit, then a filler open the optional data.
func (d *Document) readNumber(l *layout, lines []string) error {
	number := l.number.in(lines)
	cd := l.numberCD.in(lines)[0]
	optional := l.optional.in(lines)
	if cd != '<' || !l.longNumber {
		if err := verifyStrict(FieldDocumentNumber, number, l.numberCD, lines); err != nil {
			return err
		}
		d.NumberRaw = number
		d.Number = strings.ReplaceAll(number, "<", "")
		d.OptionalData = strings.TrimRight(optional, "<")
		if d.Number == "" {
			return spanError(FieldDocumentNumber, l.number, ErrFormat, "document number is empty")
		}
		return nil
	}
	// Long number: optional = continuation, check digit, '<', rest.
	end := strings.IndexByte(optional, '<')
	if end < 0 {
		end = len(optional)
	}
	if end < 2 {
		return &FieldError{Field: FieldDocumentNumber, Line: l.numberCD.line + 1, Pos: l.numberCD.start + 1, Err: ErrFormat,
			Msg: fmt.Sprintf("document number check digit at line %d position %d is '<' but the optional data at position %d does not continue the number with its check digit",
				l.numberCD.line+1, l.numberCD.start+1, l.optional.start+1)}
	}
	rest, got := optional[:end-1], optional[end-1]
	cdSpan := span{l.optional.line, l.optional.start + end - 1, l.optional.start + end}
	// ICAO 9303 is ambiguous whether the filler in the check-digit slot is
	// part of the checked string; real documents do both.
	without, _ := CheckDigit(number + rest)
	with, _ := CheckDigit(number + "<" + rest)
	if got != without && got != with {
		want := string(without)
		if with != without {
			want = fmt.Sprintf("%c (or %c counting the filler at line %d position %d)", without, with, l.numberCD.line+1, l.numberCD.start+1)
		}
		return &FieldError{Field: FieldDocumentNumber, Line: cdSpan.line + 1, Pos: cdSpan.start + 1, Err: ErrCheckDigit,
			Msg: fmt.Sprintf("document number check digit is %s, line %d position %d says %s", want, cdSpan.line+1, cdSpan.start+1, describeByte(got))}
	}
	d.NumberRaw = number + "<" + rest
	d.Number = strings.ReplaceAll(number+rest, "<", "")
	if end < len(optional) {
		d.OptionalData = strings.TrimRight(optional[end+1:], "<")
	}
	return nil
}

// readName splits the name field into primary and secondary identifiers
// at the first "<<"; single '<' separate name parts.
func (d *Document) readName(s span, lines []string) error {
	field := s.in(lines)
	for i := 0; i < len(field); i++ {
		if !isLetter(field[i]) && field[i] != '<' {
			return &FieldError{Field: FieldName, Line: s.line + 1, Pos: s.start + i + 1, Err: ErrCharacter,
				Msg: fmt.Sprintf("name at line %d position %d holds a digit; expected A-Z or '<'", s.line+1, s.start+i+1)}
		}
	}
	raw := strings.TrimRight(field, "<")
	d.NameRaw = raw
	d.NameTruncated = len(raw) == len(field)
	primary, secondary := raw, ""
	if i := strings.Index(raw, "<<"); i >= 0 {
		primary, secondary = raw[:i], raw[i+2:]
	}
	d.Surname = nameWords(primary)
	d.GivenNames = nameWords(secondary)
	return nil
}

func nameWords(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "<", " ")), " ")
}

// stateCode reads a three-character state code ("UTO", "D<<") and maps it.
func stateCode(field string, s span, lines []string) (code, alpha2 string, err error) {
	raw := s.in(lines)
	code = strings.TrimRight(raw, "<")
	ok := code != ""
	for i := 0; i < len(code); i++ {
		ok = ok && isLetter(code[i])
	}
	if !ok {
		return "", "", spanError(field, s, ErrFormat, fieldName(field)+" must be a three-letter code, filled with '<' (as D<<)")
	}
	return code, countryAlpha2(code), nil
}

// verify checks the check digit at cd over value. A '<' check digit is
// accepted when value is all fillers (an empty optional field).
func verify(field, value string, cd span, lines []string) error {
	if lines[cd.line][cd.start] == '<' && strings.Trim(value, "<") == "" {
		return nil
	}
	return verifyStrict(field, value, cd, lines)
}

// verifyStrict checks the check digit at cd over value; it must be a digit.
func verifyStrict(field, value string, cd span, lines []string) error {
	want, _ := CheckDigit(value) // Parse checked the character set
	got := lines[cd.line][cd.start]
	if got == want {
		return nil
	}
	return &FieldError{Field: field, Line: cd.line + 1, Pos: cd.start + 1, Err: ErrCheckDigit,
		Msg: fmt.Sprintf("%s check digit is %c, line %d position %d says %s", fieldName(field), want, cd.line+1, cd.start+1, describeByte(got))}
}

// birthDate reads YYMMDD; ICAO 9303 fills unknown day, or month and day, or
// the whole date with '<'. The century puts the date at or before now.
func birthDate(s span, lines []string, now time.Time) (string, error) {
	v := s.in(lines)
	yy, mm, dd := v[0:2], v[2:4], v[4:6]
	bad := func(what string) error {
		return spanError(FieldBirthDate, s, ErrDate, "birth date "+what)
	}
	if v == "<<<<<<" {
		return "", nil
	}
	if !isDigits(yy) {
		return "", bad("must give the year as two digits, or be all '<'")
	}
	ny, ty, tm, td := atoi2(yy), now.Year(), int(now.Month()), now.Day()
	year := ty - ((ty-ny)%100+100)%100 // latest year <= now ending in yy
	switch {
	case mm == "<<" && dd == "<<":
		return fmt.Sprintf("%04d", year), nil
	case isDigits(mm) && dd == "<<":
		m := atoi2(mm)
		if m < 1 || m > 12 {
			return "", bad("month must be 01-12")
		}
		if year == ty && m > tm {
			year -= 100
		}
		return fmt.Sprintf("%04d-%02d", year, m), nil
	case isDigits(mm) && isDigits(dd):
		m, day := atoi2(mm), atoi2(dd)
		if year == ty && (m > tm || m == tm && day > td) {
			year -= 100
		}
		if !validDate(year, m, day) {
			return "", bad(fmt.Sprintf("is not a calendar date in YYMMDD (century %d)", year/100*100))
		}
		return fmt.Sprintf("%04d-%02d-%02d", year, m, day), nil
	}
	return "", bad("must be YYMMDD, with '<' only for an unknown day or month and day")
}

// expiryDate reads YYMMDD in full. The century puts it within 50 years
// either side of now: documents expiring far in the past are not read.
func expiryDate(s span, lines []string, now time.Time) (time.Time, error) {
	v := s.in(lines)
	if !isDigits(v) {
		return time.Time{}, spanError(FieldExpiryDate, s, ErrDate, "expiry date must be six digits YYMMDD")
	}
	top := now.Year() + 50
	year := top - ((top-atoi2(v[0:2]))%100+100)%100
	m, day := atoi2(v[2:4]), atoi2(v[4:6])
	if !validDate(year, m, day) {
		return time.Time{}, spanError(FieldExpiryDate, s, ErrDate, fmt.Sprintf("expiry date is not a calendar date in YYMMDD (century %d)", year/100*100))
	}
	return time.Date(year, time.Month(m), day, 0, 0, 0, 0, time.UTC), nil
}

func validDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t.Day() == d
}

func spanError(field string, s span, sentinel error, msg string) *FieldError {
	where := fmt.Sprintf("line %d positions %d-%d", s.line+1, s.start+1, s.end)
	if s.end == s.start+1 {
		where = fmt.Sprintf("line %d position %d", s.line+1, s.end)
	}
	return &FieldError{Field: field, Line: s.line + 1, Pos: s.start + 1, Err: sentinel, Msg: msg + ", " + where}
}

func formatError(lines []string) error {
	var lengths []string
	for i, s := range lines {
		if i == 4 {
			lengths = append(lengths, "...")
			break
		}
		lengths = append(lengths, fmt.Sprint(len(s)))
	}
	if len(lines) == 0 {
		lengths = []string{"-"}
	}
	return &FieldError{Field: FieldLine, Err: ErrFormat,
		Msg: fmt.Sprintf("got %d line(s) of length %s; expected 3 x 30 (TD1), 2 x 36 (TD2) or 2 x 44 (TD3)", len(lines), strings.Join(lengths, ", "))}
}

// describeByte shows one byte of input for an error message: letters and
// digits bare, other printable ASCII quoted, anything else in hex.
func describeByte(c byte) string {
	if isLetter(c) || c >= '0' && c <= '9' {
		return string(c)
	}
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("'%c'", c)
	}
	return fmt.Sprintf("byte 0x%02X", c)
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }
