package bench

import "golang.org/x/sys/unix"

// threadUsage is what the calling OS thread has used so far: CPU time in
// nanoseconds, page faults served from memory (minor) and from disk
// (major), and the times it was switched out, waiting (voluntary) or
// preempted (involuntary).
type threadUsage struct {
	cpuNs                int64
	minor, major         int64
	voluntary, preempted int64
}

// usageOfThread reads the calling thread's usage; the caller has locked
// the goroutine to its thread.
func usageOfThread() threadUsage {
	var ru unix.Rusage
	var ts unix.Timespec
	if unix.Getrusage(unix.RUSAGE_THREAD, &ru) != nil || unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return threadUsage{}
	}
	return threadUsage{cpuNs: ts.Nano(), minor: ru.Minflt, major: ru.Majflt, voluntary: ru.Nvcsw, preempted: ru.Nivcsw}
}
