package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ens"
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

// The demo's road declaration is one the agent's ENS handler accepts, and
// gives a name, a plate and a container item.
func TestRoadENSParses(t *testing.T) {
	b, _ := json.Marshal(roadENS(1, "Anna Kowalski", "WX 12345", "PL", "MSCU1234566"))
	var kinds []string
	chk := checkerFunc(func(_ context.Context, c devices.Check) (devices.Result, error) {
		for _, it := range c.Items {
			kinds = append(kinds, string(it.Kind))
		}
		return devices.Result{}, nil
	})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/v1/ens", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	(&ens.Config{}).Handler(chk).ServeHTTP(rec, req)
	got := strings.Join(kinds, ",")
	if rec.Code != 200 || !strings.Contains(got, "person") || !strings.Contains(got, "plate") || !strings.Contains(got, "container") {
		t.Fatalf("%d %s: items %s", rec.Code, rec.Body, got)
	}
}

type checkerFunc func(context.Context, devices.Check) (devices.Result, error)

func (f checkerFunc) Check(ctx context.Context, c devices.Check) (devices.Result, error) {
	return f(ctx, c)
}
