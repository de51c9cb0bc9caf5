package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"
)

// keyring holds the keys derived from the data key: one to encrypt values,
// one to compute record keys. Deriving both with HKDF lets one sealed
// secret serve two purposes without reusing a key for both.
type keyring struct {
	aead  cipher.AEAD
	index []byte
	gen   uint32 // key generation, written before every value
	audit *auditKeys
	enc   []byte // the value key, kept for the journal when a rotation retires it
	// macs holds keyed HMACs to reuse: keying one costs as much as the
	// hash of a short ID, and record keys are computed on every lookup.
	macs sync.Pool
}

func newKeyring(dataKey, salt []byte, gen uint32) (*keyring, error) {
	if len(dataKey) != DataKeySize {
		return nil, fmt.Errorf("%w: data key is %d bytes, want %d", ErrNoKey, len(dataKey), DataKeySize)
	}
	encKey, err := hkdf.Key(sha256.New, dataKey, salt, "borderpost replica encryption v1", 32)
	if err != nil {
		return nil, err
	}
	idxKey, err := hkdf.Key(sha256.New, dataKey, salt, "borderpost replica index v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	seal, err := hkdf.Key(sha256.New, dataKey, salt, "borderpost audit seal v1", 32)
	if err != nil {
		return nil, err
	}
	chain, err := hkdf.Key(sha256.New, dataKey, salt, "borderpost audit chain v1", 32)
	if err != nil {
		return nil, err
	}
	audit, err := newAuditKeys(gen, append(seal, chain...))
	if err != nil {
		return nil, err
	}
	k := &keyring{aead: aead, index: idxKey, gen: gen, audit: audit, enc: encKey}
	k.macs.New = func() any { return &pooledMAC{h: hmac.New(sha256.New, k.index)} }
	return k, nil
}

// pooledMAC is a keyed HMAC with a buffer for its input and sum, so that
// a key computed through it allocates nothing (a lookup computes one on
// every check).
type pooledMAC struct {
	h   hash.Hash
	buf []byte
}

// recordKey returns the bucket key for a plaintext identifier: an HMAC, so
// equal identifiers find each other and the file reveals none of them.
func (k *keyring) recordKey(domain, id string) []byte {
	var sum [sha256.Size]byte
	recordKeyInto(k, &sum, domain, id)
	return append(make([]byte, 0, sha256.Size), sum[:]...)
}

// recordKeyInto computes recordKey(domain, id) into dst without
// allocating.
func recordKeyInto[T string | []byte](k *keyring, dst *[sha256.Size]byte, domain string, id T) {
	m := k.macs.Get().(*pooledMAC)
	defer k.macs.Put(m)
	m.buf = append(append(append(m.buf[:0], domain...), 0), id...)
	m.h.Reset()
	m.h.Write(m.buf)
	m.buf = m.h.Sum(m.buf[:0])
	copy(dst[:], m.buf)
}

// seal encrypts a value stored under bucket/key. The associated data binds
// the ciphertext to its place, so a value moved to another key or bucket
// fails to open.
func (k *keyring) seal(bucket, key, plain []byte) ([]byte, error) {
	out := make([]byte, 4, 4+k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	binary.BigEndian.PutUint32(out, k.gen)
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plain, aad(bucket, key, out[:4])), nil
}

// open decrypts a value sealed by seal under the same bucket and key.
func (k *keyring) open(bucket, key, sealed []byte) ([]byte, error) {
	return k.openInto(nil, bucket, key, sealed)
}

// openInto is open appending the plaintext to dst[:0], for a reader of
// many chunks that reuses one buffer instead of clearing a new one each.
func (k *keyring) openInto(dst, bucket, key, sealed []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < 4+ns+k.aead.Overhead() {
		return nil, fmt.Errorf("%w: value too short", ErrCorrupt)
	}
	if binary.BigEndian.Uint32(sealed) != k.gen {
		return nil, fmt.Errorf("%w: value sealed under key generation %d, replica is at %d", ErrCorrupt, binary.BigEndian.Uint32(sealed), k.gen)
	}
	plain, err := k.aead.Open(dst[:0], sealed[4:4+ns], sealed[4+ns:], aad(bucket, key, sealed[:4]))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed in bucket %s", ErrCorrupt, bucket)
	}
	return plain, nil
}

// check is the key check value stored per key generation: it proves a
// key is the one a generation was sealed under without revealing it.
func (k *keyring) check() []byte { return k.recordKey("keycheck", "borderpost") }

// sealedGen returns the key generation a sealed value was written under.
func sealedGen(sealed []byte) (uint32, bool) {
	if len(sealed) < 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(sealed), true
}

// keyset holds the keyrings the replica can use, by key generation: the
// active one and, while a rotation runs, the one it rotates to. It is
// replaced, never changed, so readers need no lock.
type keyset map[uint32]*keyring

// open decrypts a value with the keyring of the generation it names.
func (ks keyset) open(bucket, key, sealed []byte) ([]byte, error) {
	gen, ok := sealedGen(sealed)
	if !ok {
		return nil, fmt.Errorf("%w: value too short", ErrCorrupt)
	}
	k := ks[gen]
	if k == nil {
		return nil, fmt.Errorf("%w: value sealed under key generation %d, whose key is not loaded", ErrCorrupt, gen)
	}
	return k.open(bucket, key, sealed)
}

func aad(bucket, key, gen []byte) []byte {
	a := make([]byte, 0, len(bucket)+len(key)+len(gen)+2)
	a = append(a, bucket...)
	a = append(a, 0)
	a = append(a, key...)
	a = append(a, 0)
	return append(a, gen...)
}
