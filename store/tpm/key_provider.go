package tpm

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"

	"github.com/borderpost/borderpost/store/atomicfile"
)

// BlobPathFor returns where the sealed key blob of the database at dbPath
// lives: beside it, so a disk swap moves both and a TPM swap is detected.
func BlobPathFor(dbPath string) string { return dbPath + ".tpmkey" }

// KeyProvider gives the store its data key by unsealing the blob file with
// the TPM. It satisfies the store's DataKey(ctx) ([]byte, error) interface.
type KeyProvider struct {
	// Config names the TPM. Its PCRs are not consulted when unsealing: the
	// blob carries the selection it was sealed to.
	Config Config
	// BlobPath is the sealed key blob, normally BlobPathFor(database path).
	BlobPath string
}

// DataKey opens the TPM, reads the blob file and returns the unsealed
// KeySize-byte key. It fails (never falls back) when the file is missing or
// malformed, the TPM is unreachable, or the boot state changed (ErrPolicy).
// The caller owns the returned slice and should clear it when done.
func (p *KeyProvider) DataKey(ctx context.Context) ([]byte, error) {
	f, err := os.Open(p.BlobPath)
	if err != nil {
		return nil, fmt.Errorf("tpm: open sealed key blob: %w", err)
	}
	blob, err := ReadBlob(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.BlobPath, err)
	}
	tp, err := Open(ctx, p.Config)
	if err != nil {
		return nil, err
	}
	key, err := tp.Unseal(ctx, blob)
	// Once the key is out a close error does not make it wrong.
	_ = tp.Close()
	return key, err
}

// Provision seals key to cfg's PCRs, unseals it once to prove the blob
// works on this TPM in this boot state, and only then replaces blobPath
// atomically (temporary file, fsync, rename, fsync of the directory) with
// mode 0600. An existing blob is left untouched on any failure.
func Provision(ctx context.Context, cfg Config, blobPath string, key []byte) error {
	tp, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer tp.Close()
	blob, err := tp.Seal(ctx, key)
	if err != nil {
		return err
	}
	back, err := tp.Unseal(ctx, blob)
	if err != nil {
		return fmt.Errorf("tpm: provision: check unseal: %w", err)
	}
	same := subtle.ConstantTimeCompare(back, key) == 1
	clear(back)
	if !same {
		return errors.New("tpm: provision: unsealed key differs from the sealed key")
	}
	var buf bytes.Buffer
	if _, err := blob.WriteTo(&buf); err != nil {
		return err
	}
	return writeFileAtomic(blobPath, buf.Bytes())
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old or the new file, never a partial one.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("tpm: write sealed key blob: %w", err)
	}
	return nil
}
