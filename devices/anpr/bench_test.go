package anpr

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func BenchmarkParseLine(b *testing.B) {
	line := []byte("2026-11-27T03:14:07Z;3;B MW 1234;D;0.93")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseLine(line); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseJSON(b *testing.B) {
	data := []byte(`{"time":"2026-11-27T03:14:07Z","lane":"3","plate":"B MW 1234","country":"D","confidence":0.93,"camera":"gate-a-in","image":"https://cam-a.local/img/000123.jpg"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadCheck(b *testing.B) {
	r := Read{Plate: "AB 1O3 CD", Country: "I", Confidence: 0.6}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Check("cam", testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLineServerRoundTrip measures one read's round trip over
// loopback TCP (write the line, read the reply) with a checker that does
// nothing, and reports p50 and p99.
func BenchmarkLineServerRoundTrip(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &LineServer{Checker: &recordingChecker{}, ReadsPerSecond: -1, Logger: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	line := []byte("2026-11-27T03:14:07Z;3;B MW 1234;D;0.93\n")
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		if _, err := conn.Write(line); err != nil {
			b.Fatal(err)
		}
		reply, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(reply, "OK ") {
			b.Fatalf("%q %v", reply, err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}
