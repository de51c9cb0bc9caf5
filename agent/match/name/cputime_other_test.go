//go:build !linux

package name

import "time"

// threadCPU is not available here; the benchmark then reports zeros.
func threadCPU() time.Duration { return 0 }
