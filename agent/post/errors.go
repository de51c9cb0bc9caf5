package post

import "errors"

// errEndedEarly is a component of the running agent that returned while
// the agent was still meant to run; it stops the agent like a failure.
var errEndedEarly = errors.New("ended on its own while the agent was running; the agent stops")
