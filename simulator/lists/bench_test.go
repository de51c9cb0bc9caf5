package lists

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkParseOFAC2021(b *testing.B) {
	dir := sharedData(b, "ofac/sdn_2021-07")
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	sdn, add, alt := read("sdn.csv"), read("add.csv"), read("alt.csv")
	b.SetBytes(int64(len(sdn) + len(add) + len(alt)))
	for b.Loop() {
		if _, err := ParseOFAC(OFACFiles{SDN: bytes.NewReader(sdn), Add: bytes.NewReader(add), Alt: bytes.NewReader(alt)}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseUN(b *testing.B) {
	data, err := os.ReadFile(sharedData(b, "ofac/un_2026-02/UN_consolidated.xml"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseUN(bytes.NewReader(data), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDiffSDN(b *testing.B) {
	old, err := ParseOFACDir(os.DirFS(sharedData(b, "ofac/sdn_2019-01")), Options{})
	if err != nil {
		b.Fatal(err)
	}
	cur, err := ParseOFACDir(os.DirFS(sharedData(b, "ofac/sdn_2021-07")), Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		Diff(old, cur)
	}
}
