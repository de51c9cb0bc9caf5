package match

import "errors"

// ErrUnreadable is returned when the alert behind a match cannot be read
// from the replica: the check fails rather than pass a possible hit.
var ErrUnreadable = errors.New("match: the alert behind a match cannot be read from the replica")
