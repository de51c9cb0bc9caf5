package sync

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrPassphrase means an encrypted private key could not be opened: no
// passphrase was given, or it is not the one the key was sealed with.
var ErrPassphrase = errors.New("private key passphrase missing or wrong")

// keyFile is the on-disk form of a private key sealed with a passphrase:
// argon2id stretches the passphrase into an AES-256-GCM key over the seed.
type keyFile struct {
	Kind       string `json:"kind"` // "borderpost-ed25519-seed", "borderpost-x25519-hit-key"
	KDF        string `json:"kdf"`  // "argon2id"
	Time       uint32 `json:"t"`
	Memory     uint32 `json:"m"` // KiB
	Threads    uint8  `json:"p"`
	Salt       []byte `json:"salt"`
	Nonce      []byte `json:"nonce"`
	Ciphertext []byte `json:"ciphertext"`
}

const keyFileKind = "borderpost-ed25519-seed"

// WritePrivateKey writes priv's seed to w: sealed with passphrase when it
// is not empty, otherwise as plain base64 (for development only).
func WritePrivateKey(w io.Writer, priv ed25519.PrivateKey, passphrase []byte) error {
	return writeSecret(w, keyFileKind, priv.Seed(), passphrase)
}

// writeSecret writes a private key's bytes, of the kind named, sealed
// with passphrase when it is not empty, otherwise as plain base64.
func writeSecret(w io.Writer, kind string, secret, passphrase []byte) error {
	if len(passphrase) == 0 {
		_, err := fmt.Fprintln(w, base64.StdEncoding.EncodeToString(secret))
		return err
	}
	kf := keyFile{Kind: kind, KDF: "argon2id", Time: 3, Memory: 64 << 10, Threads: 2,
		Salt: make([]byte, 16), Nonce: make([]byte, 12)}
	if _, err := rand.Read(kf.Salt); err != nil {
		return err
	}
	if _, err := rand.Read(kf.Nonce); err != nil {
		return err
	}
	aead, err := kf.aead(passphrase)
	if err != nil {
		return err
	}
	kf.Ciphertext = aead.Seal(nil, kf.Nonce, secret, []byte(kind))
	return json.NewEncoder(w).Encode(kf)
}

func (kf keyFile) aead(passphrase []byte) (cipher.AEAD, error) {
	if kf.KDF != "argon2id" || kf.Time == 0 || kf.Memory < 8<<10 || kf.Memory > 4<<20 || kf.Threads == 0 {
		return nil, fmt.Errorf("%w: unsupported key derivation", ErrPassphrase)
	}
	block, err := aes.NewCipher(argon2.IDKey(passphrase, kf.Salt, kf.Time, kf.Memory, kf.Threads, 32))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// ReadPrivateKeyWith reads a private key written by WritePrivateKey,
// asking passphrase for the passphrase only when the key is sealed.
func ReadPrivateKeyWith(r io.Reader, passphrase func() ([]byte, error)) (ed25519.PrivateKey, error) {
	seed, err := readSecret(r, keyFileKind, passphrase)
	if err != nil {
		return nil, err
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("want a base64 Ed25519 seed of %d bytes", ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// readSecret reads a private key's bytes written by writeSecret with the
// same kind, asking passphrase for the passphrase only when it is sealed.
func readSecret(r io.Reader, kind string, passphrase func() ([]byte, error)) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(strings.TrimSpace(string(b)), "{") {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("not a borderpost private key file: want base64 or a sealed key")
		}
		return raw, nil
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil || kf.Kind != kind {
		return nil, fmt.Errorf("not a borderpost private key file of kind %s", kind)
	}
	if passphrase == nil {
		return nil, fmt.Errorf("%w: the key is sealed with a passphrase", ErrPassphrase)
	}
	pw, err := passphrase()
	if err != nil || len(pw) == 0 {
		return nil, fmt.Errorf("%w: the key is sealed with a passphrase", ErrPassphrase)
	}
	aead, err := kf.aead(pw)
	if err != nil {
		return nil, err
	}
	if len(kf.Nonce) != aead.NonceSize() {
		return nil, fmt.Errorf("%w: malformed key file", ErrPassphrase)
	}
	secret, err := aead.Open(nil, kf.Nonce, kf.Ciphertext, []byte(kind))
	if err != nil {
		return nil, ErrPassphrase
	}
	return secret, nil
}
