package ens

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

type parser struct {
	name  string
	parse func(io.Reader, Limits) (*Declaration, error)
}

var parsers = []parser{{"ICS1", ParseICS1}, {"HMRC", ParseHMRC}, {"ICS2", ParseICS2}}

// Refusals that come before any field is read apply to every parser alike.
func TestInputHardening(t *testing.T) {
	for _, p := range parsers {
		for _, tc := range []struct {
			name string
			in   string
			lim  Limits
			want error
		}{
			{"oversize", strings.Repeat(" ", 101), Limits{MaxBytes: 100}, ErrTooLarge},
			{"not UTF-8", "<a>\xff\xfe</a>", Limits{}, ErrEncoding},
			{"overlong UTF-8", "{\"a\": \"\xc0\xaf\"}", Limits{}, ErrEncoding},
			{"NUL", "{\"a\": \"x\x00\"}", Limits{}, ErrControlChar},
			{"escape", "<a>\x1b[31m</a>", Limits{}, ErrControlChar},
			{"C1 control", "{\"a\": \"\u0085\"}", Limits{}, ErrControlChar},
			{"DEL", "{\"a\": \"\x7f\"}", Limits{}, ErrControlChar},
		} {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				_, err := p.parse(strings.NewReader(tc.in), tc.lim)
				if !errors.Is(err, tc.want) {
					t.Errorf("err = %v, want %v", err, tc.want)
				}
			})
		}
	}
}

// Control characters written as JSON escapes are refused like raw ones,
// in values and in keys, by every JSON parser and by Parse.
func TestJSONEscapedControlRefused(t *testing.T) {
	json := []parser{{"HMRC", ParseHMRC}, {"ICS2", ParseICS2}, {"Parse", func(r io.Reader, l Limits) (*Declaration, error) { return Parse(r, MediaJSON, l) }}}
	for _, p := range json {
		for _, in := range []string{
			`{"message_type": "x\u0000"}`,
			`{"submissionId": "\u001b[31m"}`,
			`{"message_type": "\u0085"}`,
			`{"message_type": "\u007f"}`,
			`{"message_type": "x", "a\u0000": 1}`,
		} {
			_, err := p.parse(strings.NewReader(in), Limits{})
			if !errors.Is(err, ErrControlChar) {
				t.Errorf("%s %s: err = %v, want %v", p.name, in, err, ErrControlChar)
			}
		}
	}
}

// The size limit is enforced while reading: a reader that never ends must
// not be read past the limit.
func TestSizeLimitWhileReading(t *testing.T) {
	for _, p := range parsers {
		r := &countingReader{}
		_, err := p.parse(r, Limits{MaxBytes: 1 << 16})
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: err = %v", p.name, err)
		}
		if r.n > 1<<16+1<<12 {
			t.Errorf("%s: read %d bytes for a limit of %d", p.name, r.n, 1<<16)
		}
	}
}

type countingReader struct{ n int }

func (r *countingReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = ' '
	}
	r.n += len(b)
	return len(b), nil
}

func TestXMLHardening(t *testing.T) {
	bomb := `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<ie:CC315A xmlns:ie="http://ics.dgtaxud.ec/CC315A"><MesSenMES3>&lol2;</MesSenMES3></ie:CC315A>`
	external := `<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>`
	for _, tc := range []struct {
		name, in string
		lim      Limits
		want     error
	}{
		{"entity bomb", bomb, Limits{}, ErrDoctype},
		{"external entity", external, Limits{}, ErrDoctype},
		{"undefined entity", `<ie:CC315A xmlns:ie="http://ics.dgtaxud.ec/CC315A">&lol;</ie:CC315A>`, Limits{}, ErrSyntax},
		{"deep nesting", strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40), Limits{}, ErrTooDeep},
		{"many tokens", "<a>" + strings.Repeat("<b/>", 100) + "</a>", Limits{MaxTokens: 50}, ErrTooManyTokens},
		{"latin-1 declared", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, Limits{}, ErrEncoding},
		{"unclosed", `<ie:CC315A xmlns:ie="http://ics.dgtaxud.ec/CC315A"><MesSenMES3>`, Limits{}, ErrSyntax},
		{"mismatched", `<a><b></a></b>`, Limits{}, ErrSyntax},
		{"two roots", `<a/><b/>`, Limits{}, ErrSyntax},
		{"processing instruction", `<a><?php x ?></a>`, Limits{}, ErrSyntax},
		{"empty", ``, Limits{}, ErrSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseICS1(strings.NewReader(tc.in), tc.lim)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestJSONHardening(t *testing.T) {
	for _, p := range parsers[1:] {
		for _, tc := range []struct {
			name, in string
			lim      Limits
			want     error
		}{
			{"deep nesting", strings.Repeat("[", 40) + strings.Repeat("]", 40), Limits{}, ErrTooDeep},
			{"deep objects", strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40), Limits{}, ErrTooDeep},
			{"many tokens", "[" + strings.Repeat("1,", 100) + "1]", Limits{MaxTokens: 50}, ErrTooManyTokens},
			{"duplicate key", `{"lrn": "a", "lrn": "b"}`, Limits{}, ErrSyntax},
			{"duplicate key by case", `{"lrn": "a", "LRN": "b"}`, Limits{}, ErrSyntax},
			{"trailing data", `{} {}`, Limits{}, ErrSyntax},
			{"truncated", `{"lrn": "a"`, Limits{}, ErrSyntax},
			{"not an object", `[1, 2]`, Limits{}, ErrFormat},
			{"bare string", `"x"`, Limits{}, ErrFormat},
		} {
			t.Run(p.name+"/"+tc.name, func(t *testing.T) {
				_, err := p.parse(strings.NewReader(tc.in), tc.lim)
				if !errors.Is(err, tc.want) {
					t.Errorf("err = %v, want %v", err, tc.want)
				}
			})
		}
	}
}

// A byte-order mark is tolerated, and input of exactly MaxBytes is accepted.
func TestLimitEdges(t *testing.T) {
	b := readFile(t, filepath.Join("testdata", "ics2-road-f50.json"))
	if _, err := ParseICS2(strings.NewReader("\uFEFF"+b), Limits{}); err != nil {
		t.Errorf("with BOM: %v", err)
	}
	if _, err := ParseICS2(strings.NewReader(b), Limits{MaxBytes: int64(len(b))}); err != nil {
		t.Errorf("exactly MaxBytes: %v", err)
	}
	if _, err := ParseICS2(strings.NewReader(b), Limits{MaxBytes: int64(len(b) - 1)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxBytes-1: %v", err)
	}
}
