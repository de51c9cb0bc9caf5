package name

import (
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// benchSize is 100,000 entries, or $NAME_BENCH_N (1000000 for the design point).
func benchSize(b *testing.B) int {
	if s := os.Getenv("NAME_BENCH_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("NAME_BENCH_N=%q: want a positive integer", s)
		}
		return n
	}
	return 100_000
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkSearch builds an index of generated names of many origins and
// scripts and searches names taken from it, half of them with a typo,
// reordered or in another spelling. It reports per-search p50 and p99
// (measured one by one), the build time and the index's heap.
func BenchmarkSearch(b *testing.B) {
	n := benchSize(b)
	rng := rand.New(rand.NewPCG(42, 42))
	entries := Generate(rng, n)
	before := heapInUse()
	start := time.Now()
	ix := NewIndex(Options{})
	for _, e := range entries {
		ix.Add(e)
	}
	build := time.Since(start)
	heap := heapInUse() - before
	qs := make([]Query, 4096)
	want := make([]uint32, len(qs))
	for i := range qs {
		e := entries[rng.IntN(len(entries))]
		want[i] = e.ID
		name := e.Names[rng.IntN(len(e.Names))]
		if rng.IntN(2) == 0 {
			name = typo(rng, name)
		}
		qs[i] = Query{Kind: e.Kind, Name: name}
		if rng.IntN(3) == 0 {
			qs[i].BirthDate = e.BirthDate
		}
	}
	// Recall, outside the timed loop: is the entry a query came from in
	// the top ten, or are all ten at least as good (namesakes: generated
	// common names repeat)? The entry's own score comes from Compare.
	found := 0
	byID := make(map[uint32]Entry, len(qs))
	for _, id := range want {
		byID[id] = entries[id-1]
	}
	for i, q := range qs {
		ms := ix.Search(q, 0, 10)
		if r := rankOf(ms, want[i]); r > 0 && r <= 10 || (len(ms) >= 10 && ms[9].Score >= ix.Compare(q, byID[want[i]]).Score-1e-9) {
			found++
		}
	}
	lat := make([]time.Duration, 0, b.N)
	cpu := make([]time.Duration, 0, b.N)
	runtime.LockOSThread() // so that thread CPU time is this search's
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c0 := threadCPU()
		t0 := time.Now()
		ix.Search(qs[i%len(qs)], DefaultThreshold, 10)
		lat = append(lat, time.Since(t0))
		cpu = append(cpu, threadCPU()-c0)
	}
	b.StopTimer()
	slices.Sort(lat)
	slices.Sort(cpu)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(cpu[len(cpu)/2].Microseconds()), "cpu-p50-µs")
	b.ReportMetric(float64(cpu[len(cpu)*99/100].Microseconds()), "cpu-p99-µs")
	b.ReportMetric(build.Seconds(), "build-s")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
	b.ReportMetric(float64(n), "entries")
	b.ReportMetric(float64(found)/float64(len(qs)), "top10-recall")
}

// BenchmarkBuild builds an index of generated names ($NAME_BENCH_N) one
// entry at a time (Add), and prepared on every core then added under the
// lock (Prepared: what AddAll and screen do, giving the same index). It
// reports the CPU time per entry of the work done under the index's lock,
// which one core does and which bounds a load's wall time
// (serial-ns/entry, the calling thread's own CPU, so that other processes
// do not count), besides the wall time.
func BenchmarkBuild(b *testing.B) {
	entries := Generate(rand.New(rand.NewPCG(42, 42)), benchSize(b))
	perEntry := func(b *testing.B, d time.Duration) {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N*len(entries)), "serial-ns/entry")
	}
	b.Run("Add", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var serial time.Duration
		for b.Loop() {
			ix := NewIndex(Options{})
			t0 := threadCPU()
			for _, e := range entries {
				ix.Add(e)
			}
			serial += threadCPU() - t0
		}
		perEntry(b, serial)
	})
	b.Run("Prepared", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var serial time.Duration
		for b.Loop() {
			ix := NewIndex(Options{})
			ps := make([]Prepared, len(entries))
			var wg sync.WaitGroup
			workers := runtime.GOMAXPROCS(0)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < len(entries); i += workers {
						ps[i] = ix.Prepare(entries[i])
					}
				}()
			}
			wg.Wait()
			t0 := threadCPU()
			for _, p := range ps {
				ix.AddPrepared(p)
			}
			serial += threadCPU() - t0
		}
		perEntry(b, serial)
	})
}
