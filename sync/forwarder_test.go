package sync

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
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

// centralKey signs the acks of the forwarder tests.
var centralKey = func() *Signer {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	return NewSigner(priv)
}()

func ack(f *Forwarder, upto uint64) {
	b, _, _ := centralKey.Seal(Ack{Binding: Binding{Kind: KindAck, To: f.agent}, Outbox: f.outbox, Upto: upto})
	f.HandleAck("acks", b)
}

func newForwarder(cfg ForwarderConfig) *Forwarder {
	cfg.Verifier = NewVerifier(centralKey.Key.Public().(ed25519.PublicKey))
	return NewForwarder(cfg)
}

// An ack is taken only signed by central, addressed to this agent and
// naming this run of the outbox: one replayed from an earlier run (whose
// numbering may have restarted lower since), one for another agent, an
// unsigned one of the old protocol, or a head, deletes nothing and is
// audited once each.
func TestForwarderRefusesAcksNotForThisOutbox(t *testing.T) {
	rep := openReplica(t)
	w := newWire(t)
	f := newForwarder(ForwarderConfig{Replica: rep, Publisher: w, HitKey: w.key.Public(), Agent: "a1", ResendAfter: time.Hour, Logger: quiet})
	record(t, rep, 5)
	settle(f)
	if w.sent[0].Outbox != f.outbox || f.outbox == "" {
		t.Fatalf("hit message names outbox %q, the forwarder's is %q", w.sent[0].Outbox, f.outbox)
	}
	earlier := newForwarder(ForwarderConfig{Replica: rep, Publisher: w, Agent: "a1", Logger: quiet})
	seal := func(v Bound) []byte { b, _, _ := centralKey.Seal(v); return b }
	_, rogue, _ := ed25519.GenerateKey(rand.Reader)
	forged, _, _ := NewSigner(rogue).Seal(Ack{Binding: Binding{Kind: KindAck, To: "a1"}, Outbox: f.outbox, Upto: 5})
	bad := [][]byte{
		seal(Ack{Binding: Binding{Kind: KindAck, To: "a1"}, Outbox: earlier.outbox, Upto: 5}),
		seal(Ack{Binding: Binding{Kind: KindAck, To: "a2"}, Outbox: f.outbox, Upto: 5}),
		seal(Head{Binding: Binding{Kind: KindHead, Stream: StreamWhole}, Seq: 5}),
		[]byte(`{"upto":5}`),
		forged,
	}
	for _, b := range bad {
		f.HandleAck("acks", b)
	}
	settle(f)
	if st, _ := rep.Outbox(); st.Depth != 5 {
		t.Fatalf("refused acks deleted hits: %+v", st)
	}
	n := 0
	rep.AuditRecords(context.Background(), func(r store.AuditRecord) error {
		if r.Event == store.EventAckRefused {
			n++
		}
		return nil
	})
	if n != len(bad) {
		t.Errorf("%d acks refused in the audit log, want %d", n, len(bad))
	}
	ack(f, 5)
	settle(f)
	if st, _ := rep.Outbox(); st.Depth != 0 {
		t.Fatalf("this outbox's ack deleted nothing: %+v", st)
	}
}

func TestForwarderWindowOrderAndAcks(t *testing.T) {
	rep := openReplica(t)
	w := newWire(t)
	f := newForwarder(ForwarderConfig{Replica: rep, Publisher: w, HitKey: w.key.Public(), Agent: "a1", Window: 4, Batch: 3, ResendAfter: time.Hour, Logger: quiet})
	record(t, rep, 10)
	settle(f)
	if got := w.seqs(); fmt.Sprint(got) != "[1 2 3 4]" {
		t.Fatalf("first window sent %v, want [1 2 3 4]", got)
	}
	if len(w.sent) != 2 || len(w.sent[0].Hits) != 3 {
		t.Fatalf("first window sent in %d messages, want 2 (batches of 3)", len(w.sent))
	}
	ack(f, 2)
	settle(f)
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
	settle(f)
	if got := w.seqs()[6:]; fmt.Sprint(got) != "[3 4 5 6]" {
		t.Fatalf("after reset resent %v, want [3 4 5 6]", got)
	}
	ack(f, 10)
	settle(f)
	if st, _ := rep.Outbox(); st.Depth != 0 {
		t.Fatalf("outbox after ack 10: %+v", st)
	}
}

func TestForwarderKeepsHitsWhileDown(t *testing.T) {
	rep := openReplica(t)
	w := newWire(t)
	w.down = true
	f := newForwarder(ForwarderConfig{Replica: rep, Publisher: w, HitKey: w.key.Public(), Agent: "a1", Window: 8, ResendAfter: 50 * time.Millisecond, Logger: quiet})
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

// settle does what Run does on a wake and on an acknowledgement: publish
// what the window allows, then take acknowledged hits out of the outbox.
func settle(f *Forwarder) {
	f.pump()
	f.drop()
}
