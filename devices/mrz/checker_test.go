package mrz

import (
	"context"
	"fmt"
	"sync"

	"github.com/borderpost/borderpost/devices"
)

// recordingChecker records every Check and answers with hitsFor[document
// number] hits, or with err.
type recordingChecker struct {
	mu      sync.Mutex
	checks  []devices.Check
	hitsFor map[string]int
	err     error
}

func (c *recordingChecker) Check(_ context.Context, ch devices.Check) (devices.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return devices.Result{}, c.err
	}
	c.checks = append(c.checks, ch)
	res := devices.Result{CheckID: fmt.Sprintf("chk-%d", len(c.checks))}
	for i := range c.hitsFor[ch.Items[0].Value] {
		res.Hits = append(res.Hits, devices.Hit{ID: fmt.Sprintf("hit-%d", i), AlertID: "A1", Field: ch.Items[0].Field, Match: "exact", Score: 1})
	}
	return res, nil
}

func (c *recordingChecker) recorded() []devices.Check {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]devices.Check(nil), c.checks...)
}

// panicOn panics when asked about its document number.
type panicOn struct{ number string }

func (p panicOn) Check(_ context.Context, ch devices.Check) (devices.Result, error) {
	if ch.Items[0].Value == p.number {
		panic("checker bug")
	}
	return devices.Result{CheckID: "ok"}, nil
}
