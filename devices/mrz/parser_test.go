package mrz

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// now is the reference date for tests that do not test century rules.
var now = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.id, func(t *testing.T) {
			d, err := Parse(v.lines, now)
			if v.valid {
				if err != nil {
					t.Fatalf("%s: %v", v.note, err)
				}
				if d.Format.String() != v.format {
					t.Errorf("format %s, vectors say %s", d.Format, v.format)
				}
				return
			}
			if err == nil {
				t.Fatalf("%s: parsed, want an error", v.note)
			}
			if !errors.Is(err, ErrCheckDigit) {
				t.Errorf("%v does not wrap ErrCheckDigit", err)
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	// Cases with a vector id take their lines from vectors.tsv.
	tests := []struct {
		name   string
		vector string
		lines  []string
		want   Document
	}{{
		name:  "TD3 specimen",
		lines: []string{"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"},
		want: Document{Format: TD3, Code: "P", IssuingState: "UTO", Number: "L898902C3", NumberRaw: "L898902C3",
			Surname: "ERIKSSON", GivenNames: "ANNA MARIA", NameRaw: "ERIKSSON<<ANNA<MARIA",
			Nationality: "UTO", BirthDate: "1974-08-12", Sex: "F", Expiry: date(2012, 4, 15), OptionalData: "ZE184226B"},
	}, {
		name:   "German D<<",
		vector: "deu-td3-mustermann",
		want: Document{Format: TD3, Code: "P", IssuingState: "D", IssuingCountry: "DE", Number: "C01X0006H", NumberRaw: "C01X0006H",
			Surname: "MUSTERMANN", GivenNames: "ERIKA", NameRaw: "MUSTERMANN<<ERIKA",
			Nationality: "D", NationalityCountry: "DE", BirthDate: "1964-08-12", Sex: "F", Expiry: date(2017, 10, 31)},
	}, {
		name:  "TD1 long number",
		lines: []string{"I<UTOD23145890<7349<<<<<<<<<<<", "3407127M9507122UTO<<<<<<<<<<<2", "STEVENSON<<PETER<JOHN<<<<<<<<<"},
		want: Document{Format: TD1, Code: "I", IssuingState: "UTO", Number: "D23145890734", NumberRaw: "D23145890<734",
			Surname: "STEVENSON", GivenNames: "PETER JOHN", NameRaw: "STEVENSON<<PETER<JOHN",
			Nationality: "UTO", BirthDate: "1934-07-12", Sex: "M", Expiry: date(1995, 7, 12)},
	}, {
		name:   "TD1 truncated name, Portugal",
		vector: "prt-bo-04001",
		want: Document{Format: TD1, Code: "I", IssuingState: "PRT", IssuingCountry: "PT", Number: "007666667ZZ0", NumberRaw: "007666667<ZZ0",
			Surname: "CACADOR DE ARAUJO", GivenNames: "ANDRE ESTEV", NameRaw: "CACADOR<DE<ARAUJO<<ANDRE<ESTEV", NameTruncated: true,
			Nationality: "PRT", NationalityCountry: "PT", BirthDate: "1983-03-14", Sex: "M", Expiry: date(2034, 5, 29)},
	}, {
		name:   "TD1 Belgium, optional data on both lines",
		vector: "bel-bo-11005",
		want: Document{Format: TD1, Code: "ID", IssuingState: "BEL", IssuingCountry: "BE", Number: "600001795015", NumberRaw: "600001795<015",
			Surname: "SPECIMEN", GivenNames: "SPECIMEN", NameRaw: "SPECIMEN<<SPECIMEN",
			Nationality: "BEL", NationalityCountry: "BE", BirthDate: "2013-01-01", Sex: "F", Expiry: date(2023, 11, 20), OptionalData2: "13010198739"},
	}, {
		name:   "TD1 Finland, short number",
		vector: "fin-bo-12001",
		want: Document{Format: TD1, Code: "I", IssuingState: "FIN", IssuingCountry: "FI", Number: "XA1000058", NumberRaw: "XA1000058",
			Surname: "SPECIMEN TRAVEL", GivenNames: "VILMA SOFIA", NameRaw: "SPECIMEN<TRAVEL<<VILMA<SOFIA",
			Nationality: "FIN", NationalityCountry: "FI", BirthDate: "1995-01-01", Sex: "F", Expiry: date(2028, 3, 13), OptionalData: "010195<112X"},
	}, {
		name:  "TD2 specimen",
		lines: []string{"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"},
		want: Document{Format: TD2, Code: "I", IssuingState: "UTO", Number: "D23145890", NumberRaw: "D23145890",
			Surname: "ERIKSSON", GivenNames: "ANNA MARIA", NameRaw: "ERIKSSON<<ANNA<MARIA",
			Nationality: "UTO", BirthDate: "1974-08-12", Sex: "F", Expiry: date(2012, 4, 15)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.vector != "" {
				tt.lines = vectorLines(t, tt.vector)
			}
			got, err := Parse(tt.lines, now)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Lines = tt.lines
			if !equalDocument(got, tt.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func equalDocument(a, b Document) bool {
	if strings.Join(a.Lines, "\n") != strings.Join(b.Lines, "\n") || !a.Expiry.Equal(b.Expiry) {
		return false
	}
	a.Lines, b.Lines, a.Expiry, b.Expiry = nil, nil, time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func date(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

// fix rewrites the check digits of a TD3 second line so that a test can
// change one field and still have a zone whose other checks pass.
func fixTD3(line2 string) string {
	b := []byte(line2)
	b[9], _ = CheckDigit(line2[0:9])
	b[19], _ = CheckDigit(line2[13:19])
	b[27], _ = CheckDigit(line2[21:27])
	if strings.Trim(line2[28:42], "<") != "" || b[42] != '<' {
		b[42], _ = CheckDigit(line2[28:42])
	}
	s := string(b)
	b[43], _ = CheckDigit(s[0:10] + s[13:20] + s[21:43])
	return string(b)
}

const td3Name = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"

// td3 builds a valid TD3 zone with the given birth date, sex and expiry.
func td3(birth, sex, expiry string) []string {
	return []string{td3Name, fixTD3("L898902C30UTO" + birth + "0" + sex + expiry + "0ZE184226B<<<<<00")}
}

func TestParseErrors(t *testing.T) {
	valid := []string{td3Name, "L898902C36UTO7408122F1204159ZE184226B<<<<<10"}
	set := func(line, pos int, c byte) []string {
		l := append([]string(nil), valid...)
		b := []byte(l[line-1])
		b[pos-1] = c
		l[line-1] = string(b)
		return l
	}
	tests := []struct {
		name     string
		lines    []string
		sentinel error
		field    string
		msg      string
	}{
		{"one line", valid[:1], ErrFormat, FieldLine, "mrz: got 1 line(s) of length 44; expected 3 x 30 (TD1), 2 x 36 (TD2) or 2 x 44 (TD3)"},
		{"mixed lengths", []string{valid[0], valid[1][:36]}, ErrFormat, FieldLine, ""},
		{"lower case", set(1, 7, 'r'), ErrCharacter, FieldLine, "mrz: line 1 position 7 holds 'r'; expected A-Z, 0-9 or '<'"},
		{"non-ASCII", set(2, 1, 0xC3), ErrCharacter, FieldLine, "mrz: line 2 position 1 holds byte 0xC3; expected A-Z, 0-9 or '<'"},
		{"document number", set(2, 10, '7'), ErrCheckDigit, FieldDocumentNumber, "mrz: document number check digit is 6, line 2 position 10 says 7"},
		{"document number filler on TD3", set(2, 10, '<'), ErrCheckDigit, FieldDocumentNumber, "mrz: document number check digit is 6, line 2 position 10 says '<'"},
		{"birth date", set(2, 20, '5'), ErrCheckDigit, FieldBirthDate, "mrz: birth date check digit is 2, line 2 position 20 says 5"},
		{"expiry", set(2, 28, '0'), ErrCheckDigit, FieldExpiryDate, "mrz: expiry date check digit is 9, line 2 position 28 says 0"},
		{"personal number", set(2, 43, '<'), ErrCheckDigit, FieldPersonalNumber, "mrz: personal number check digit is 1, line 2 position 43 says '<'"},
		{"composite", set(2, 44, '1'), ErrCheckDigit, FieldComposite, "mrz: composite check digit is 0, line 2 position 44 says 1"},
		{"visa", []string{"V" + td3Name[1:], valid[1]}, ErrUnsupported, FieldDocumentCode, "mrz: document code V is a visa; visas are not read, line 1 positions 1-2"},
		{"digit in document code", []string{"1" + td3Name[1:], valid[1]}, ErrFormat, FieldDocumentCode, ""},
		{"digit in name", []string{td3Name[:10] + "0" + td3Name[11:], valid[1]}, ErrCharacter, FieldName, "mrz: name at line 1 position 11 holds a digit; expected A-Z or '<'"},
		{"state with digit", []string{"P<U1O" + td3Name[5:], valid[1]}, ErrFormat, FieldIssuingState, ""},
		{"state with inner filler", []string{"P<U<O" + td3Name[5:], valid[1]}, ErrFormat, FieldIssuingState, ""},
		{"empty nationality", []string{td3Name, fixTD3("L898902C36<<<7408122F1204159ZE184226B<<<<<10")}, ErrFormat, FieldNationality, ""},
		{"month 13", td3("741312", "F", "300101"), ErrDate, FieldBirthDate, "mrz: birth date is not a calendar date in YYMMDD (century 1900), line 2 positions 14-19"},
		{"30 February", td3("740230", "F", "300101"), ErrDate, FieldBirthDate, ""},
		{"birth day without month", td3("74<<12", "F", "300101"), ErrDate, FieldBirthDate, ""},
		{"birth year unknown", td3("<<0812", "F", "300101"), ErrDate, FieldBirthDate, ""},
		{"expiry unknown", td3("740812", "F", "<<<<<<"), ErrDate, FieldExpiryDate, ""},
		{"expiry day 32", td3("740812", "F", "300132"), ErrDate, FieldExpiryDate, ""},
		{"sex", td3("740812", "Q", "300101"), ErrFormat, FieldSex, "mrz: sex must be M, F, X or '<', line 2 position 21"},
		{"empty number", []string{td3Name, fixTD3("<<<<<<<<<0UTO7408122F1204159ZE184226B<<<<<10")}, ErrFormat, FieldDocumentNumber, ""},
		{"TD1 long number without continuation", []string{"I<UTOD23145890<<<<<<<<<<<<<<<<", "3407127M9507122UTO<<<<<<<<<<<2", "STEVENSON<<PETER<JOHN<<<<<<<<<"}, ErrFormat, FieldDocumentNumber, ""},
		{"TD1 long number bad check", []string{"I<UTOD23145890<7348<<<<<<<<<<<", "3407127M9507122UTO<<<<<<<<<<<2", "STEVENSON<<PETER<JOHN<<<<<<<<<"}, ErrCheckDigit, FieldDocumentNumber,
			"mrz: document number check digit is 9, line 1 position 19 says 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.lines, now)
			if err == nil {
				t.Fatal("parsed, want an error")
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("%v does not wrap %v", err, tt.sentinel)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("%v: want field %q", err, tt.field)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("message\n%s\nwant\n%s", err, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "mrz: ") || strings.Contains(err.Error(), "ERIKSSON") || strings.Contains(err.Error(), "L898902C3") {
				t.Errorf("message %q must start with mrz: and carry no personal data", err)
			}
		})
	}
}

// vectorLines returns the lines of one row of vectors.tsv.
func vectorLines(t *testing.T, id string) []string {
	t.Helper()
	for _, v := range loadVectors(t) {
		if v.id == id {
			return v.lines
		}
	}
	t.Fatalf("vectors.tsv has no row %s", id)
	return nil
}

// When neither reading of a long number's check digit holds, the error
// gives both.
func TestLongNumberBothReadingsInError(t *testing.T) {
	lines := vectorLines(t, "bel-bo-03003")
	lines[0] = lines[0][:18] + "2" + lines[0][19:]
	_, err := Parse(lines, now)
	const want = "mrz: document number check digit is 1 (or 3 counting the filler at line 1 position 15), line 1 position 19 says 2"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestDates(t *testing.T) {
	tests := []struct {
		name, birth, expiry string
		now                 time.Time
		wantBirth           string
		wantExpiry          time.Time
	}{
		{"born this year, earlier", "260101", "360101", now, "2026-01-01", date(2036, 1, 1)},
		{"born on the day", "261127", "360101", now, "2026-11-27", date(2036, 1, 1)},
		{"birthday tomorrow is last century", "261128", "360101", now, "1926-11-28", date(2036, 1, 1)},
		{"born 1999", "991231", "290101", now, "1999-12-31", date(2029, 1, 1)},
		{"year only", "74<<<<", "290101", now, "1974", date(2029, 1, 1)},
		{"year and month", "7408<<", "290101", now, "1974-08", date(2029, 1, 1)},
		{"this year, later month", "2612<<", "290101", now, "1926-12", date(2029, 1, 1)},
		{"unknown birth date", "<<<<<<", "290101", now, "", date(2029, 1, 1)},
		{"29 February 2000", "000229", "290101", now, "2000-02-29", date(2029, 1, 1)},
		{"expiry 50 years ahead", "740812", "761127", now, "1974-08-12", date(2076, 11, 27)},
		{"expiry 51 years ahead reads as past", "740812", "771127", now, "1974-08-12", date(1977, 11, 27)},
		{"expiry after a century turn", "740812", "050101", date(2090, 6, 1), "2074-08-12", date(2105, 1, 1)},
		{"born last century seen from 2090", "950812", "050101", date(2090, 6, 1), "1995-08-12", date(2105, 1, 1)},
		{"expired long ago", "740812", "120415", now, "1974-08-12", date(2012, 4, 15)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(td3(tt.birth, "M", tt.expiry), tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if d.BirthDate != tt.wantBirth || !d.Expiry.Equal(tt.wantExpiry) {
				t.Errorf("birth %q expiry %s, want %q %s", d.BirthDate, d.Expiry.Format(time.DateOnly), tt.wantBirth, tt.wantExpiry.Format(time.DateOnly))
			}
		})
	}
}

func TestSexUnspecified(t *testing.T) {
	for _, c := range []string{"<", "X"} {
		d, err := Parse(td3("740812", c, "300101"), now)
		if err != nil || d.Sex != "" {
			t.Errorf("sex %q: got %q, %v; want unspecified", c, d.Sex, err)
		}
	}
}

// A TD2 document number over 9 characters continues in the optional data,
// as on TD1 (ICAO 9303 Part 6).
func TestTD2LongNumber(t *testing.T) {
	line2 := []byte("D23145890<UTO7408122F1204159734X<<<<0")
	line2 = line2[:36]
	cd, _ := CheckDigit("D23145890734")
	line2[31] = cd
	line2[35], _ = CheckDigit(string(line2[0:10]) + string(line2[13:20]) + string(line2[21:35]))
	d, err := Parse([]string{"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", string(line2)}, now)
	if err != nil {
		t.Fatal(err)
	}
	if d.Number != "D23145890734" || d.NumberRaw != "D23145890<734" || d.OptionalData != "" {
		t.Errorf("number %q raw %q optional %q", d.Number, d.NumberRaw, d.OptionalData)
	}
}

func TestCountryCodes(t *testing.T) {
	for code, want := range map[string]string{
		"DEU": "DE", "D": "DE", "FRA": "FR", "NLD": "NL", "GBR": "GB", "GBN": "GB", "CHE": "CH", "RKS": "XK",
		"UTO": "", "UNO": "", "UNA": "", "UNK": "", "EUE": "", "XOM": "", "XPO": "",
		"XXA": "", "XXB": "", "XXC": "", "XXX": "", "ZZZ": "", "AAA": "", "QMM": "", "DE": "", "276": "",
	} {
		if got := countryAlpha2(code); got != want {
			t.Errorf("%s: got %q, want %q", code, got, want)
		}
	}
}

func TestCheckDigit(t *testing.T) {
	for in, want := range map[string]byte{
		"L898902C3": '6', "740812": '2', "120415": '9', "ZE184226B<<<<<": '1', "<<<<<<": '0', "": '0',
		"D23145890<734": '9', "D23145890734": '9',
	} {
		if got, ok := CheckDigit(in); !ok || got != want {
			t.Errorf("%q: got %c %v, want %c", in, got, ok, want)
		}
	}
	if _, ok := CheckDigit("abc"); ok {
		t.Error("lower case accepted")
	}
}
