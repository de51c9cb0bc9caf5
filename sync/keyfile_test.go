package sync

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
)

func TestPrivateKeyFiles(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	var sealed bytes.Buffer
	if err := WritePrivateKey(&sealed, priv, []byte("correct horse battery")); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed.Bytes(), priv.Seed()) {
		t.Fatal("the seed is in the file in clear")
	}
	pass := func(p string) func() ([]byte, error) { return func() ([]byte, error) { return []byte(p), nil } }
	got, err := ReadPrivateKeyWith(bytes.NewReader(sealed.Bytes()), pass("correct horse battery"))
	if err != nil || !got.Equal(priv) {
		t.Fatalf("sealed key with the right passphrase: %v", err)
	}
	for name, p := range map[string]func() ([]byte, error){"wrong": pass("wrong horse"), "none": nil, "empty": pass("")} {
		if _, err := ReadPrivateKeyWith(bytes.NewReader(sealed.Bytes()), p); !errors.Is(err, ErrPassphrase) {
			t.Errorf("%s passphrase: %v, want ErrPassphrase", name, err)
		}
	}
	var plain bytes.Buffer
	WritePrivateKey(&plain, priv, nil)
	if got, err := ReadPrivateKeyWith(&plain, nil); err != nil || !got.Equal(priv) {
		t.Fatalf("plain development key: %v", err)
	}
	tampered := bytes.Replace(sealed.Bytes(), []byte(`"ciphertext":"`), []byte(`"ciphertext":"AA`), 1)
	if _, err := ReadPrivateKeyWith(bytes.NewReader(tampered), pass("correct horse battery")); err == nil {
		t.Error("a tampered key file opened")
	}
}
