package ens

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// Limits bounds what a parser accepts. A zero field takes its default.
type Limits struct {
	// MaxBytes is the largest input accepted, in bytes (default 4 MiB).
	MaxBytes int64
	// MaxDepth is the deepest nesting of XML elements or JSON
	// objects and arrays accepted (default 32; the forms read here need
	// fewer than 10).
	MaxDepth int
	// MaxTokens caps the number of XML tokens or JSON values and keys
	// (default 200000).
	MaxTokens int
}

// Default limits, applied to zero fields of Limits.
const (
	DefaultMaxBytes  = 4 << 20
	DefaultMaxDepth  = 32
	DefaultMaxTokens = 200_000
)

// withDefaults returns l with zero fields replaced by the defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxTokens <= 0 {
		l.MaxTokens = DefaultMaxTokens
	}
	return l
}

// readBounded reads all of r, refusing more than max bytes. It reads one
// byte past the limit to tell "exactly max" from "more than max".
func readBounded(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("ens: reading input: %w", err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("ens: %w: more than %d bytes", ErrTooLarge, max)
	}
	return b, nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// checkText refuses input that is not UTF-8 or holds control characters
// (C0 other than tab, LF, CR; DEL; C1), and drops a leading byte-order mark.
func checkText(b []byte) ([]byte, error) {
	b = bytes.TrimPrefix(b, utf8BOM)
	line := 1
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n':
				line++
			case c == '\t' || c == '\r':
			case c < 0x20 || c == 0x7F:
				return nil, fmt.Errorf("ens: %w: line %d", ErrControlChar, line)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return nil, fmt.Errorf("ens: %w: invalid byte sequence at line %d", ErrEncoding, line)
		}
		if r >= 0x80 && r <= 0x9F {
			return nil, fmt.Errorf("ens: %w: line %d", ErrControlChar, line)
		}
		i += n
	}
	return b, nil
}

// readInput applies the size limit and the text checks.
func readInput(r io.Reader, lim Limits) ([]byte, error) {
	b, err := readBounded(r, lim.MaxBytes)
	if err != nil {
		return nil, err
	}
	return checkText(b)
}
