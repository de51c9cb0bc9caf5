package mrz

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func BenchmarkParse(b *testing.B) {
	for _, z := range []struct {
		name  string
		lines []string
	}{
		{"TD3", []string{td3Line1, td3Line2}},
		{"TD1-long-number", strings.Split(strings.TrimSuffix(td1Zone, "\n"), "\n")},
	} {
		b.Run(z.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(z.lines, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkHTTP(b *testing.B) {
	h := newTestHandler(panicOn{"none"})
	body := `{"lines":["` + td3Line1 + `","` + td3Line2 + `"]}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, HTTPPath, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Body)
		}
	}
}

// BenchmarkStreamRoundTrip sends a TD3 zone over loopback TCP and waits for
// its reply; it reports the p50 and p99 round trip.
func BenchmarkStreamRoundTrip(b *testing.B) {
	addr, _ := startStream(b, &StreamServer{Checker: panicOn{"none"}})
	c := dial(b, addr)
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := c.conn.Write([]byte(td3Zone)); err != nil {
			b.Fatal(err)
		}
		line, err := c.r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "OK ") {
			b.Fatalf("%q %v", line, err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
