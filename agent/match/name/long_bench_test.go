package name

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
)

// longQueryTokens is the least number of normalised tokens of a query in
// BenchmarkSearchLong: the tail of the protocol's timings is long names,
// whose time goes into scoring their candidates in full.
const longQueryTokens = 8

// longEvalQueries returns the protocol's development queries (OFAC SDN
// 2021-07, evalQuery at the development seed) whose names normalise to
// longQueryTokens tokens or more, with the list's entries.
func longEvalQueries(b *testing.B, lx *lexicon, list []listEntry) []Query {
	rng := rand.New(rand.NewPCG(evalDevSeed, 0x9e))
	var qs []Query
	for _, l := range list {
		q := evalQuery(rng, l)
		if len(normalize(lx, q.Kind, q.Name)) >= longQueryTokens {
			qs = append(qs, q)
		}
	}
	return qs
}

// BenchmarkSearchLong searches the protocol's long development queries
// inside $NAME_BENCH_N generated alerts (100,000 by default) and the SDN
// list, at the default threshold, and reports per-search thread-CPU p50
// and p99 besides ns/op and allocations.
func BenchmarkSearchLong(b *testing.B) {
	list := loadOFACList(b, "ofac/sdn_2021-07", "sdn.csv", "alt.csv")
	ix := evalIndex(list, evalDevSeed, benchSize(b), Options{})
	qs := longEvalQueries(b, ix.lx, list)
	if len(qs) == 0 {
		b.Fatal("no long query among the development queries")
	}
	lat := make([]time.Duration, 0, b.N)
	runtime.LockOSThread() // so that thread CPU time is this search's
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c0 := threadCPU()
		ix.Search(qs[i%len(qs)], DefaultThreshold, 10)
		lat = append(lat, threadCPU()-c0)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "cpu-p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "cpu-p99-µs")
	b.ReportMetric(float64(len(qs)), "queries")
}
