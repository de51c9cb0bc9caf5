package connlimit

import "errors"

// Errors returned by Limiter.Acquire; the caller tells the peer and closes
// the connection.
var (
	// ErrBusy means the listener serves its most connections already.
	ErrBusy = errors.New("too many connections")
	// ErrSourceBusy means the connection's source address holds its most
	// connections already.
	ErrSourceBusy = errors.New("too many connections from this address")
)
