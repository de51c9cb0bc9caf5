package bench

import "errors"

// Errors returned by the bench. Callers test with errors.Is; the wrapped
// message says what failed and what to do.
var (
	// ErrUnknownMix means --mix names no mix the bench knows.
	ErrUnknownMix = errors.New("unknown mix")
	// ErrReplicaMismatch means a replica given to reuse was built for
	// another list (size, mix or seed) than the run asks for.
	ErrReplicaMismatch = errors.New("replica was built for another list")
)
