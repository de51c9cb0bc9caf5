package synctest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// PacketProxy forwards MQTT connections from a loopback port to a broker
// one whole packet at a time, and shows each packet to the test on its
// way: up (client to broker) and down (broker to client) say whether it
// passes. A nil hook passes everything. Hooks are called from the
// connections' goroutines.
type PacketProxy struct {
	ln       net.Listener
	target   string
	up, down func(head, body []byte) bool

	mu    sync.Mutex
	conns []net.Conn
}

// StartPacketProxy listens on a free loopback port, forwarding to target
// (host:port) until the test ends.
func StartPacketProxy(t testing.TB, target string, up, down func(head, body []byte) bool) *PacketProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &PacketProxy{ln: ln, target: target, up: up, down: down}
	t.Cleanup(func() { ln.Close(); p.CloseConnections() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, b)
			p.mu.Unlock()
			go forwardPackets(b, c, p.up)
			go forwardPackets(c, b, p.down)
		}
	}()
	return p
}

// URL is the proxy's address as paho takes it.
func (p *PacketProxy) URL() string { return "tcp://" + p.ln.Addr().String() }

// CloseConnections closes every connection so far, as a broker restart
// would; the proxy goes on accepting.
func (p *PacketProxy) CloseConnections() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// forwardPackets copies src's packets to dst, leaving out those pass
// refuses, until either side closes; then it closes dst.
func forwardPackets(dst, src net.Conn, pass func(head, body []byte) bool) {
	defer dst.Close()
	br := bufio.NewReader(src)
	for {
		head, body, err := readPacket(br)
		if err != nil {
			return
		}
		if pass != nil && !pass(head, body) {
			continue
		}
		if _, err := dst.Write(append(head, body...)); err != nil {
			return
		}
	}
}

// DropProxy forwards MQTT connections from a loopback port to a broker and
// drops chosen PUBLISH packets on their way to the client, as a broker
// under pressure drops a QoS 0 message, or a connection loses one that
// nobody sends again. Everything else passes unchanged.
type DropProxy struct {
	*PacketProxy
	drop func(topic string, qos byte) bool

	mu      sync.Mutex
	dropped []string
}

// StartDropProxy listens on a free loopback port, forwarding to target
// (host:port) until the test ends; drop says which PUBLISH packets from
// the broker never reach the client. It is called from the connections'
// goroutines.
func StartDropProxy(t testing.TB, target string, drop func(topic string, qos byte) bool) *DropProxy {
	t.Helper()
	p := &DropProxy{drop: drop}
	p.PacketProxy = StartPacketProxy(t, target, nil, p.pass)
	return p
}

// Dropped returns the topics of the PUBLISH packets dropped so far, in
// order.
func (p *DropProxy) Dropped() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.dropped...)
}

// pass says whether a packet from the broker reaches the client: all but
// the PUBLISH packets drop chooses.
func (p *DropProxy) pass(head, body []byte) bool {
	if head[0]>>4 != 3 || len(body) < 2 { // PUBLISH: topic length, topic, ...
		return true
	}
	n := int(body[0])<<8 | int(body[1])
	if 2+n > len(body) || !p.drop(string(body[2:2+n]), head[0]>>1&3) {
		return true
	}
	p.mu.Lock()
	p.dropped = append(p.dropped, string(body[2:2+n]))
	p.mu.Unlock()
	return false
}

// readPacket reads one MQTT packet: its fixed header (type byte and
// remaining length) and its body.
func readPacket(r *bufio.Reader) (head, body []byte, err error) {
	b, err := r.ReadByte()
	if err != nil {
		return nil, nil, err
	}
	head = []byte{b}
	var n, shift int
	for {
		d, err := r.ReadByte()
		if err != nil {
			return nil, nil, err
		}
		head = append(head, d)
		n |= int(d&0x7f) << shift
		shift += 7
		if d&0x80 == 0 {
			break
		}
		if shift > 21 {
			return nil, nil, fmt.Errorf("mqtt remaining length over 4 bytes")
		}
	}
	body = make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, nil, err
	}
	return head, body, nil
}
