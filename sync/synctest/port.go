package synctest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that the kernel will not hand to anyone else; see PickPort.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := PickPort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// PickPort returns a TCP port on 127.0.0.1 that was free a moment ago.
//
// It is drawn below the kernel's ephemeral range, never from it: a broker
// a test kills and restarts on the same port is down for a moment, and a
// port from the ephemeral range may in that moment become the local end
// of any connection on the machine or another test's ":0" listener (seen
// in CI: a nats-server node could not listen again on its MQTT port).
// Below that range the kernel assigns nothing by itself, so only another
// PickPort could take the port, and it skips ports it gave out before in
// this process and draws at random across thousands to keep apart from
// other test processes.
func PickPort() (int, error) {
	lo, hi := pickRange()
	for range 200 {
		p := lo + rand.IntN(hi-lo)
		if !handedOut.claim(p) {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue // in use: draw again
		}
		ln.Close()
		return p, nil
	}
	return 0, fmt.Errorf("no free TCP port on 127.0.0.1 in %d-%d after 200 draws", lo, hi-1)
}

// pickRange is the half-open range PickPort draws from: from 10000 up to
// the start of the ephemeral range (/proc/sys/net/ipv4/ip_local_port_range,
// 32768 by default), away from the well-known and registered ports most
// services use.
func pickRange() (lo, hi int) {
	lo, hi = 10000, 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(b))
	if len(f) == 2 {
		if start, err := strconv.Atoi(f[0]); err == nil && start > lo+1000 {
			hi = start
		}
	}
	return lo, hi
}

// portSet is the ports PickPort has handed out in this process.
type portSet struct {
	mu    sync.Mutex
	ports map[int]bool
}

// claim marks p handed out and reports whether it was not before.
func (s *portSet) claim(p int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ports[p] {
		return false
	}
	if s.ports == nil {
		s.ports = make(map[int]bool)
	}
	s.ports[p] = true
	return true
}

// handedOut is process-wide because ports are: two tests of one binary
// must not be given the same port however they reach PickPort.
var handedOut portSet
