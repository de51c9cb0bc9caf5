package sync

import (
	"context"
	"encoding/json"
	"fmt"
	gosync "sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
)

// wire records what the forwarder publishes, opened with central's hit
// key; it can be "down".
type wire struct {
	mu   gosync.Mutex
	key  *HitKey
	down bool
	sent []HitMessage
}

func newWire(t *testing.T) *wire {
	k, err := GenerateHitKey()
	if err != nil {
		t.Fatal(err)
	}
	return &wire{key: k}
}

func (w *wire) Publish(topic string, retained bool, payload []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.down {
		return ErrNotConnected
	}
	var m HitMessage
	json.Unmarshal(payload, &m)
	if len(m.Hits) > 0 {
		panic("hits published in clear")
	}
	hits, err := OpenHits(m, []*HitKey{w.key})
	if err != nil {
		panic(err)
	}
	m.Hits = hits
	w.sent = append(w.sent, m)
	return nil
}

func (w *wire) seqs() []uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var s []uint64
	for _, m := range w.sent {
		for _, h := range m.Hits {
			s = append(s, h.Seq)
		}
	}
	return s
}

func record(t *testing.T, rep *store.Replica, n int) {
	t.Helper()
	for i := range n {
		if _, err := rep.Record(context.Background(), store.CheckRecord{ID: fmt.Sprintf("c%d", i)},
			[]store.Hit{{ID: fmt.Sprintf("h%d", i), AlertID: "A", Time: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
}

func ack(f *Forwarder, upto uint64) {
	b, _ := json.Marshal(Ack{Upto: upto})
	f.HandleAck("acks", b)
}

func TestForwarderWindowOrderAndAcks(t *testing.T) {
	rep := openReplica(t)
	w := newWire(t)
	f := NewForwarder(ForwarderConfig{Replica: rep, Publisher: w, HitKey: w.key.Public(), Agent: "a1", Window: 4, Batch: 3, ResendAfter: time.Hour, Logger: quiet})
	record(t, rep, 10)
	f.pump()
	if got := w.seqs(); fmt.Sprint(got) != "[1 2 3 4]" {
		t.Fatalf("first window sent %v, want [1 2 3 4]", got)
	}
	if len(w.sent) != 2 || len(w.sent[0].Hits) != 3 {
		t.Fatalf("first window sent in %d messages, want 2 (batches of 3)", len(w.sent))
	}
	ack(f, 2)
	f.pump()
	if got := w.seqs(); fmt.Sprint(got) != "[1 2 3 4 5 6]" {
		t.Fatalf("after ack 2 sent %v", got)
	}
	if st, _ := rep.Outbox(); st.Depth != 8 || st.First != 3 {
		t.Fatalf("outbox after ack 2: %+v", st)
	}
	// Floor tells central what was acknowledged before.
	if m := w.sent[len(w.sent)-1]; m.Floor != 3 || m.Agent != "a1" || m.Hits[0].Seq != 5 {
		t.Fatalf("last message floor %d agent %q", m.Floor, m.Agent)
	}
	// A reconnect resends everything not acknowledged, in order.
	f.Reset()
	f.pump()
	if got := w.seqs()[6:]; fmt.Sprint(got) != "[3 4 5 6]" {
		t.Fatalf("after reset resent %v, want [3 4 5 6]", got)
	}
	ack(f, 10)
	f.pump()
	if st, _ := rep.Outbox(); st.Depth != 0 {
		t.Fatalf("outbox after ack 10: %+v", st)
	}
}

func TestForwarderKeepsHitsWhileDown(t *testing.T) {
	rep := openReplica(t)
	w := newWire(t)
	w.down = true
	f := NewForwarder(ForwarderConfig{Replica: rep, Publisher: w, HitKey: w.key.Public(), Agent: "a1", Window: 8, ResendAfter: 50 * time.Millisecond, Logger: quiet})
	record(t, rep, 3)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	f.Notify()
	time.Sleep(100 * time.Millisecond)
	if len(w.seqs()) != 0 {
		t.Fatal("published while down")
	}
	w.mu.Lock()
	w.down = false
	w.mu.Unlock()
	f.Reset() // what the session does on connect
	deadline := time.Now().Add(5 * time.Second)
	for len(w.seqs()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if fmt.Sprint(w.seqs()) != "[1 2 3]" {
		t.Fatalf("after reconnect sent %v", w.seqs())
	}
	// Central stays silent: the forwarder resends after ResendAfter.
	deadline = time.Now().Add(5 * time.Second)
	for len(w.seqs()) < 6 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := w.seqs(); len(got) < 6 || fmt.Sprint(got[3:6]) != "[1 2 3]" {
		t.Fatalf("no resend after silence: %v", got)
	}
	cancel()
	<-done
	if st, _ := rep.Outbox(); st.Depth != 3 {
		t.Fatalf("unacknowledged hits dropped: %+v", st)
	}
}
