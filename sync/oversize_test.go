package sync

import (
	"runtime"
	gosync "sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/sync/synctest"
)

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
	synctest.PublishStream(t, broker.Addr(), centralTLS, "central", topic, 50<<20)
	synctest.PublishStream(t, broker.Addr(), centralTLS, "central", topic, 10)
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
	synctest.PublishStream(t, broker.Addr(), centralTLS, "central", topic, 10)
	waitFor("the next small message", func() bool { got, _, _ := rec.counts(); return got >= 2 })
	time.Sleep(300 * time.Millisecond)
	if _, refused, _ := rec.counts(); refused != 1 {
		t.Errorf("the oversized message was refused %d times, want once and not again after a reconnect", refused)
	}
}
