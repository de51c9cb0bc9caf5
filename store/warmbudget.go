package store

import (
	"math"
	"sync"
)

// WarmBudget is the memory that the replicas of one process may fill by
// warming (Options.Warm), together: a post's main replica and its scope
// replicas warm side by side, and each weighing its own file against the
// memory available would let them push each other's pages out. A replica
// that does not fit what is left maps only its pages already cached, as
// one larger than the memory does. Safe for concurrent use.
type WarmBudget struct {
	mu    sync.Mutex
	limit int64 // 0: nine tenths of MemAvailable when first asked
	left  int64
	set   bool
}

// NewWarmBudget returns a budget of limit bytes, or, with limit <= 0,
// of nine tenths of the memory the kernel says is available when the
// first replica warms (no limit where the kernel does not say).
func NewWarmBudget(limit int64) *WarmBudget { return &WarmBudget{limit: max(limit, 0)} }

// take reserves n bytes, given the memory available now (0 if unknown),
// and reports whether they fit.
func (b *WarmBudget) take(n, avail int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.set {
		switch {
		case b.limit > 0:
			b.left = b.limit
		case avail > 0:
			b.left = avail / 10 * 9
		default:
			b.left = math.MaxInt64
		}
		b.set = true
	}
	if n > b.left {
		return false
	}
	b.left -= n
	return true
}

// give returns n bytes taken before.
func (b *WarmBudget) give(n int64) {
	b.mu.Lock()
	b.left += n
	b.mu.Unlock()
}
