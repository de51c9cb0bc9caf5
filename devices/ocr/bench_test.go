package ocr

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func BenchmarkParseJSON(b *testing.B) {
	data := []byte(`{"value":"CSQU 305438 3","confidence":0.97,"lane":"gate-2-in","image":"https://ocr.local/img/77.jpg","device":"gate-ocr-2","time":"2026-11-27T03:14:07Z"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadCheckCorrected(b *testing.B) {
	r := Read{Value: "MAEU845O125"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Check("ocr", testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandler serves one read per request in process (no network)
// and reports p50 and p99.
func BenchmarkHandler(b *testing.B) {
	h := &Handler{Checker: &recordingChecker{}, Logger: slog.New(slog.DiscardHandler)}
	body := `{"value":"MAEU845O125","confidence":71,"lane":"gate-2-in","device":"gate-ocr-2","time":"2026-11-27T03:14:31.120Z"}`
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}
