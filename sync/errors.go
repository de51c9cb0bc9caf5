package sync

import "errors"

// Errors returned by this package; callers test with errors.Is.
var (
	// ErrSignature means a message's signature does not verify under any
	// trusted key.
	ErrSignature = errors.New("signature does not verify")
	// ErrUntrustedKey means a message names a signing key the agent does
	// not trust.
	ErrUntrustedKey = errors.New("signing key not trusted")
	// ErrMessage means a message does not decode or is too large.
	ErrMessage = errors.New("malformed message")
	// ErrNotConnected means the link to the broker is down; the caller keeps
	// the data and tries again after the next connect.
	ErrNotConnected = errors.New("not connected to the broker")
	// ErrHitKey means a hit key is missing or malformed, or a hit message
	// is sealed to a hit key central does not hold.
	ErrHitKey = errors.New("hit key missing or unknown")
)
