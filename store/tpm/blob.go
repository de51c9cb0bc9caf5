package tpm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"slices"

	"github.com/google/go-tpm/tpm2"
)

// Blob file format, version 1 (all integers big-endian):
//
//	magic    [8]byte  "BPTPMKEY"
//	version  uint16   1
//	bank     uint16   TPM_ALG_ID of the PCR bank
//	count    uint8    number of bound PCRs, 1..24
//	pcrs     [count]uint8, strictly ascending, 0..23
//	values   [count][digest size of bank]byte  PCR values when sealed
//	srkLen   uint16, srkName [srkLen]byte  TPM name of the storage root key
//	pubLen   uint16, public [pubLen]byte   TPMT_PUBLIC of the sealed object
//	privLen  uint16, private [privLen]byte TPM2B_PRIVATE contents
//	crc      uint32   CRC-32C of everything before it
//
// The PCR values are not secret (they are boot measurements); they let an
// unseal failure name the PCRs that changed. The CRC only catches accidental
// damage early with a clear error; the TPM checks the private part's
// integrity cryptographically. The storage root key's name is pinned so
// that an interposer on the bus cannot hand over a public key of its own
// for the salted session and read the key on its way out.
const (
	blobMagic   = "BPTPMKEY"
	blobVersion = 1
	// maxPart bounds the public and private parts; real ones are about
	// 80 and 160 bytes.
	maxPart = 1024
	// maxName bounds the pinned SRK name (algorithm ID + digest).
	maxName = 2 + 64
	// maxBlobSize bounds what ReadBlob reads.
	maxBlobSize = len(blobMagic) + 2 + 2 + 1 + (maxPCR+1)*(1+48) + 2 + maxName + 2*(2+maxPart) + 4
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Blob is a data key sealed by a TPM to a PCR policy: the sealed object's
// public and private parts and the PCR selection and values it was sealed
// under. A Blob holds no secret in the clear; only the TPM that sealed it,
// in the same boot state, can unseal it.
type Blob struct {
	sel       selection
	pcrValues [][]byte
	srkName   []byte
	public    []byte
	private   []byte
}

// PCRs returns the PCR indices the key is bound to, ascending.
func (b *Blob) PCRs() []int { return slices.Clone(b.sel.pcrs) }

// Bank returns the PCR bank name ("sha256", ...) the key is bound to.
func (b *Blob) Bank() string { return bankName(b.sel.bank) }

// WriteTo writes the blob in the versioned file format. It implements
// io.WriterTo.
func (b *Blob) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	buf.WriteString(blobMagic)
	buf.Write(binary.BigEndian.AppendUint16(nil, blobVersion))
	buf.Write(binary.BigEndian.AppendUint16(nil, uint16(b.sel.bank)))
	buf.WriteByte(byte(len(b.sel.pcrs)))
	for _, p := range b.sel.pcrs {
		buf.WriteByte(byte(p))
	}
	for _, v := range b.pcrValues {
		buf.Write(v)
	}
	for _, part := range [][]byte{b.srkName, b.public, b.private} {
		buf.Write(binary.BigEndian.AppendUint16(nil, uint16(len(part))))
		buf.Write(part)
	}
	buf.Write(binary.BigEndian.AppendUint32(nil, crc32.Checksum(buf.Bytes(), crcTable)))
	n, err := w.Write(buf.Bytes())
	if err != nil {
		return int64(n), fmt.Errorf("tpm: write sealed key blob: %w", err)
	}
	return int64(n), nil
}

// ReadBlob reads a blob written by WriteTo, consuming r to its end. It
// returns an error wrapping ErrBlobFormat for anything truncated, corrupted,
// oversized or followed by extra bytes, and ErrBlobVersion for a version
// this build does not know. It never contacts the TPM.
func ReadBlob(r io.Reader) (*Blob, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(maxBlobSize)+1))
	if err != nil {
		return nil, fmt.Errorf("tpm: read sealed key blob: %w", err)
	}
	if len(data) > maxBlobSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBlobFormat, maxBlobSize)
	}
	return parseBlob(data)
}

// blobReader consumes a byte slice front to back, remembering the first
// shortfall so the parser reads straight through and checks once.
type blobReader struct {
	data []byte
	off  int
	what string // the first field that did not fit
}

func (r *blobReader) take(n int, what string) []byte {
	if r.what != "" {
		return nil
	}
	if n < 0 || len(r.data)-r.off < n {
		r.what = what
		return nil
	}
	b := r.data[r.off : r.off+n]
	r.off += n
	return b
}

func (r *blobReader) uint16(what string) int {
	b := r.take(2, what)
	if b == nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(b))
}

func parseBlob(data []byte) (*Blob, error) {
	r := &blobReader{data: data}
	if magic := r.take(len(blobMagic), "magic"); magic == nil || string(magic) != blobMagic {
		return nil, fmt.Errorf("%w: not a borderpost sealed key blob (bad magic)", ErrBlobFormat)
	}
	version := r.uint16("version")
	if r.what != "" {
		return nil, fmt.Errorf("%w: truncated in %s (%d bytes)", ErrBlobFormat, r.what, len(data))
	}
	if version != blobVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads version %d", ErrBlobVersion, version, blobVersion)
	}
	// Check the CRC before interpreting lengths so damage reads as damage,
	// not as a misleading field error.
	if len(data) < r.off+4 {
		return nil, fmt.Errorf("%w: truncated (%d bytes)", ErrBlobFormat, len(data))
	}
	body, sum := data[:len(data)-4], binary.BigEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch (truncated or corrupted, %d bytes)", ErrBlobFormat, len(data))
	}
	r.data = body

	bank := tpm2.TPMAlgID(r.uint16("bank"))
	count := r.take(1, "PCR count")
	var pcrs []int
	if count != nil {
		for _, p := range r.take(int(count[0]), "PCR list") {
			pcrs = append(pcrs, int(p))
		}
	}
	if r.what != "" {
		return nil, fmt.Errorf("%w: truncated in %s", ErrBlobFormat, r.what)
	}
	size := bankDigestSize(bank)
	if size == 0 {
		return nil, fmt.Errorf("%w: unknown PCR bank 0x%04x", ErrBlobFormat, uint16(bank))
	}
	sel, err := newSelection(bankName(bank), pcrs)
	if err != nil || !slices.IsSorted(pcrs) {
		return nil, fmt.Errorf("%w: bad PCR selection %v", ErrBlobFormat, pcrs)
	}
	b := &Blob{sel: sel}
	for range pcrs {
		b.pcrValues = append(b.pcrValues, slices.Clone(r.take(size, "PCR values")))
	}
	b.srkName = slices.Clone(r.take(r.uint16("SRK name length"), "SRK name"))
	b.public = slices.Clone(r.take(r.uint16("public length"), "public part"))
	b.private = slices.Clone(r.take(r.uint16("private length"), "private part"))
	if r.what != "" {
		return nil, fmt.Errorf("%w: truncated in %s", ErrBlobFormat, r.what)
	}
	if r.off != len(body) {
		return nil, fmt.Errorf("%w: %d unexpected bytes after the private part", ErrBlobFormat, len(body)-r.off)
	}
	if len(b.srkName) < 2+20 || len(b.srkName) > maxName {
		return nil, fmt.Errorf("%w: storage root key name of %d bytes", ErrBlobFormat, len(b.srkName))
	}
	if len(b.public) == 0 || len(b.public) > maxPart || len(b.private) == 0 || len(b.private) > maxPart {
		return nil, fmt.Errorf("%w: public (%d bytes) or private (%d bytes) part empty or over %d bytes",
			ErrBlobFormat, len(b.public), len(b.private), maxPart)
	}
	if err := checkSealedPublic(b.public); err != nil {
		return nil, err
	}
	return b, nil
}

// checkSealedPublic refuses a public area that is not a policy-only sealed
// data object, so a swapped blob cannot, for example, carry an object that
// unseals with an empty password.
func checkSealedPublic(public []byte) (err error) {
	// go-tpm's reflective unmarshaller is not written for hostile input;
	// a panic inside it must surface as a format error, not crash the agent.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: public part does not parse", ErrBlobFormat)
		}
	}()
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](public)
	if err != nil {
		return fmt.Errorf("%w: public part does not parse: %v", ErrBlobFormat, err)
	}
	a := pub.ObjectAttributes
	switch {
	case pub.Type != tpm2.TPMAlgKeyedHash:
		return fmt.Errorf("%w: sealed object is not a keyed-hash object", ErrBlobFormat)
	case pub.NameAlg != tpm2.TPMAlgSHA256 || len(pub.AuthPolicy.Buffer) != 32:
		return fmt.Errorf("%w: sealed object has no SHA-256 policy", ErrBlobFormat)
	case a.UserWithAuth || !a.FixedTPM || !a.FixedParent || a.SignEncrypt || a.Decrypt:
		return fmt.Errorf("%w: sealed object attributes allow use outside the PCR policy", ErrBlobFormat)
	}
	return nil
}
