package readhttp

import "errors"

// ErrCheck means the Checker failed on a well-formed read; the sender is
// told only that, the detail goes to the agent's log.
var ErrCheck = errors.New("check failed")
