package sync

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/borderpost/borderpost/store"
)

func sealedHits(t *testing.T, k *HitKey) HitMessage {
	t.Helper()
	m, err := SealHits(k.Public(), "post-a", 3, []store.Hit{{ID: "h3", Seq: 3, Value: "B-MW4711"}, {ID: "h4", Seq: 4, Value: "Petrovic"}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestHitsSealedToCentral(t *testing.T) {
	k, _ := GenerateHitKey()
	other, _ := GenerateHitKey()
	m := sealedHits(t, k)
	if m.First != 3 || m.Last != 4 || m.KeyID != k.ID() || len(m.Hits) != 0 || bytes.Contains(m.Sealed, []byte("B-MW4711")) {
		t.Fatalf("sealed message %+v", m)
	}
	hits, err := OpenHits(m, []*HitKey{other, k})
	if err != nil || len(hits) != 2 || hits[1].Value != "Petrovic" {
		t.Fatalf("open with the current and an older key: %v %v", hits, err)
	}
	if _, err := OpenHits(m, []*HitKey{other}); !errors.Is(err, ErrHitKey) {
		t.Fatalf("opened without the key it is sealed to: %v", err)
	}
	for name, alter := range map[string]func(*HitMessage){
		"floor moved":        func(m *HitMessage) { m.Floor = 5 },
		"range moved":        func(m *HitMessage) { m.Last = 9 },
		"other agent":        func(m *HitMessage) { m.Agent = "post-b" },
		"ciphertext altered": func(m *HitMessage) { m.Sealed = bytes.Clone(m.Sealed); m.Sealed[40] ^= 1 },
		"in clear":           func(m *HitMessage) { m.Sealed, m.Hits = nil, []store.Hit{{ID: "h3", Seq: 3}} },
	} {
		m := sealedHits(t, k)
		alter(&m)
		if _, err := OpenHits(m, []*HitKey{k}); !errors.Is(err, ErrMessage) {
			t.Errorf("%s: opened: %v", name, err)
		}
	}
}

func TestHitKeyFile(t *testing.T) {
	k, _ := GenerateHitKey()
	var sealed, plain bytes.Buffer
	if err := WriteHitKey(&sealed, k, []byte("passphrase")); err != nil {
		t.Fatal(err)
	}
	raw, _ := k.priv.Bytes()
	if bytes.Contains(sealed.Bytes(), raw) {
		t.Fatal("sealed key file holds the key")
	}
	if _, err := ReadHitKeyWith(bytes.NewReader(sealed.Bytes()), nil); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("sealed key opened without passphrase: %v", err)
	}
	if _, err := ReadHitKeyWith(bytes.NewReader(sealed.Bytes()), func() ([]byte, error) { return []byte("wrong"), nil }); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	got, err := ReadHitKeyWith(bytes.NewReader(sealed.Bytes()), func() ([]byte, error) { return []byte("passphrase"), nil })
	if err != nil || got.ID() != k.ID() {
		t.Fatalf("sealed key read back: %v", err)
	}
	WriteHitKey(&plain, k, nil)
	if got, err := ReadHitKeyWith(&plain, nil); err != nil || got.ID() != k.ID() {
		t.Fatalf("development key read back: %v", err)
	}
	pub, err := ReadHitPublicKey(bytes.NewReader([]byte(k.Public().String() + "\n")))
	if err != nil || pub.ID != k.ID() {
		t.Fatalf("public key read back: %v", err)
	}
	// A signing key file is not a hit key file.
	var signing bytes.Buffer
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	WritePrivateKey(&signing, edPriv, []byte("passphrase"))
	if _, err := ReadHitKeyWith(&signing, func() ([]byte, error) { return []byte("passphrase"), nil }); err == nil {
		t.Fatal("a sealed signing key was read as a hit key")
	}
}

// BenchmarkSealHits: sealing a full batch (32 hits) to central's hit key,
// and opening it, the cost HPKE adds per message.
func BenchmarkSealHits(b *testing.B) {
	k, _ := GenerateHitKey()
	hits := make([]store.Hit, 32)
	for i := range hits {
		hits[i] = store.Hit{ID: "hit-0123456789abcdef01234567", Seq: uint64(i + 1), CheckID: "chk-0123456789abcdef01234567",
			Field: "plate", ItemKind: "vehicle", Value: "B-MW4711", AlertID: "AL-2026-000123", AlertVersion: 1, Match: "exact", Score: 1}
	}
	b.Run("seal", func(b *testing.B) {
		for b.Loop() {
			if _, err := SealHits(k.Public(), "post-1", 1, hits); err != nil {
				b.Fatal(err)
			}
		}
	})
	m, _ := SealHits(k.Public(), "post-1", 1, hits)
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			if _, err := OpenHits(m, []*HitKey{k}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
