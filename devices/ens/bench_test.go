package ens

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func benchParse(b *testing.B, path string, parse func(*bytes.Reader) error) {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := parse(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseICS2Maritime(b *testing.B) {
	benchParse(b, filepath.Join("testdata", "ics2-maritime-f11.json"), func(r *bytes.Reader) error {
		d, err := ParseICS2(r, Limits{})
		if err == nil {
			_ = d.Check("ens")
		}
		return err
	})
}

func BenchmarkParseICS1Sample(b *testing.B) {
	p := dataFile("samples/CC315A-schemaValidSample-v11-2.xml")
	if p == "" {
		b.Skip("shared data absent")
	}
	benchParse(b, p, func(r *bytes.Reader) error {
		d, err := ParseICS1(r, Limits{})
		if err == nil {
			_ = d.Check("ens")
		}
		return err
	})
}

func BenchmarkParseHMRCSample(b *testing.B) {
	p := dataFile("json/315AllOptional.json")
	if p == "" {
		b.Skip("shared data absent")
	}
	benchParse(b, p, func(r *bytes.Reader) error {
		d, err := ParseHMRC(r, Limits{})
		if err == nil {
			_ = d.Check("ens")
		}
		return err
	})
}
