package connlimit

import (
	"errors"
	"net"
	"testing"
)

func addr(ip string, port int) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: port} }

func TestLimiter(t *testing.T) {
	l := New(3, 2)
	r1, err1 := l.Acquire(addr("192.0.2.1", 1))
	r2, err2 := l.Acquire(addr("192.0.2.1", 2))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := l.Acquire(addr("192.0.2.1", 3)); !errors.Is(err, ErrSourceBusy) {
		t.Fatalf("third from one source: %v", err)
	}
	r3, err := l.Acquire(addr("192.0.2.2", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(addr("192.0.2.3", 1)); !errors.Is(err, ErrBusy) {
		t.Fatalf("over the total: %v", err)
	}
	r1()
	r1() // twice is once
	if _, err := l.Acquire(addr("192.0.2.3", 1)); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, err := l.Acquire(addr("192.0.2.1", 4)); !errors.Is(err, ErrBusy) {
		t.Fatalf("total full again: %v", err)
	}
	r2()
	r3()
	if len(l.bySource) != 1 || l.total != 1 {
		t.Fatalf("counts left: %d sources, %d total", len(l.bySource), l.total)
	}
}
