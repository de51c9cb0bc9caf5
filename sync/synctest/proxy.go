package synctest

import (
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections from a loopback port to a target and can
// cut the link the way a pulled cable does: nothing is refused or reset,
// data simply stops arriving, so each side finds out only through its own
// timeouts (MQTT keepalive). Restore lets new connections through again and
// closes the ones that were stalled, which are dead on both sides by then.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	cut     bool
	stalled chan struct{} // closed on Restore, releasing connections that waited
	conns   map[net.Conn]bool
}

// StartProxy listens on a free loopback port, forwarding to target, until
// the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, conns: make(map[net.Conn]bool), stalled: make(chan struct{})}
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	return p
}

// URL is the proxy's address as paho takes it.
func (p *Proxy) URL() string { return "tcp://" + p.ln.Addr().String() }

// Cut stops all traffic: existing connections stall, new ones wait.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return
	}
	p.cut = true
	p.stalled = make(chan struct{})
	for c := range p.conns {
		p.conns[c] = true // severed: its bytes go nowhere from now on
	}
}

// Restore ends a cut.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.cut {
		return
	}
	p.cut = false
	for c, severed := range p.conns {
		if severed {
			c.Close()
			delete(p.conns, c)
		}
	}
	close(p.stalled)
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	p.mu.Lock()
	cut, wait := p.cut, p.stalled
	p.mu.Unlock()
	if cut {
		<-wait // a connection attempt during a cut hangs, as over a dead cable
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	p.conns[client], p.conns[server] = false, false
	p.mu.Unlock()
	go p.pipe(server, client)
	p.pipe(client, server)
}

// pipe copies src to dst until either closes, dropping bytes once the
// connection is severed.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			severed := p.conns[src] || p.conns[dst]
			p.mu.Unlock()
			if !severed {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}
