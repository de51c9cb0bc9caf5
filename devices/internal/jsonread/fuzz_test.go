package jsonread

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzObject: whatever the input, Object either refuses it with a
// *FieldError or hands set every key once, each clean and short, with a
// value that is itself valid JSON.
func FuzzObject(f *testing.F) {
	for _, s := range []string{
		`{"a":"x","b":null}`, `{"a":"x","a":"y"}`, `{"a":"x","\u0061":"y"}`, `{"a":{"b":[1,2]}} `,
		`{"a\u200b":1}`, `{} {}`, `[{}]`, `{"a":"x"`, "{\"a\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		seen := map[string]bool{}
		err := Object(data, 512, func(key string, raw json.RawMessage) error {
			if seen[key] {
				t.Fatalf("key %q handed to set twice", key)
			}
			seen[key] = true
			if CheckText(key, maxKeyBytes) != nil {
				t.Fatalf("key %q handed to set", key)
			}
			if !json.Valid(raw) {
				t.Fatalf("value %q handed to set is not JSON", raw)
			}
			return nil
		})
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		if len(data) > 512 || !utf8.Valid(data) || !json.Valid(data) {
			t.Fatalf("accepted %q", data)
		}
	})
}

// FuzzBody: an accepted body holds 1 to maxBatch reads, one exactly when it
// is not an array, and each read was parsed from valid JSON.
func FuzzBody(f *testing.F) {
	for _, s := range []string{
		`[{"a":"x"}, {"c":1}, 7]`, `{"a":"x"}`, `[]`, ` [ 1, "x", null ] `, `[{}] x`, `[{},{},{},{}]`, "[\"\xff\"]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		reads, batch, err := Body(body, 3, func(b []byte) ([]byte, error) { return b, nil })
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "" {
				t.Fatalf("body error without an empty field: %v", err)
			}
			return
		}
		if len(reads) == 0 || len(reads) > 3 || (!batch && len(reads) != 1) {
			t.Fatalf("%d reads, batch %v", len(reads), batch)
		}
		if batch {
			for _, r := range reads {
				if !json.Valid(r.Read) {
					t.Fatalf("read %q is not JSON", r.Read)
				}
			}
		}
	})
}

// FuzzParseTime: an accepted time lies in the window, and a plain unix
// time round-trips to the same instant.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2026-11-27T03:14:07.5Z", "2000-01-01T00:30:00+01:00", "1795749249", "1795749249.25", "1795749249123",
		"0", "1.7e9", "17957492491234", "NaN", "2100-01-01T00:00:00Z",
	} {
		f.Add(s)
	}
	minT := time.Date(MinYear, 1, 1, 0, 0, 0, 0, time.UTC)
	maxT := time.Date(MaxYear, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s, "camera")
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrRange) {
				t.Fatalf("%q: error %v is neither syntax nor range", s, err)
			}
			return
		}
		if tm.Before(minT) || !tm.Before(maxT) {
			t.Fatalf("%q: %v outside the window", s, tm)
		}
		// An integer of 12 or more digits is unix milliseconds.
		if IsDecimal(s) && len(s) >= 12 && !strings.Contains(s, ".") {
			if n, _ := strconv.ParseInt(s, 10, 64); tm.UnixMilli() != n {
				t.Fatalf("%q: %v", s, tm)
			}
		}
	})
}
