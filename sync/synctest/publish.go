package synctest

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// PublishStream connects to the broker at addr as clientID (over TLS when
// tc is not nil, with a clean session), publishes size bytes of 'x' on
// topic with QoS 1, waits for the broker's PUBACK and disconnects. The
// payload streams from a 64 KiB buffer, so that a test can measure what a
// subscriber in its own process allocates for a message of any size.
func PublishStream(t testing.TB, addr string, tc *tls.Config, clientID, topic string, size int) {
	t.Helper()
	var c net.Conn
	var err error
	if tc != nil {
		c, err = tls.Dial("tcp", addr, tc)
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	str := func(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }
	// CONNECT: MQTT 3.1.1, clean session, keepalive 60 s.
	vh := append(append(str("MQTT"), 4, 0x02, 0, 60), str(clientID)...)
	if _, err := c.Write(append(append([]byte{0x10}, remainingLength(len(vh))...), vh...)); err != nil {
		t.Fatalf("publish: connect: %v", err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("publish: %s: CONNACK %x: %v", clientID, ack, err)
	}
	vh = append(str(topic), 0, 1) // packet identifier 1
	if _, err := c.Write(append(append([]byte{0x32}, remainingLength(len(vh)+size)...), vh...)); err != nil {
		t.Fatalf("publish: %v", err)
	}
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = 'x'
	}
	for left := size; left > 0; left -= min(left, len(chunk)) {
		if _, err := c.Write(chunk[:min(left, len(chunk))]); err != nil {
			t.Fatalf("publish: payload: %v", err)
		}
	}
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 0x40 {
		t.Fatalf("publish: %s: PUBACK %x: %v", clientID, ack, err)
	}
	c.Write([]byte{0xe0, 0}) // DISCONNECT
}

// remainingLength encodes an MQTT remaining length.
func remainingLength(n int) []byte {
	var out []byte
	for {
		b := byte(n % 128)
		if n /= 128; n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			return out
		}
	}
}
