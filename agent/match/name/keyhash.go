package name

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
)

// hashSeed keys the index's hashes of fuzzy keys and joined tokens. It is
// random per index, as a maphash seed would be, but it can be written with
// the index (Encode) and read back (Decode), which a maphash.Seed cannot:
// a persisted index hashes a query's keys as the index it was taken from
// did.
type hashSeed struct{ k0, k1 uint64 }

func newHashSeed() hashSeed {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("name: no randomness for the hash seed: " + err.Error())
	}
	return hashSeed{binary.LittleEndian.Uint64(b[:]), binary.LittleEndian.Uint64(b[8:])}
}

// The multipliers of wyhash, the hash the Go runtime falls back on for
// maps without AES instructions.
const (
	wyp0 = 0xa0761d6478bd642f
	wyp1 = 0xe7037ed1a0b428db
	wyp2 = 0x8ebc6af09c88c6e3
	wyp3 = 0x589965cc75374cc3
)

func wymix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// keyedHash is a wyhash-style 64-bit hash of b keyed by s.
func keyedHash[T string | []byte](s hashSeed, b T) uint64 {
	h := s.k0 ^ wymix(uint64(len(b))^wyp0, s.k1^wyp1)
	for len(b) >= 8 {
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		h = wymix(h^w^wyp1, s.k1^wyp2)
		b = b[8:]
	}
	var w uint64
	for i := 0; i < len(b); i++ {
		w |= uint64(b[i]) << (8 * i)
	}
	h = wymix(h^w^wyp3, s.k0^uint64(len(b))^wyp2)
	return wymix(h^s.k1, wyp0)
}

// keyHash hashes what is written to it, as one string, under a seed:
// what maphash.Hash did for the keys built from several pieces. Keys of
// up to 64 bytes stay in the value (no allocation per key).
type keyHash struct {
	seed hashSeed
	arr  [64]byte
	n    int
	over []byte // the key once longer than arr
}

// SetSeed starts a new key under s.
func (h *keyHash) SetSeed(s hashSeed) { h.seed, h.n, h.over = s, 0, h.over[:0:0] }

func (h *keyHash) WriteString(s string) {
	if h.over == nil && h.n+len(s) <= len(h.arr) {
		h.n += copy(h.arr[h.n:], s)
		return
	}
	if h.over == nil {
		h.over = append(make([]byte, 0, 2*len(h.arr)), h.arr[:h.n]...)
	}
	h.over = append(h.over, s...)
}

func (h *keyHash) Write(b []byte) { h.WriteString(string(b)) }

func (h *keyHash) WriteByte(c byte) error {
	if h.over == nil && h.n < len(h.arr) {
		h.arr[h.n] = c
		h.n++
		return nil
	}
	h.WriteString(string([]byte{c}))
	return nil
}

// Sum64 returns the hash of everything written since SetSeed; writing may
// go on after it.
func (h *keyHash) Sum64() uint64 {
	if h.over != nil {
		return keyedHash(h.seed, h.over)
	}
	return keyedHash(h.seed, h.arr[:h.n])
}
