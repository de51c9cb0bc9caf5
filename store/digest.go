package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/bits"
)

// Digest summarises a set of (alert ID, version) pairs, whatever their
// order: the sum modulo 2^256 of a hash of each pair. Being a sum, it is
// updated in constant time when one alert changes, so central and every
// agent can compare whole replicas after each delta without a scan.
type Digest [32]byte

func alertTerm(id string, version uint64) [32]byte {
	h := sha256.New()
	h.Write([]byte("borderpost alert\x00"))
	h.Write([]byte(id))
	var v [9]byte
	binary.BigEndian.PutUint64(v[1:], version)
	h.Write(v[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Add includes the alert (id, version) in the digest.
func (d *Digest) Add(id string, version uint64) { d.add(alertTerm(id, version), false) }

// Remove takes the alert (id, version) out of the digest.
func (d *Digest) Remove(id string, version uint64) { d.add(alertTerm(id, version), true) }

// add adds (or subtracts) t as a 256-bit big-endian number, modulo 2^256.
func (d *Digest) add(t [32]byte, sub bool) {
	var carry uint64
	for i := 3; i >= 0; i-- {
		a := binary.BigEndian.Uint64(d[i*8:])
		b := binary.BigEndian.Uint64(t[i*8:])
		var r uint64
		if sub {
			r, carry = bits.Sub64(a, b, carry)
		} else {
			r, carry = bits.Add64(a, b, carry)
		}
		binary.BigEndian.PutUint64(d[i*8:], r)
	}
}

// String returns the digest in hexadecimal.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// ParseDigest decodes a digest written by String.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(d) {
		return d, ErrDigest
	}
	copy(d[:], b)
	return d, nil
}
