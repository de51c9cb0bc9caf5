package main

import (
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices/mrz"
)

// The demo's passports must be ones a reader accepts, naming the person or
// document sought.
func TestPassportMRZParses(t *testing.T) {
	l := passportMRZ("DE", "Kowalski", "Anna Maria", "C01234567", "PL", "1971-03-02", "F")
	d, err := mrz.Parse(l[:], time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("%q: %v", l, err)
	}
	items := d.Check("mrz", "1", time.Now()).Items
	var doc, name string
	for _, it := range items {
		switch it.Field {
		case mrz.ItemDocument:
			doc = it.Value
		case mrz.ItemHolder:
			name = it.Value
		}
	}
	if doc != "C01234567" || name == "" {
		t.Fatalf("items %+v", items)
	}
}
