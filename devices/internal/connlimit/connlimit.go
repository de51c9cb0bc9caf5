// Package connlimit bounds the connections a line listener serves: in all,
// and from any one source address, so that one host holding idle
// connections cannot lock out every other device. It knows nothing of the
// protocols served.
package connlimit

import (
	"net"
	"sync"
)

// Limiter counts open connections, in all and per source IP address. The
// zero value is not usable: create one with New. It is safe for concurrent
// use.
type Limiter struct {
	max, perSource int

	mu       sync.Mutex
	total    int
	bySource map[string]int
}

// New returns a Limiter allowing max connections in all and perSource from
// one source address; perSource above max is lowered to max.
func New(max, perSource int) *Limiter {
	return &Limiter{max: max, perSource: min(perSource, max), bySource: make(map[string]int)}
}

// Acquire takes a slot for a connection from remote and returns the
// function that gives it back (call it once, when the connection ends), or
// ErrSourceBusy or ErrBusy.
func (l *Limiter) Acquire(remote net.Addr) (release func(), err error) {
	src := source(remote)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.total >= l.max:
		return nil, ErrBusy
	case l.bySource[src] >= l.perSource:
		return nil, ErrSourceBusy
	}
	l.total++
	l.bySource[src]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.bySource[src]--; l.bySource[src] <= 0 {
				delete(l.bySource, src)
			}
		})
	}, nil
}

// source is the IP address of remote without its port; addresses that are
// not TCP or UDP count as one source each by their string.
func source(remote net.Addr) string {
	switch a := remote.(type) {
	case *net.TCPAddr:
		return a.IP.String()
	case *net.UDPAddr:
		return a.IP.String()
	}
	if remote == nil {
		return ""
	}
	if host, _, err := net.SplitHostPort(remote.String()); err == nil {
		return host
	}
	return remote.String()
}
