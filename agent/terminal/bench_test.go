package terminal

import (
	"strconv"
	"testing"
)

// BenchmarkPublish measures what a hit costs the agent's check path: keep
// it, render its event once and hand it to ten open pages (drained here,
// so none falls behind and is dropped).
func BenchmarkPublish(b *testing.B) {
	r := newRig(b, testConfig(), false)
	var subs []*subscriber
	for range 10 {
		subs = append(subs, r.t.subscribe(RoleOfficer))
	}
	hits := make([]Hit, b.N)
	for i := range hits {
		hits[i] = testHit("hit-"+strconv.Itoa(i), "border")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range hits {
		r.t.Publish(hits[i])
		for _, s := range subs {
			select {
			case <-s.ch:
			case <-s.done:
				b.Fatal("a drained page was dropped")
			}
		}
	}
}
