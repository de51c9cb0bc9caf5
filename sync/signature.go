package sync

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Kind names what a signed body is. A verifier opens a body only as the
// kind its topic carries, so that no signed message can pass for another
// (docs/protocol.md, "Kinds, streams and recipients").
type Kind string

// The kinds of signed body.
const (
	KindDelta      Kind = "delta"      // a watch-list change
	KindHead       Kind = "head"       // the latest change of a stream
	KindSnapshot   Kind = "snapshot"   // a snapshot's manifest
	KindAssignment Kind = "assignment" // an agent's scopes
	KindAck        Kind = "ack"        // central stored an agent's hits
	KindDelegation Kind = "delegation" // a root vouches for a signing key
)

// StreamWhole is the stream of the whole watch list; a scope's stream is
// ScopeStream(name).
const StreamWhole = "watchlist"

// ScopeStream returns the stream name of a scope: "scope/<name>".
func ScopeStream(scope string) string { return "scope/" + scope }

// Binding is the header inside every signed body: what the body is, the
// stream it belongs to (deltas, heads, snapshot manifests) and the agent
// it is for (snapshot manifests, assignments, acks). Being signed, it
// cannot be changed to make a body pass for another kind, stream or
// agent. Bodies embed it.
type Binding struct {
	Kind   Kind   `json:"kind"`
	Stream string `json:"stream,omitempty"`
	To     string `json:"to,omitempty"`
}

func (b Binding) binding() Binding { return b }

// String names the binding in errors and audit records.
func (b Binding) String() string {
	s := string(b.Kind)
	if s == "" {
		s = "(no kind)"
	}
	if b.Stream != "" {
		s += " of " + b.Stream
	}
	if b.To != "" {
		s += " to " + b.To
	}
	return s
}

// Bound is a signed body: one that embeds a Binding.
type Bound interface{ binding() Binding }

// Envelope carries a signed body. The signature covers the body's exact
// bytes, so nothing is re-encoded before verification.
type Envelope struct {
	Body json.RawMessage `json:"body"`
	Key  string          `json:"key"` // ID of the signing key
	Sig  []byte          `json:"sig"` // Ed25519 signature over Body
	// Cert, when the signing key is not itself trusted, is the signed
	// Delegation by which a trusted root vouches for it.
	Cert json.RawMessage `json:"cert,omitempty"`
}

// Delegation is a root key's statement that a signing key may sign
// watch-list messages between NotBefore and Expires. Central keeps the root
// offline and signs with delegated keys, so a signing key can be replaced
// without touching any agent.
type Delegation struct {
	Binding             // Kind KindDelegation
	Key       []byte    `json:"key"` // the delegated Ed25519 public key
	NotBefore time.Time `json:"not_before"`
	Expires   time.Time `json:"expires"`
}

// Signer signs bodies with an Ed25519 private key, attaching the
// delegation that vouches for it, if any.
type Signer struct {
	KeyID string
	Key   ed25519.PrivateKey
	Cert  json.RawMessage // a root's signed Delegation of Key, or nil for a root key
}

// Delegate has root vouch for pub from notBefore until expires, and
// returns the signed delegation to put in the delegated Signer's Cert.
func Delegate(root *Signer, pub ed25519.PublicKey, notBefore, expires time.Time) (json.RawMessage, error) {
	if !expires.After(notBefore) {
		return nil, fmt.Errorf("delegation expires (%s) before it starts (%s)", expires, notBefore)
	}
	msg, _, err := root.Seal(Delegation{Binding: Binding{Kind: KindDelegation}, Key: pub, NotBefore: notBefore.UTC(), Expires: expires.UTC()})
	return msg, err
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
// the hash of its body, which the next delta names as its predecessor. A
// body without a kind is refused: no agent would open it.
func (s *Signer) Seal(v Bound) (msg []byte, hash [32]byte, err error) {
	if v.binding().Kind == "" {
		return nil, hash, fmt.Errorf("%w: a body to sign must name its kind", ErrBinding)
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, hash, err
	}
	msg, err = json.Marshal(Envelope{Body: body, Key: s.KeyID, Sig: ed25519.Sign(s.Key, body), Cert: s.Cert})
	return msg, sha256.Sum256(body), err
}

// Verifier checks envelopes against the root keys the agent trusts: a
// message signed by a root, or by a key a root delegated and whose
// delegation is valid now.
type Verifier struct {
	keys map[string]ed25519.PublicKey
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// NewVerifier trusts the given root public keys.
func NewVerifier(keys ...ed25519.PublicKey) *Verifier {
	v := &Verifier{keys: make(map[string]ed25519.PublicKey)}
	for _, k := range keys {
		v.keys[KeyID(k)] = k
	}
	return v
}

// Open verifies a signed message, checks that its body is exactly what
// the topic expects (want: kind, stream and recipient, each compared
// exactly, an empty one meaning the body must name none), and decodes it
// into body strictly: unknown fields and trailing data are refused. It
// returns the hash of the body's bytes. The binding is checked before the
// rest of the body is decoded, so that the error names the mismatch.
func (v *Verifier) Open(msg []byte, want Binding, body Bound) (hash [32]byte, err error) {
	var env Envelope
	if err := decodeStrict(msg, &env); err != nil {
		return hash, fmt.Errorf("%w: envelope: %w", ErrMessage, err)
	}
	pub, ok := v.keys[env.Key]
	if !ok {
		if pub, err = v.delegated(env); err != nil {
			return hash, err
		}
	}
	if !ed25519.Verify(pub, env.Body, env.Sig) {
		return hash, fmt.Errorf("%w: key %q", ErrSignature, env.Key)
	}
	var got Binding
	if err := json.Unmarshal(env.Body, &got); err != nil {
		return hash, fmt.Errorf("%w: body: %w", ErrMessage, err)
	}
	if got != want {
		return hash, fmt.Errorf("%w: a %s, where a %s is expected", ErrBinding, got, want)
	}
	if err := decodeStrict(env.Body, body); err != nil {
		return hash, fmt.Errorf("%w: %s: %w", ErrMessage, want.Kind, err)
	}
	return sha256.Sum256(env.Body), nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// anything after the value.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// delegated returns the signing key of env if a trusted root vouches for
// it now. A delegation is never itself delegated further.
func (v *Verifier) delegated(env Envelope) (ed25519.PublicKey, error) {
	if len(env.Cert) == 0 {
		return nil, fmt.Errorf("%w: key %q is not a trusted root and carries no delegation", ErrUntrustedKey, env.Key)
	}
	var cert Envelope
	if err := decodeStrict(env.Cert, &cert); err != nil {
		return nil, fmt.Errorf("%w: delegation: %w", ErrMessage, err)
	}
	root, ok := v.keys[cert.Key]
	if !ok || len(cert.Cert) != 0 || !ed25519.Verify(root, cert.Body, cert.Sig) {
		return nil, fmt.Errorf("%w: key %q's delegation is not signed by a trusted root", ErrUntrustedKey, env.Key)
	}
	var d Delegation
	if err := decodeStrict(cert.Body, &d); err != nil || len(d.Key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: delegation of key %q does not decode", ErrMessage, env.Key)
	}
	if d.Binding != (Binding{Kind: KindDelegation}) {
		return nil, fmt.Errorf("%w: key %q's certificate is a %s, not a delegation", ErrBinding, env.Key, d.Binding)
	}
	pub := ed25519.PublicKey(d.Key)
	if KeyID(pub) != env.Key {
		return nil, fmt.Errorf("%w: the delegation vouches for another key than %q", ErrUntrustedKey, env.Key)
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	if now.Before(d.NotBefore) || !now.Before(d.Expires) {
		return nil, fmt.Errorf("%w: key %q's delegation is valid from %s to %s, not now", ErrUntrustedKey, env.Key,
			d.NotBefore.Format(time.RFC3339), d.Expires.Format(time.RFC3339))
	}
	return pub, nil
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
