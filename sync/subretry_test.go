package sync

import (
	"bufio"
	"io"
	"net"
	gosync "sync"
	"testing"
	"time"
)

// refusingBroker is a minimal MQTT 3.1.1 server on loopback that accepts
// connections and refuses every subscription (SUBACK 0x80), counting the
// SUBSCRIBE packets: a cluster whose JetStream cannot create consumers.
type refusingBroker struct {
	ln net.Listener
	mu gosync.Mutex
	n  int
}

func startRefusingBroker(t *testing.T) *refusingBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &refusingBroker{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.serve(c)
		}
	}()
	return b
}

func (b *refusingBroker) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		first, err := r.ReadByte()
		if err != nil {
			return
		}
		size, mult := 0, 1
		for {
			d, err := r.ReadByte()
			if err != nil {
				return
			}
			size += int(d&0x7f) * mult
			mult *= 128
			if d&0x80 == 0 {
				break
			}
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		switch first >> 4 {
		case 1: // CONNECT
			c.Write([]byte{0x20, 2, 0, 0})
		case 8: // SUBSCRIBE: refused
			b.mu.Lock()
			b.n++
			b.mu.Unlock()
			c.Write([]byte{0x90, 3, body[0], body[1], 0x80})
		case 12: // PINGREQ
			c.Write([]byte{0xd0, 0})
		}
	}
}

func (b *refusingBroker) subscribes() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// A subscription the broker keeps refusing is tried again less and less
// often: a fleet retrying every second kept a busy NATS cluster's
// JetStream API failing. It is still retried.
func TestLinkSubscribeRetryBacksOff(t *testing.T) {
	b := startRefusingBroker(t)
	l, err := Dial(LinkConfig{Broker: "tcp://" + b.ln.Addr().String(), ClientID: "post-refused", Logger: quiet,
		Subscriptions: map[string]Handler{"bp/v1/watchlist/delta": func(string, []byte) {}}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	time.Sleep(8 * time.Second)
	// Every second: 8 or 9 attempts; backing off from 1 s: 4 or 5.
	if n := b.subscribes(); n < 3 || n > 6 {
		t.Fatalf("%d SUBSCRIBEs of a refused subscription in 8 s; want 3 to 6 (retried, backing off)", n)
	}
}
