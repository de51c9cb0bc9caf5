package sync

import (
	"crypto/ed25519"
	"crypto/rand"
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
	delta := Delta{Epoch: 1, Seq: 1}

	// The root itself may sign (a post commissioned before delegation).
	msg, _, _ := root.Seal(delta)
	if _, _, err := v.Open(msg); err != nil {
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
		if _, _, err := v.Open(msg); err != nil {
			t.Fatalf("delegated signature: %v", err)
		}
	}

	refused := func(name string, s *Signer) {
		t.Helper()
		msg, _, _ := s.Seal(delta)
		if _, _, err := v.Open(msg); !errors.Is(err, ErrUntrustedKey) {
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
