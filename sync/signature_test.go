package sync

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func newKey(t *testing.T) (*Signer, ed25519.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return NewSigner(priv), pub
}

func TestDelegatedSigningKeys(t *testing.T) {
	root, rootPub := newKey(t)
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	v := NewVerifier(rootPub)
	v.Now = func() time.Time { return now }
	delta := Delta{Binding: Binding{Kind: KindDelta, Stream: StreamWhole}, Epoch: 1, Seq: 1}
	want := Binding{Kind: KindDelta, Stream: StreamWhole}
	var d Delta

	// The root itself may sign (a post commissioned before delegation).
	msg, _, _ := root.Seal(delta)
	if _, err := v.Open(msg, want, &d); err != nil {
		t.Fatalf("root signature: %v", err)
	}
	// A delegated key signs; rotating to another delegated key needs no
	// change at the agent.
	for range 2 {
		s, pub := newKey(t)
		cert, err := Delegate(root, pub, now.Add(-time.Hour), now.Add(30*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		s.Cert = cert
		msg, _, _ := s.Seal(delta)
		if _, err := v.Open(msg, want, &d); err != nil {
			t.Fatalf("delegated signature: %v", err)
		}
	}

	refused := func(name string, s *Signer) {
		t.Helper()
		msg, _, _ := s.Seal(delta)
		if _, err := v.Open(msg, want, &d); !errors.Is(err, ErrUntrustedKey) {
			t.Errorf("%s: %v, want ErrUntrustedKey", name, err)
		}
	}
	// Expired, and not yet valid.
	s, pub := newKey(t)
	s.Cert, _ = Delegate(root, pub, now.Add(-48*time.Hour), now.Add(-time.Hour))
	refused("expired delegation", s)
	s.Cert, _ = Delegate(root, pub, now.Add(time.Hour), now.Add(48*time.Hour))
	refused("future delegation", s)
	// Vouched for by a root the agent does not trust.
	other, _ := newKey(t)
	s.Cert, _ = Delegate(other, pub, now.Add(-time.Hour), now.Add(time.Hour))
	refused("unvouched key", s)
	// No delegation at all.
	s.Cert = nil
	refused("bare key", s)
	// A delegation lent to another key.
	thief, _ := newKey(t)
	thief.Cert, _ = Delegate(root, pub, now.Add(-time.Hour), now.Add(time.Hour))
	refused("borrowed delegation", thief)
	// A delegated key cannot delegate further.
	mid, midPub := newKey(t)
	mid.Cert, _ = Delegate(root, midPub, now.Add(-time.Hour), now.Add(time.Hour))
	leaf, leafPub := newKey(t)
	leaf.Cert, _ = Delegate(mid, leafPub, now.Add(-time.Hour), now.Add(time.Hour))
	refused("second-level delegation", leaf)
}

// A signed body opens only as the kind, stream and recipient its topic
// expects, decoded strictly; a delegation never opens as a message, and a
// body of the old protocol, which names no kind, is refused.
func TestOpenBindsKindStreamAndRecipient(t *testing.T) {
	root, rootPub := newKey(t)
	v := NewVerifier(rootPub)
	head := Head{Binding: Binding{Kind: KindHead, Stream: StreamWhole}, Epoch: 1, Seq: 3}
	msg, _, err := root.Seal(head)
	if err != nil {
		t.Fatal(err)
	}
	var h Head
	if _, err := v.Open(msg, Binding{Kind: KindHead, Stream: StreamWhole}, &h); err != nil || h.Seq != 3 {
		t.Fatalf("head on its topic: %v %+v", err, h)
	}
	var as Assignment
	for _, want := range []Binding{{Kind: KindAssignment, To: "post-1"}, {Kind: KindHead, Stream: ScopeStream("road")},
		{Kind: KindHead, Stream: StreamWhole, To: "post-1"}, {Kind: KindDelta, Stream: StreamWhole}} {
		if _, err := v.Open(msg, want, &as); !errors.Is(err, ErrBinding) {
			t.Errorf("a whole-list head opened as %s: %v, want ErrBinding", want, err)
		}
	}
	cert, err := Delegate(root, rootPub, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Open(cert, Binding{Kind: KindAssignment, To: "post-1"}, &as); !errors.Is(err, ErrBinding) {
		t.Errorf("a delegation opened as an assignment: %v", err)
	}
	// Strict: a field the kind does not have, trailing data, an
	// envelope field unknown, and a body that names no kind.
	sign := func(body string) []byte {
		b, _ := json.Marshal(Envelope{Body: json.RawMessage(body), Key: root.KeyID, Sig: ed25519.Sign(root.Key, []byte(body))})
		return b
	}
	for name, m := range map[string][]byte{
		"unknown field":  sign(`{"kind":"head","stream":"watchlist","epoch":1,"seq":3,"scopes":["road"]}`),
		"old protocol":   sign(`{"epoch":1,"seq":3}`),
		"trailing data":  append(sign(`{"kind":"head","stream":"watchlist","epoch":1}`), []byte(` {}`)...),
		"envelope field": bytes.Replace(msg, []byte(`{"body"`), []byte(`{"extra":1,"body"`), 1),
	} {
		if _, err := v.Open(m, Binding{Kind: KindHead, Stream: StreamWhole}, &h); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, _, err := root.Seal(Head{Epoch: 1}); !errors.Is(err, ErrBinding) {
		t.Errorf("a body without kind signed: %v", err)
	}
}
