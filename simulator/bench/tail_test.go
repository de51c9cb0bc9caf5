package bench

import (
	"testing"
	"time"
)

// The tail of a kind is its checks at or above the p99, and what they
// spent is kept apart from the calm checks', so that a run on a loaded
// machine still says whether its p99 was the code's or the machine's.
func TestTailSeparatesPreemptedChecks(t *testing.T) {
	var costs []checkCost
	for i := range 200 {
		c := checkCost{wall: 5 * time.Microsecond, use: threadUsage{cpuNs: 5000}}
		if i%50 == 0 { // a held identifier whose page faulted
			c = checkCost{wall: 9 * time.Microsecond, use: threadUsage{cpuNs: 9000, minor: 1}}
		}
		if i == 7 || i == 8 { // preempted: slow by the wall only
			c = checkCost{wall: 900 * time.Microsecond, use: threadUsage{cpuNs: 6000, preempted: 1}}
		}
		costs = append(costs, c)
	}
	tl := tailOf(costs, heapCounters{cycles: 3, objects: 100}, heapCounters{cycles: 3, objects: 100 + 200*4})
	if tl.N != 2 || tl.Preempted != 2 || tl.WallP50us != 900 || tl.CPUP50us != 6 {
		t.Errorf("tail: %+v; want the 2 preempted checks, 900 µs wall, 6 µs of CPU", tl)
	}
	if tl.Unpreempted != 198 || tl.UnpreemptedP99us != 9 || tl.UnpreemptedTailMinor != 2 {
		t.Errorf("calm checks: %+v; want 198, p99 9 µs, their tail's 2 faults", tl)
	}
	if tl.AllMinorFaults != 4 || tl.AllPreempted != 2 || tl.GCCycles != 0 || tl.AllocsPerCheck != 4 {
		t.Errorf("totals: %+v", tl)
	}
}
