package sync

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Envelope carries a signed body. The signature covers the body's exact
// bytes, so nothing is re-encoded before verification.
type Envelope struct {
	Body json.RawMessage `json:"body"`
	Key  string          `json:"key"` // ID of the signing key
	Sig  []byte          `json:"sig"` // Ed25519 signature over Body
}

// Signer signs bodies with an Ed25519 private key.
type Signer struct {
	KeyID string
	Key   ed25519.PrivateKey
}

// KeyID derives a short, stable ID for a public key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// NewSigner returns a signer for priv, its key ID derived from the public key.
func NewSigner(priv ed25519.PrivateKey) *Signer {
	return &Signer{KeyID: KeyID(priv.Public().(ed25519.PublicKey)), Key: priv}
}

// Seal encodes v as JSON and signs it. It returns the signed message and
// the hash of its body, which the next delta names as its predecessor.
func (s *Signer) Seal(v any) (msg []byte, hash [32]byte, err error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, hash, err
	}
	msg, err = json.Marshal(Envelope{Body: body, Key: s.KeyID, Sig: ed25519.Sign(s.Key, body)})
	return msg, sha256.Sum256(body), err
}

// Verifier checks envelopes against the keys the agent trusts.
type Verifier struct {
	keys map[string]ed25519.PublicKey
}

// NewVerifier trusts the given public keys.
func NewVerifier(keys ...ed25519.PublicKey) *Verifier {
	v := &Verifier{keys: make(map[string]ed25519.PublicKey)}
	for _, k := range keys {
		v.keys[KeyID(k)] = k
	}
	return v
}

// Open verifies a signed message and returns its body and the body's hash.
func (v *Verifier) Open(msg []byte) (body []byte, hash [32]byte, err error) {
	var env Envelope
	if err := json.Unmarshal(msg, &env); err != nil {
		return nil, hash, fmt.Errorf("%w: envelope: %w", ErrMessage, err)
	}
	pub, ok := v.keys[env.Key]
	if !ok {
		return nil, hash, fmt.Errorf("%w: key %q", ErrUntrustedKey, env.Key)
	}
	if !ed25519.Verify(pub, env.Body, env.Sig) {
		return nil, hash, fmt.Errorf("%w: key %q", ErrSignature, env.Key)
	}
	return env.Body, sha256.Sum256(env.Body), nil
}

// ReadPublicKey reads an Ed25519 public key written as base64 text.
func ReadPublicKey(r io.Reader) (ed25519.PublicKey, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: want a base64 Ed25519 public key of %d bytes", ErrUntrustedKey, ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// ReadPrivateKey reads an Ed25519 private key (its 32-byte seed) written as
// base64 text.
func ReadPrivateKey(r io.Reader) (ed25519.PrivateKey, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != ed25519.SeedSize {
		return nil, fmt.Errorf("want a base64 Ed25519 seed of %d bytes", ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(raw), nil
}
