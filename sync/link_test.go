package sync

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/sync/synctest"
)

// lockedBuffer is a log sink that the link's goroutines may write while
// the test reads it.
type lockedBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A link that cannot reach its broker says so at once, naming the broker,
// and says again when it reaches it: an agent cut off from central must
// not look healthy and silent.
func TestLinkSaysWhenTheBrokerIsUnreachable(t *testing.T) {
	broker := synctest.StartMosquitto(t)
	broker.Kill()
	var logs lockedBuffer
	l, err := Dial(LinkConfig{Broker: broker.URL(), ClientID: "post-unreachable", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(logs.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the link's log within 10 s:\n%s", what, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("cannot reach the MQTT broker")
	if !strings.Contains(logs.String(), broker.Addr()) {
		t.Errorf("the warning does not name the broker %s:\n%s", broker.Addr(), logs.String())
	}
	time.Sleep(2500 * time.Millisecond) // two more attempts: not two more warnings
	if n := strings.Count(logs.String(), "cannot reach the MQTT broker"); n != 1 {
		t.Errorf("%d warnings in 3 s of retries; want 1 until the next reminder", n)
	}
	broker.Restart()
	waitFor("MQTT broker reached")
}

// subscribeRecorder sits between a link and its broker and notes the
// topic filters of every SUBSCRIBE packet the client sends, in order.
type subscribeRecorder struct {
	*synctest.PacketProxy
	mu     gosync.Mutex
	topics []string
	qos    []byte // the QoS asked for each of topics
}

func startSubscribeRecorder(t *testing.T, target string) *subscribeRecorder {
	t.Helper()
	r := &subscribeRecorder{}
	r.PacketProxy = synctest.StartPacketProxy(t, target, r.note, nil)
	return r
}

// note records the filters of a SUBSCRIBE on its way to the broker.
func (r *subscribeRecorder) note(head, body []byte) bool {
	if head[0]>>4 == 8 { // SUBSCRIBE: packet ID, then (length, filter, options)...
		for p := body[2:]; len(p) >= 2; {
			l := int(p[0])<<8 | int(p[1])
			r.mu.Lock()
			r.topics = append(r.topics, string(p[2:2+l]))
			r.qos = append(r.qos, p[2+l]&3)
			r.mu.Unlock()
			p = p[2+l+1:]
		}
	}
	return true
}

func (r *subscribeRecorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.topics)
}

// seenQoS returns each SUBSCRIBE's topic filter with the QoS asked, as
// "topic@qos", in order.
func (r *subscribeRecorder) seenQoS() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.topics))
	for i, t := range r.topics {
		out[i] = fmt.Sprintf("%s@%d", t, r.qos[i])
	}
	return out
}

// A link subscribes, at every connect, in the order it was asked to: a
// session asks for its own reply topics before the retained head that
// may make it ask central for a replay, and a replay published before
// its subscription exists is lost (on a NATS cluster, where each
// subscription takes a JetStream consumer, this cost agents 30 s).
func TestLinkSubscribesInTheOrderAsked(t *testing.T) {
	m := synctest.StartMosquitto(t)
	rec := startSubscribeRecorder(t, m.Addr())
	l, err := NewLink(LinkConfig{Broker: rec.URL(), ClientID: "order-test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	want := []string{"bp/v1/agents/a/acks", "bp/v1/agents/a/scopes", "bp/v1/watchlist/delta", "bp/v1/agents/a/deltas",
		"bp/v1/agents/a/snapshot", "bp/v1/z/gone", "bp/v1/watchlist/head"}
	for _, topic := range want {
		l.Subscribe(topic, func(string, []byte) {})
	}
	l.Unsubscribe("bp/v1/z/gone")
	want = slices.DeleteFunc(want, func(t string) bool { return t == "bp/v1/z/gone" })
	l.Connect()
	waitSeen := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for len(rec.seen()) < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		return rec.seen()
	}
	if got := waitSeen(len(want)); !slices.Equal(got, want) {
		t.Fatalf("subscriptions at the first connect:\n got %q\nwant %q", got, want)
	}
	rec.CloseConnections() // the link reconnects and subscribes again
	got := waitSeen(2 * len(want))
	if !slices.Equal(got[len(want):], want) {
		t.Fatalf("subscriptions at the reconnect:\n got %q\nwant %q", got[len(want):], want)
	}
}
