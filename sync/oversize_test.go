package sync

import (
	"crypto/tls"
	"io"
	"runtime"
	gosync "sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/sync/synctest"
)

// rawPublish connects to a TLS broker as id and publishes payloadLen bytes
// of 'x' with QoS 1 on topic, streaming them from a small buffer so that
// the publisher itself allocates nothing of their size.
func rawPublish(t *testing.T, addr string, tc *tls.Config, id, topic string, packetID uint16, payloadLen int) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	remaining := func(n int) []byte {
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
	str := func(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }
	// CONNECT, MQTT 3.1.1, clean session, keepalive 60 s.
	vh := append(str("MQTT"), 4, 0x02, 0, 60)
	vh = append(vh, str(id)...)
	c.Write(append(append([]byte{0x10}, remaining(len(vh))...), vh...))
	ack := make([]byte, 4)
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("%s: CONNACK %x: %v", id, ack, err)
	}
	vh = append(str(topic), byte(packetID>>8), byte(packetID))
	c.Write(append(append([]byte{0x32}, remaining(len(vh)+payloadLen)...), vh...))
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = 'x'
	}
	for left := payloadLen; left > 0; left -= min(left, len(chunk)) {
		if _, err := c.Write(chunk[:min(left, len(chunk))]); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 0x40 {
		t.Fatalf("%s: PUBACK %x: %v", id, ack, err)
	}
	c.Write([]byte{0xe0, 0}) // DISCONNECT
}

// recorder keeps the sizes of the messages a handler got and the
// refusals reported.
type recorder struct {
	mu      gosync.Mutex
	sizes   []int
	refused []int
}

func (r *recorder) handle(_ string, p []byte) {
	r.mu.Lock()
	r.sizes = append(r.sizes, len(p))
	r.mu.Unlock()
}

func (r *recorder) oversized(_ string, n int) {
	r.mu.Lock()
	r.refused = append(r.refused, n)
	r.mu.Unlock()
}

func (r *recorder) counts() (got, refused int, largest int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.sizes {
		largest = max(largest, n)
	}
	return len(r.sizes), len(r.refused), largest
}

// A 50 MB message on a topic the agent listens to is refused before it is
// read whole: over TLS, the agent allocates a small part of its size, no
// handler sees it, it is reported, the link goes on delivering normal
// messages, and the broker does not deliver it again on the next connect.
func TestOversizedMessageRefusedBeforeRead(t *testing.T) {
	pki := synctest.NewPKI(t)
	acl := "../configs/mosquitto/acl"
	broker := synctest.StartMosquittoTLS(t, pki, acl)
	topic := AgentTopic("post-a", "acks")
	rec := &recorder{}
	agentTLS := pki.ClientTLS("post-a")
	dial := func() *Link {
		l, err := Dial(LinkConfig{Broker: "ssl://" + broker.Addr(), ClientID: "post-a", TLS: agentTLS, KeepAlive: 2 * time.Second,
			Subscriptions: map[string]Handler{topic: rec.handle}, OnOversized: rec.oversized, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); !l.Connected(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("link not connected after 10s")
			}
		}
		time.Sleep(200 * time.Millisecond) // subscribed in OnConnect
		return l
	}
	link := dial()
	centralTLS := pki.ClientTLS("central")
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30s", what)
			}
		}
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rawPublish(t, broker.Addr(), centralTLS, "central", topic, 1, 50<<20)
	rawPublish(t, broker.Addr(), centralTLS, "central", topic, 2, 10)
	waitFor("the small message after the big one", func() bool { got, _, _ := rec.counts(); return got >= 1 })
	runtime.ReadMemStats(&after)
	// TLS records and paho's own buffers cost something; the 50 MB
	// message would cost at least its size.
	t.Logf("allocated %d KB while the 50 MB message came in", (after.TotalAlloc-before.TotalAlloc)>>10)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("allocated %d MB while a 50 MB message came in, want it never held", grew>>20)
	}
	got, refused, largest := rec.counts()
	if got != 1 || largest != 10 || refused != 1 {
		t.Errorf("handler got %d messages (largest %d bytes), %d refused; want the small one only, and one refusal", got, largest, refused)
	}

	// Acknowledged, so not delivered again to the persistent session.
	link.Close()
	link = dial()
	defer link.Close()
	rawPublish(t, broker.Addr(), centralTLS, "central", topic, 3, 10)
	waitFor("the next small message", func() bool { got, _, _ := rec.counts(); return got >= 2 })
	time.Sleep(300 * time.Millisecond)
	if _, refused, _ := rec.counts(); refused != 1 {
		t.Errorf("the oversized message was refused %d times, want once and not again after a reconnect", refused)
	}
}
