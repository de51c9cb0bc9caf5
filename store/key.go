package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// DataKeySize is the length of a data key: 256 bits for AES-256.
const DataKeySize = 32

// KeyProvider yields the replica's data key. Implementations: KeyFile for
// development, and the TPM-sealed key of package store/tpm on a post.
// DataKey must return a fresh slice: the store clears it once the keys it
// needs are derived.
type KeyProvider interface {
	DataKey(ctx context.Context) ([]byte, error)
}

// KeyFile reads the data key from a file holding 64 hexadecimal characters.
// It is for development and tests only: the key sits on disk in clear.
type KeyFile struct {
	Path string
}

// DataKey reads and decodes the key file.
func (k KeyFile) DataKey(ctx context.Context) ([]byte, error) {
	b, err := os.ReadFile(k.Path)
	if err != nil {
		return nil, fmt.Errorf("%w: read key file: %w (create one with `borderpost keys init --key-file %s`)", ErrNoKey, err, k.Path)
	}
	return ParseKey(strings.NewReader(string(b)))
}

// ParseKey decodes a data key written as hexadecimal text.
func ParseKey(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1024))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoKey, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != DataKeySize {
		return nil, fmt.Errorf("%w: key must be %d hexadecimal characters", ErrNoKey, 2*DataKeySize)
	}
	return key, nil
}

// WriteKeyFile creates a new random data key and writes it to path with
// mode 0600. It refuses to overwrite an existing file, since that would
// make the replica encrypted under the old key unreadable.
func WriteKeyFile(path string) error {
	key := make([]byte, DataKeySize)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	if _, err := fmt.Fprintf(f, "%x\n", key); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
