package ocr

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"github.com/borderpost/borderpost/devices"
)

// recordingChecker stands in for the agent: it records every Check, gives
// it an ID and a hit when its container number is on the watch list.
type recordingChecker struct {
	mu     sync.Mutex
	checks []devices.Check
	wanted map[string]bool // "CSQU3054383"
	fail   bool
}

func (rc *recordingChecker) Check(_ context.Context, c devices.Check) (devices.Result, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.fail {
		return devices.Result{}, errors.New("store unavailable")
	}
	rc.checks = append(rc.checks, c)
	res := devices.Result{CheckID: "chk-" + strconv.Itoa(len(rc.checks))}
	for _, it := range c.Items {
		if rc.wanted[it.Value] {
			res.Hits = append(res.Hits, devices.Hit{ID: "hit-" + strconv.Itoa(len(rc.checks)), AlertID: "SIS-1", Field: it.Field, Match: "exact", Score: 1})
		}
	}
	return res, nil
}

func (rc *recordingChecker) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.checks)
}

func (rc *recordingChecker) last() devices.Check {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.checks[len(rc.checks)-1]
}
