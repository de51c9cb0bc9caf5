package store

import (
	"reflect"
	"testing"
)

// The import's decoder accepts what encoding/json accepts, refuses what
// it refuses, and decodes the same alert and header: an alerts file must
// mean the same to `replica import`, `screen` and any tool written with
// the standard library.
func FuzzStrictDecodersAgree(f *testing.F) {
	for _, s := range importSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"id":"A1","version":1,"ID":"A2"}`, // a field twice, in another case
		`{"id":"A1","version":1,"subject":{"kind":"person","person":{"surname":"X","extra":1}}}`, // unknown, nested
		"{\"id\":\"A\xff1\",\"version\":1}", // not UTF-8
		`{"id":"A1","version":1} {}`,        // a second value
		`{"id":"A1","version":1e0}`,         // a number written as a float
		`{"id":"A1","version":-1}`,
		`{"id":"A1","version":1,"issued":"2026-13-01T00:00:00Z"}`,
		`{"id":"\u0041\ud800","version":1}`, // a lone surrogate
		`{"snapshot":{"epoch":1,"seq":2,"count":3,"hash":"","digest":""}}`,
		`{"snapshot":{"epoch":1,"unknown":true}}`,
		`null`, `[]`, `{"id":null,"version":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var std, fast Alert
		errStd, errFast := stdStrictUnmarshal(b, &std), strictUnmarshal(b, &fast)
		if (errStd == nil) != (errFast == nil) {
			t.Fatalf("encoding/json says %v, the import's decoder %v", errStd, errFast)
		}
		if errStd == nil && !reflect.DeepEqual(std, fast) {
			t.Fatalf("decoded differently:\nencoding/json %+v\nimport        %+v", std, fast)
		}
		type header struct {
			Snapshot *ImportHeader `json:"snapshot"`
		}
		var hs, hf header
		errStd, errFast = stdStrictUnmarshal(b, &hs), strictUnmarshal(b, &hf)
		if (errStd == nil) != (errFast == nil) {
			t.Fatalf("header: encoding/json says %v, the import's decoder %v", errStd, errFast)
		}
		if errStd == nil && !reflect.DeepEqual(hs, hf) {
			t.Fatalf("header decoded differently:\nencoding/json %+v\nimport        %+v", hs, hf)
		}
	})
}
