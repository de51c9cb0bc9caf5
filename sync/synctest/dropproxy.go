package synctest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// DropProxy forwards MQTT connections from a loopback port to a broker and
// drops chosen PUBLISH packets on their way to the client, as a broker
// under pressure drops a QoS 0 message, or a connection loses one that
// nobody sends again. Everything else passes unchanged.
type DropProxy struct {
	ln     net.Listener
	target string
	drop   func(topic string, qos byte) bool

	mu      sync.Mutex
	dropped []string
	conns   []net.Conn
}

// StartDropProxy listens on a free loopback port, forwarding to target
// (host:port) until the test ends; drop says which PUBLISH packets from
// the broker never reach the client. It is called from the connections'
// goroutines.
func StartDropProxy(t testing.TB, target string, drop func(topic string, qos byte) bool) *DropProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &DropProxy{ln: ln, target: target, drop: drop}
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
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
			go func() { io.Copy(b, c); b.Close() }()
			go p.filter(c, b)
		}
	}()
	return p
}

// URL is the proxy's address as paho takes it.
func (p *DropProxy) URL() string { return "tcp://" + p.ln.Addr().String() }

// Dropped returns the topics of the PUBLISH packets dropped so far, in
// order.
func (p *DropProxy) Dropped() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.dropped...)
}

// filter copies the broker's packets to the client, one whole packet at a
// time, leaving out the PUBLISH packets drop chooses.
func (p *DropProxy) filter(client, broker net.Conn) {
	defer client.Close()
	br := bufio.NewReader(broker)
	for {
		raw, body, err := readPacket(br)
		if err != nil {
			return
		}
		if raw[0]>>4 == 3 && len(body) >= 2 { // PUBLISH: topic length, topic, ...
			n := int(body[0])<<8 | int(body[1])
			qos := raw[0] >> 1 & 3
			if 2+n <= len(body) && p.drop(string(body[2:2+n]), qos) {
				p.mu.Lock()
				p.dropped = append(p.dropped, string(body[2:2+n]))
				p.mu.Unlock()
				continue
			}
		}
		if _, err := client.Write(append(raw, body...)); err != nil {
			return
		}
	}
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
