package anpr

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/borderpost/borderpost/devices/internal/jsonread"
)

// lineFields names the fields of the line protocol in order; the sixth,
// image, is optional.
var lineFields = [...]string{"time", "lane", "plate", "country", "confidence", "image"}

// ParseLine decodes one line of the ANPR line protocol (the grammar is in
// README.md):
//
//	time SEP lane SEP plate SEP country SEP confidence [SEP image]
//
// SEP is the first ';', tab or ',' in the line and must then be used
// throughout. line excludes the '\n'; one trailing '\r' is dropped. Fields
// are trimmed of spaces. time is RFC 3339, unix seconds or unix
// milliseconds, or empty (the time of arrival); confidence is 0..1 or 0..100
// or empty, with a decimal comma allowed when SEP is not ','. Errors are
// *FieldError naming the field.
func ParseLine(line []byte) (Read, error) {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > MaxLineBytes {
		return Read{}, fieldErr("", fmt.Errorf("line: %w: %d bytes, at most %d", ErrTooLarge, len(line), MaxLineBytes))
	}
	if !utf8.Valid(line) {
		return Read{}, fieldErr("", fmt.Errorf("line: %w", ErrEncoding))
	}
	s := string(line)
	if err := jsonread.CheckText(strings.ReplaceAll(s, "\t", " "), MaxLineBytes); err != nil {
		return Read{}, fieldErr("", fmt.Errorf("line: %w", err))
	}
	i := strings.IndexAny(s, ";\t,")
	if i < 0 {
		return Read{}, fieldErr("", fmt.Errorf("line: %w: want 5 or 6 fields separated by ';', tab or ','", ErrSyntax))
	}
	sep := s[i]
	parts := strings.Split(s, string(sep))
	if len(parts) != 5 && len(parts) != 6 {
		return Read{}, fieldErr("", fmt.Errorf("line: %w: want 5 or 6 fields separated by %s, got %d", ErrSyntax, sepName(sep), len(parts)))
	}
	for k := range parts {
		parts[k] = strings.Trim(parts[k], " ")
	}
	var r Read
	var err error
	if parts[0] != "" {
		if r.Time, err = jsonread.ParseTime(parts[0], clock); err != nil {
			return Read{}, fieldErr(lineFields[0], err)
		}
	}
	limits := [...]int{0, maxLaneBytes, maxPlateBytes, maxCountryBytes, 0, maxImageBytes}
	for k := 1; k < len(parts); k++ {
		if limits[k] > 0 {
			if err := jsonread.CheckText(parts[k], limits[k]); err != nil {
				return Read{}, fieldErr(lineFields[k], err)
			}
		}
	}
	r.Lane, r.Plate, r.Country = parts[1], parts[2], parts[3]
	if r.Plate == "" {
		return Read{}, fieldErr("plate", ErrMissing)
	}
	if r.Country == "" {
		return Read{}, fieldErr("country", ErrMissing)
	}
	if c := parts[4]; c != "" {
		if sep != ',' {
			c = strings.Replace(c, ",", ".", 1)
		}
		if r.Confidence, err = parseConfidence(c); err != nil {
			return Read{}, fieldErr("confidence", err)
		}
	}
	if len(parts) == 6 {
		r.Image = parts[5]
	}
	return r, nil
}

// sepName names a separator in an error message.
func sepName(sep byte) string {
	if sep == '\t' {
		return "tab"
	}
	return "'" + string(sep) + "'"
}

// AppendLine appends r in the line protocol (';'-separated, RFC 3339 time
// in UTC, confidence with a decimal point, no line ending) to b, for
// simulators and tests. ParseLine(AppendLine(nil, r)) gives back r when
// r's fields hold no separators and no surrounding spaces.
func AppendLine(b []byte, r Read) []byte {
	if !r.Time.IsZero() {
		b = r.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.999999999Z07:00")
	}
	b = append(b, ';')
	b = append(b, r.Lane...)
	b = append(b, ';')
	b = append(b, r.Plate...)
	b = append(b, ';')
	b = append(b, r.Country...)
	b = append(b, ';')
	if r.Confidence != 0 {
		b = strconv.AppendFloat(b, r.Confidence, 'f', -1, 64)
	}
	if r.Image != "" {
		b = append(b, ';')
		b = append(b, r.Image...)
	}
	return b
}
