package jsonread

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// collect decodes data with Object, keeping string values of keys "a" and
// "b" and refusing every other key, as a device's ParseJSON does.
func collect(data []byte) (map[string]string, error) {
	got := map[string]string{}
	err := Object(data, 256, func(key string, raw json.RawMessage) error {
		if key != "a" && key != "b" {
			return ErrUnknownField
		}
		s, err := String(raw, 8)
		got[key] = s
		return err
	})
	return got, err
}

func TestObject(t *testing.T) {
	got, err := collect([]byte(" {\"a\":\"x\", \"b\":null}\n"))
	if err != nil || got["a"] != "x" || got["b"] != "" || len(got) != 2 {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestObjectRefusals(t *testing.T) {
	cases := []struct {
		in, field string
		is        error
	}{
		{`{"a":"x","c":1}`, "c", ErrUnknownField},
		{`{"a":"x","A":"y"}`, "A", ErrUnknownField}, // keys are case-sensitive
		{`{"a":"x","a":"y"}`, "a", ErrDuplicateField},
		{`{"a":"x","\u0061":"y"}`, "a", ErrDuplicateField}, // repeated once unescaped
		{`{"a":"x"} {}`, "", ErrSyntax},
		{`{"a":"x"`, "", ErrSyntax},
		{`{"a":}`, "a", ErrSyntax},
		{`["a"]`, "", ErrSyntax},
		{`"a"`, "", ErrSyntax},
		{``, "", ErrSyntax},
		{`{"a":1}`, "a", ErrType},
		{`{"a":"123456789"}`, "a", ErrTooLarge},
		{`{"a":"x\u0007"}`, "a", ErrControl},
		{`{"a\u0000":"x"}`, "", ErrControl},
		{`{"` + strings.Repeat("k", 33) + `":"x"}`, "", ErrTooLarge},
		{"{\"a\":\"\xff\"}", "", ErrEncoding},
		{`{"a":"` + strings.Repeat(" ", 256) + `"}`, "", ErrTooLarge},
	}
	for _, c := range cases {
		_, err := collect([]byte(c.in))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, c.is) {
			t.Errorf("%.40q: err = %v, want field %q and %v", c.in, err, c.field, c.is)
		}
	}
}

// TestErrorsDoNotQuoteInput: refusals go to logs, so no message may
// repeat what was sent.
func TestErrorsDoNotQuoteInput(t *testing.T) {
	for _, in := range []string{`{"a":"SECRET1"`, `{"a":"SECRET1","a":"x"}`, `{"a":"SECRET1\u0007"}`, `[{"a":"SECRET1"} SECRET1]`, `{"a":SECRET1}`} {
		_, err := collect([]byte(in))
		_, _, berr := Body([]byte(in), 4, func(b []byte) (map[string]string, error) { return collect(b) })
		for _, e := range []error{err, berr} {
			if e != nil && strings.Contains(e.Error(), "SECRET") {
				t.Errorf("%q: message quotes the input: %v", in, e)
			}
		}
	}
}

func TestBody(t *testing.T) {
	parse := func(b []byte) (map[string]string, error) { return collect(b) }
	reads, batch, err := Body([]byte(` [{"a":"x"}, {"c":1}, 7] `), 3, parse)
	if err != nil || !batch || len(reads) != 3 {
		t.Fatalf("%d reads, batch %v, %v", len(reads), batch, err)
	}
	if reads[0].Err != nil || reads[0].Read["a"] != "x" || !errors.Is(reads[1].Err, ErrUnknownField) || !errors.Is(reads[2].Err, ErrSyntax) {
		t.Fatalf("reads %+v", reads)
	}
	// A single object is one read, even a bad one: its error is the read's.
	reads, batch, err = Body([]byte(`{"c":1}`), 3, parse)
	if err != nil || batch || len(reads) != 1 || !errors.Is(reads[0].Err, ErrUnknownField) {
		t.Fatalf("single: %+v, %v, %v", reads, batch, err)
	}
	for _, c := range []struct {
		in string
		is error
	}{
		{`[]`, ErrEmptyBatch},
		{`[{},{},{},{}]`, ErrTooLarge},
		{`[{}] x`, ErrSyntax},
		{`[{}`, ErrSyntax},
		{`[{},]`, ErrSyntax},
		{"[\"\xff\"]", ErrEncoding},
	} {
		_, _, err := Body([]byte(c.in), 3, parse)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "" || !errors.Is(err, c.is) {
			t.Errorf("%q: err = %v, want %v for the body", c.in, err, c.is)
		}
	}
}

func TestFieldErrorMessage(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{FieldErr("plate", ErrMissing), "plate: required"},
		{FieldErr("plate", errors.New("plate: too short")), "plate: too short"},
		{FieldErr("", ErrSyntax), "syntax"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}
