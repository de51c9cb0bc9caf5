//go:build !linux

package bench

type threadUsage struct {
	cpuNs                int64
	minor, major         int64
	voluntary, preempted int64
}

// usageOfThread reads nothing where the thread's usage is not known.
func usageOfThread() threadUsage { return threadUsage{} }
