package sync

// ApplyGate bounds how many watch lists sharing it verify and apply a
// message (a delta or a snapshot chunk) at the same time. A fleet of
// simulated agents in one process shares one: each agent alone would
// decode a large delta and build its write transaction at once, and a
// thousand of them doing so together hold a thousand times that memory
// while two cores can only work on a few. An agent in the field has no use
// for it. A message waits for a slot in its topic's queue, in order; the
// broker's PUBACK still goes out only once it is handled.
type ApplyGate struct {
	slots chan struct{}
}

// NewApplyGate returns a gate admitting n handlers at once (at least one).
func NewApplyGate(n int) *ApplyGate {
	return &ApplyGate{slots: make(chan struct{}, max(n, 1))}
}

// enter waits for a slot; a nil gate admits at once.
func (g *ApplyGate) enter() {
	if g != nil {
		g.slots <- struct{}{}
	}
}

// leave frees the slot taken by enter.
func (g *ApplyGate) leave() {
	if g != nil {
		<-g.slots
	}
}
