package terminal

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// argonParams are argon2id's cost parameters as the PHC string carries them.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
}

// defaultArgon follows RFC 9106's second recommendation (64 MiB), with two
// lanes because a post's machine has two cores.
var defaultArgon = argonParams{memory: 64 * 1024, time: 3, threads: 2}

// Bounds on what a users file may ask for. The floor is OWASP's minimum for
// argon2id (19 MiB, two passes); the ceiling stops a bad file from making
// each login allocate gigabytes.
const (
	minArgonMemory = 19 * 1024
	minArgonCost   = 19 * 1024 * 2 // memory x passes
	maxArgonMemory = 1 << 20       // 1 GiB
	maxArgonTime   = 16
	maxArgonLanes  = 16
	minBcryptCost  = 10
	argonKeyLen    = 32
	argonSaltLen   = 16
	minPassword    = 12 // characters
	maxPassword    = 256
)

// HashPassword returns an argon2id hash of password in PHC string form
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash), ready for the users file.
// It refuses passwords shorter than 12 characters or longer than 256 bytes.
func HashPassword(password string) (string, error) {
	if utf8.RuneCountInString(password) < minPassword {
		return "", fmt.Errorf("%w: want at least %d characters", ErrWeakPassword, minPassword)
	}
	return hashArgon(password, defaultArgon)
}

func hashArgon(password string, p argonParams) (string, error) {
	if len(password) > maxPassword {
		return "", fmt.Errorf("%w: password longer than %d bytes", ErrInput, maxPassword)
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// passwordHash is a parsed hash from the users file.
type passwordHash struct {
	bcrypt []byte // the whole bcrypt hash, when it is one
	argon  argonParams
	salt   []byte
	key    []byte
}

// parseHash accepts argon2id PHC strings and bcrypt hashes ($2a$, $2b$,
// $2y$) whose cost is at least the floor above.
func parseHash(s string) (passwordHash, error) {
	if strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$") {
		cost, err := bcrypt.Cost([]byte(s))
		if err != nil {
			return passwordHash{}, fmt.Errorf("%w: bcrypt: %w", ErrHash, err)
		}
		if cost < minBcryptCost {
			return passwordHash{}, fmt.Errorf("%w: bcrypt cost %d below %d", ErrHash, cost, minBcryptCost)
		}
		return passwordHash{bcrypt: []byte(s)}, nil
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return passwordHash{}, fmt.Errorf("%w: want argon2id ($argon2id$v=19$m=..,t=..,p=..$salt$hash) or bcrypt", ErrHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return passwordHash{}, fmt.Errorf("%w: argon2id version must be %d", ErrHash, argon2.Version)
	}
	var h passwordHash
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return passwordHash{}, fmt.Errorf("%w: argon2id parameters must be m=..,t=..,p=..", ErrHash)
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return passwordHash{}, fmt.Errorf("%w: argon2id parameter %s is not a number", ErrHash, k)
		}
		switch k {
		case "m":
			h.argon.memory = uint32(n)
		case "t":
			h.argon.time = uint32(n)
		case "p":
			if n > 255 {
				return passwordHash{}, fmt.Errorf("%w: argon2id lanes out of range", ErrHash)
			}
			h.argon.threads = uint8(n)
		default:
			return passwordHash{}, fmt.Errorf("%w: unknown argon2id parameter", ErrHash)
		}
	}
	a := h.argon
	switch {
	case len(seen) != 3:
		return passwordHash{}, fmt.Errorf("%w: argon2id needs m, t and p", ErrHash)
	case a.memory < minArgonMemory || uint64(a.memory)*uint64(a.time) < minArgonCost:
		return passwordHash{}, fmt.Errorf("%w: argon2id cost below m=%d,t=2", ErrHash, minArgonMemory)
	case a.memory > maxArgonMemory || a.time < 1 || a.time > maxArgonTime || a.threads < 1 || a.threads > maxArgonLanes:
		return passwordHash{}, fmt.Errorf("%w: argon2id parameters out of range", ErrHash)
	case a.memory < 8*uint32(a.threads):
		return passwordHash{}, fmt.Errorf("%w: argon2id memory below 8 KiB per lane", ErrHash)
	}
	var err error
	enc := base64.RawStdEncoding
	if h.salt, err = enc.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return passwordHash{}, fmt.Errorf("%w: argon2id salt must be unpadded base64 of at least 8 bytes", ErrHash)
	}
	if h.key, err = enc.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return passwordHash{}, fmt.Errorf("%w: argon2id hash must be unpadded base64 of 16 to 64 bytes", ErrHash)
	}
	return h, nil
}

// verify reports whether password matches, in time independent of where
// the two differ.
func (h passwordHash) verify(password string) bool {
	if len(password) > maxPassword {
		return false
	}
	if h.bcrypt != nil {
		return bcrypt.CompareHashAndPassword(h.bcrypt, []byte(password)) == nil
	}
	key := argon2.IDKey([]byte(password), h.salt, h.argon.time, h.argon.memory, h.argon.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1
}
