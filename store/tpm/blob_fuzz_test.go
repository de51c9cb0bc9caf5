package tpm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

// syntheticBlob builds a well-formed blob without a TPM, for seeds.
func syntheticBlob(pcrs ...int) []byte {
	sel, err := newSelection("sha256", pcrs)
	if err != nil {
		panic(err)
	}
	b := &Blob{sel: sel}
	for range pcrs {
		b.pcrValues = append(b.pcrValues, make([]byte, 32))
	}
	b.srkName = append([]byte{0x00, 0x0b}, bytes.Repeat([]byte{0x11}, 32)...)
	b.public = tpm2.Marshal(tpm2.TPMTPublic{
		Type:    tpm2.TPMAlgKeyedHash,
		NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{
			FixedTPM: true, FixedParent: true, AdminWithPolicy: true, NoDA: true,
		},
		AuthPolicy: tpm2.TPM2BDigest{Buffer: bytes.Repeat([]byte{0xab}, 32)},
	})
	b.private = bytes.Repeat([]byte{0x5a}, 150)
	var buf bytes.Buffer
	b.WriteTo(&buf)
	return buf.Bytes()
}

func TestSyntheticBlobParses(t *testing.T) {
	data := syntheticBlob(7, 16)
	b, err := ReadBlob(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadBlob(synthetic) = %v", err)
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("re-encoded blob differs (err %v)", err)
	}
}

// FuzzReadBlob checks that ReadBlob never panics, only fails with the
// package's format errors, and that whatever it accepts re-encodes to the
// same bytes (the format has exactly one encoding per blob).
func FuzzReadBlob(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte(blobMagic))
	f.Add(append([]byte(blobMagic), 0, 1))
	f.Add(append([]byte(blobMagic), 0, 2))
	f.Add(syntheticBlob(7))
	f.Add(syntheticBlob(0, 7, 16, 23))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadBlob(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrBlobFormat) && !errors.Is(err, ErrBlobVersion) {
				t.Fatalf("ReadBlob error %v wraps neither ErrBlobFormat nor ErrBlobVersion", err)
			}
			return
		}
		var buf bytes.Buffer
		if _, err := b.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("accepted blob re-encodes differently:\n in %x\nout %x", data, buf.Bytes())
		}
	})
}

// FuzzReadBlobChecksummed appends the correct checksum to its input before
// parsing, so the fuzzer explores the fields behind the CRC (lengths, PCR
// selection, the TPM public area) instead of stopping at the checksum.
func FuzzReadBlobChecksummed(f *testing.F) {
	for _, seed := range [][]byte{syntheticBlob(7), syntheticBlob(0, 7, 16, 23)} {
		f.Add(seed[:len(seed)-4])
	}
	f.Add(append([]byte(blobMagic), 0, 1))
	f.Fuzz(func(t *testing.T, body []byte) {
		data := binary.BigEndian.AppendUint32(bytes.Clone(body), crc32.Checksum(body, crcTable))
		b, err := ReadBlob(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrBlobFormat) && !errors.Is(err, ErrBlobVersion) {
				t.Fatalf("ReadBlob error %v wraps neither ErrBlobFormat nor ErrBlobVersion", err)
			}
			return
		}
		var buf bytes.Buffer
		if _, err := b.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("accepted blob re-encodes differently:\n in %x\nout %x", data, buf.Bytes())
		}
	})
}
