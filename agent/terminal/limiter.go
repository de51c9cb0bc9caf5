package terminal

import (
	"sync"
	"time"
)

// limiter counts failed logins per key (an account name or a client
// address). A key with max failures within window is refused, even with the
// right password, until window has passed since it was locked.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	m      map[string]*failures
}

type failures struct {
	n      int
	first  time.Time
	locked time.Time // zero unless locked
}

// maxLimiterKeys bounds the table; beyond it, stale entries are dropped.
const maxLimiterKeys = 10000

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, m: map[string]*failures{}}
}

// allowed reports whether key may try to log in now.
func (l *limiter) allowed(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[key]
	if f == nil {
		return true
	}
	if !f.locked.IsZero() {
		if now.Sub(f.locked) < l.window {
			return false
		}
		delete(l.m, key)
	}
	return true
}

// fail records a failed login for key and reports whether it is now locked.
func (l *limiter) fail(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[key]
	if f == nil || now.Sub(f.first) >= l.window && f.locked.IsZero() {
		if len(l.m) >= maxLimiterKeys {
			l.pruneLocked(now)
		}
		f = &failures{first: now}
		l.m[key] = f
	}
	f.n++
	if f.n >= l.max && f.locked.IsZero() {
		f.locked = now
	}
	return !f.locked.IsZero()
}

// reset forgets key's failures after a successful login.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, key)
}

func (l *limiter) pruneLocked(now time.Time) {
	for k, f := range l.m {
		if now.Sub(f.first) >= l.window && (f.locked.IsZero() || now.Sub(f.locked) >= l.window) {
			delete(l.m, k)
		}
	}
}
