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
	// ErrBinding means a signed message is not of the kind, stream or
	// recipient its topic expects: a message replayed where it does not
	// belong, or one of an older protocol that names none.
	ErrBinding = errors.New("signed message not meant for this topic")
	// ErrStale means a signed message is older than the one in force: an
	// assignment, head or snapshot replayed after a newer one.
	ErrStale = errors.New("older than the message in force")
	// ErrNotConnected means the link to the broker is down; the caller keeps
	// the data and tries again after the next connect.
	ErrNotConnected = errors.New("not connected to the broker")
	// ErrHitKey means a hit key is missing or malformed, or a hit message
	// is sealed to a hit key central does not hold.
	ErrHitKey = errors.New("hit key missing or unknown")
)
