package bench

import (
	"runtime/metrics"
	"slices"
	"time"
)

// Tail says where a kind's slowest checks went (--tail): the checks at
// or above the kind's p99, what they spent on the CPU of their thread,
// the page faults they took and how often they were switched out, beside
// the same over all the kind's checks and the collector's work meanwhile.
// A check whose wall time far exceeds its CPU time waited: on the disk
// (major faults, voluntary switches) or for a core (preempted).
type Tail struct {
	N           int     `json:"n"`            // checks at or above the p99
	WallP50us   float64 `json:"wall_p50_us"`  // their wall time, median
	CPUP50us    float64 `json:"cpu_p50_us"`   // their thread CPU time, median
	MinorFaults int64   `json:"minor_faults"` // summed over them
	MajorFaults int64   `json:"major_faults"`
	Preempted   int     `json:"preempted"` // of them, how many were switched out involuntarily
	Blocked     int     `json:"blocked"`   // ... and how many waited (disk, a lock)

	// The same for the checks never preempted: what a quiet machine's
	// p99 would be made of.
	Unpreempted            int     `json:"unpreempted"`
	UnpreemptedP50us       float64 `json:"unpreempted_p50_us"`
	UnpreemptedP99us       float64 `json:"unpreempted_p99_us"`
	UnpreemptedTailCPUus   float64 `json:"unpreempted_tail_cpu_p50_us"`
	UnpreemptedTailMinor   int64   `json:"unpreempted_tail_minor_faults"`
	UnpreemptedTailMajor   int64   `json:"unpreempted_tail_major_faults"`
	UnpreemptedTailBlocked int     `json:"unpreempted_tail_blocked"`
	CPUP99us               float64 `json:"cpu_p99_us"` // thread CPU time of all the kind's checks, p99
	// Mean CPU time of the checks that took a minor fault and of those
	// that took none.
	CPUWithFaultus    float64 `json:"cpu_with_fault_mean_us"`
	CPUWithoutFaultus float64 `json:"cpu_without_fault_mean_us"`

	AllMinorFaults int64   `json:"all_minor_faults"` // over all the kind's checks
	AllMajorFaults int64   `json:"all_major_faults"`
	AllPreempted   int     `json:"all_preempted"`
	GCCycles       uint64  `json:"gc_cycles"`        // collections that ended during the kind's checks
	AllocsPerCheck float64 `json:"allocs_per_check"` // heap objects allocated, mean
	BytesPerCheck  float64 `json:"bytes_per_check"`
}

// checkCost is one check's wall time and its thread's usage meanwhile.
type checkCost struct {
	wall time.Duration
	use  threadUsage
}

func (u threadUsage) minus(v threadUsage) threadUsage {
	return threadUsage{cpuNs: u.cpuNs - v.cpuNs, minor: u.minor - v.minor, major: u.major - v.major,
		voluntary: u.voluntary - v.voluntary, preempted: u.preempted - v.preempted}
}

// heapCounters reads the collector's cycles and the heap allocations so
// far.
type heapCounters struct{ cycles, objects, bytes uint64 }

func readHeapCounters() heapCounters {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	var c heapCounters
	if s[0].Value.Kind() == metrics.KindUint64 {
		c.cycles = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		c.objects = s[1].Value.Uint64()
	}
	if s[2].Value.Kind() == metrics.KindUint64 {
		c.bytes = s[2].Value.Uint64()
	}
	return c
}

// tailOf summarises the costs of a kind's checks, between heap counters
// read before and after them.
func tailOf(costs []checkCost, before, after heapCounters) Tail {
	n := len(costs)
	if n == 0 {
		return Tail{}
	}
	t := Tail{GCCycles: after.cycles - before.cycles,
		AllocsPerCheck: float64(after.objects-before.objects) / float64(n),
		BytesPerCheck:  float64(after.bytes-before.bytes) / float64(n)}
	for _, c := range costs {
		t.AllMinorFaults += c.use.minor
		t.AllMajorFaults += c.use.major
		if c.use.preempted > 0 {
			t.AllPreempted++
		}
	}
	var calm []checkCost
	cpuAll := make([]time.Duration, 0, n)
	var withF, withoutF time.Duration
	var nWithF, nWithoutF int
	for _, c := range costs {
		cpuAll = append(cpuAll, time.Duration(c.use.cpuNs))
		if c.use.minor > 0 {
			withF += time.Duration(c.use.cpuNs)
			nWithF++
		} else {
			withoutF += time.Duration(c.use.cpuNs)
			nWithoutF++
		}
		if c.use.preempted == 0 {
			calm = append(calm, c)
		}
	}
	slices.Sort(cpuAll)
	t.CPUP99us = us(cpuAll[n*99/100])
	if nWithF > 0 {
		t.CPUWithFaultus = us(withF / time.Duration(nWithF))
	}
	if nWithoutF > 0 {
		t.CPUWithoutFaultus = us(withoutF / time.Duration(nWithoutF))
	}
	if len(calm) > 0 {
		slices.SortFunc(calm, func(a, b checkCost) int { return int(a.wall - b.wall) })
		t.Unpreempted = len(calm)
		t.UnpreemptedP50us, t.UnpreemptedP99us = us(calm[len(calm)/2].wall), us(calm[len(calm)*99/100].wall)
		ct := calm[len(calm)*99/100:]
		cpus := make([]time.Duration, len(ct))
		for i, c := range ct {
			cpus[i] = time.Duration(c.use.cpuNs)
			t.UnpreemptedTailMinor += c.use.minor
			t.UnpreemptedTailMajor += c.use.major
			if c.use.voluntary > 0 {
				t.UnpreemptedTailBlocked++
			}
		}
		slices.Sort(cpus)
		t.UnpreemptedTailCPUus = us(cpus[len(cpus)/2])
	}
	sorted := slices.Clone(costs)
	slices.SortFunc(sorted, func(a, b checkCost) int { return int(a.wall - b.wall) })
	slow := sorted[n*99/100:]
	t.N = len(slow)
	walls := make([]time.Duration, len(slow))
	cpus := make([]time.Duration, len(slow))
	for i, c := range slow {
		walls[i], cpus[i] = c.wall, time.Duration(c.use.cpuNs)
		t.MinorFaults += c.use.minor
		t.MajorFaults += c.use.major
		if c.use.preempted > 0 {
			t.Preempted++
		}
		if c.use.voluntary > 0 {
			t.Blocked++
		}
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	t.WallP50us, t.CPUP50us = us(walls[len(walls)/2]), us(cpus[len(cpus)/2])
	return t
}
