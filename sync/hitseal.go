package sync

import (
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/borderpost/borderpost/store"
)

// Hits travel sealed end to end, from the agent to central, with HPKE
// (RFC 9180) in base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
// AES-256-GCM. The broker, its persistence file and anyone between see
// only the agent, the floor and the sequence range, never a plate, a
// name or a document number. The info string binds a message to the
// protocol, the agent and central's hit key; the associated data binds
// the clear floor and range, so the broker cannot move them.
const hitInfoLabel = "borderpost hits v1"

// hitKeyKind names a sealed hit private key file (see writeSecret).
const hitKeyKind = "borderpost-x25519-hit-key"

func hitKEM() hpke.KEM   { return hpke.DHKEM(ecdh.X25519()) }
func hitKDF() hpke.KDF   { return hpke.HKDFSHA256() }
func hitAEAD() hpke.AEAD { return hpke.AES256GCM() }

// HitPublicKey is central's public key for hits: the agent seals every
// hit message to it (configuration sync.central_hit_key).
type HitPublicKey struct {
	// ID names the key in hit messages, so that central knows which of
	// its keys opens them during a rotation.
	ID  string
	key hpke.PublicKey
}

// ParseHitPublicKey decodes an X25519 public key of 32 bytes.
func ParseHitPublicKey(raw []byte) (*HitPublicKey, error) {
	k, err := hitKEM().NewPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: want an X25519 public key of 32 bytes: %w", ErrHitKey, err)
	}
	return &HitPublicKey{ID: hitKeyID(raw), key: k}, nil
}

// ReadHitPublicKey reads a hit public key written as base64 text, as
// `simulator keys hit` writes hits.pub.
func ReadHitPublicKey(r io.Reader) (*HitPublicKey, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%w: want a base64 X25519 public key", ErrHitKey)
	}
	return ParseHitPublicKey(raw)
}

// Bytes returns the public key's 32 bytes.
func (k *HitPublicKey) Bytes() []byte { return k.key.Bytes() }

// String returns the public key in base64, the form of a hits.pub file.
func (k *HitPublicKey) String() string { return base64.StdEncoding.EncodeToString(k.key.Bytes()) }

// hitKeyID derives a short, stable ID for a hit public key, apart from
// the IDs of signing keys.
func hitKeyID(pub []byte) string {
	h := sha256.New()
	h.Write([]byte("borderpost hit key\x00"))
	h.Write(pub)
	return "hk-" + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9])
}

// HitKey is central's private key for hits. Keep it sealed with a
// passphrase (WriteHitKey).
type HitKey struct {
	priv hpke.PrivateKey
	pub  *HitPublicKey
}

// GenerateHitKey creates a new hit key pair.
func GenerateHitKey() (*HitKey, error) {
	priv, err := hitKEM().GenerateKey()
	if err != nil {
		return nil, err
	}
	return newHitKey(priv)
}

func newHitKey(priv hpke.PrivateKey) (*HitKey, error) {
	pub, err := ParseHitPublicKey(priv.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	return &HitKey{priv: priv, pub: pub}, nil
}

// Public returns the key's public half, which the agents configure.
func (k *HitKey) Public() *HitPublicKey { return k.pub }

// ID returns the key's ID, as hit messages sealed to it name it.
func (k *HitKey) ID() string { return k.pub.ID }

// WriteHitKey writes k to w: sealed with passphrase (argon2id, AES-256-GCM)
// when it is not empty, otherwise as plain base64 (development only).
func WriteHitKey(w io.Writer, k *HitKey, passphrase []byte) error {
	raw, err := k.priv.Bytes()
	if err != nil {
		return err
	}
	return writeSecret(w, hitKeyKind, raw, passphrase)
}

// ReadHitKeyWith reads a key written by WriteHitKey, asking passphrase
// for the passphrase only when the key is sealed.
func ReadHitKeyWith(r io.Reader, passphrase func() ([]byte, error)) (*HitKey, error) {
	raw, err := readSecret(r, hitKeyKind, passphrase)
	if err != nil {
		return nil, err
	}
	priv, err := hitKEM().NewPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: want an X25519 private key of 32 bytes: %w", ErrHitKey, err)
	}
	return newHitKey(priv)
}

func hitInfo(agent, keyID string) []byte {
	return []byte(hitInfoLabel + "\x00" + agent + "\x00" + keyID)
}

func hitAAD(floor, first, last uint64) []byte {
	b := binary.BigEndian.AppendUint64(nil, floor)
	b = binary.BigEndian.AppendUint64(b, first)
	return binary.BigEndian.AppendUint64(b, last)
}

// SealHits returns the hit message carrying hits, consecutive outbox
// entries of agent, sealed to central's hit key pub.
func SealHits(pub *HitPublicKey, agent string, floor uint64, hits []store.Hit) (HitMessage, error) {
	m := HitMessage{Agent: agent, Floor: floor, KeyID: pub.ID}
	if len(hits) == 0 {
		return m, fmt.Errorf("%w: no hits to seal", ErrMessage)
	}
	m.First, m.Last = hits[0].Seq, hits[len(hits)-1].Seq
	plain, err := json.Marshal(hits)
	if err != nil {
		return m, err
	}
	enc, sender, err := hpke.NewSender(pub.key, hitKDF(), hitAEAD(), hitInfo(agent, pub.ID))
	if err != nil {
		return m, err
	}
	ct, err := sender.Seal(hitAAD(m.Floor, m.First, m.Last), plain)
	if err != nil {
		return m, err
	}
	m.Sealed = append(enc, ct...)
	return m, nil
}

// OpenHits opens a hit message with the one of keys it is sealed to, and
// checks that the hits are the range its clear header announces. It
// refuses hits sent in clear. ErrHitKey means none of keys is the one the
// message names: the agent still has an older hit key, or a newer one
// central was not given.
func OpenHits(m HitMessage, keys []*HitKey) ([]store.Hit, error) {
	if len(m.Sealed) == 0 {
		return nil, fmt.Errorf("%w: hits not sealed to central's hit key (refused: hits travel only sealed)", ErrMessage)
	}
	var key *HitKey
	for _, k := range keys {
		if k.ID() == m.KeyID {
			key = k
			break
		}
	}
	if key == nil {
		return nil, fmt.Errorf("%w: hits sealed to key %q, central holds %s", ErrHitKey, m.KeyID, keyIDs(keys))
	}
	n := len(key.pub.key.Bytes()) // X25519: the encapsulated key is a public key
	if len(m.Sealed) < n {
		return nil, fmt.Errorf("%w: sealed hits too short", ErrMessage)
	}
	r, err := hpke.NewRecipient(m.Sealed[:n], key.priv, hitKDF(), hitAEAD(), hitInfo(m.Agent, m.KeyID))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMessage, err)
	}
	plain, err := r.Open(hitAAD(m.Floor, m.First, m.Last), m.Sealed[n:])
	if err != nil {
		return nil, fmt.Errorf("%w: sealed hits do not open under key %s (altered, or sealed for another agent)", ErrMessage, m.KeyID)
	}
	var hits []store.Hit
	if err := json.Unmarshal(plain, &hits); err != nil || len(hits) == 0 {
		return nil, fmt.Errorf("%w: sealed hits do not decode", ErrMessage)
	}
	if hits[0].Seq != m.First || hits[len(hits)-1].Seq != m.Last {
		return nil, fmt.Errorf("%w: sealed hits %d..%d, header says %d..%d", ErrMessage, hits[0].Seq, hits[len(hits)-1].Seq, m.First, m.Last)
	}
	return hits, nil
}

func keyIDs(keys []*HitKey) string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID()
	}
	if len(ids) == 0 {
		return "no hit key"
	}
	return strings.Join(ids, ", ")
}
