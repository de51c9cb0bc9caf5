package post

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/borderpost/borderpost/store"
)

// recordProbeEvery is how often an agent that cannot record checks tries
// a write again, so that readiness returns soon after space is freed even
// when no device sends a check meanwhile.
const recordProbeEvery = time.Second

// recordHealth tracks whether checks can be recorded. A check that cannot
// be written to disk is refused (the device sees an error), and the agent
// must say so loudly: readiness false, a reason in the status and on the
// officers' page, a metric. The zero value is healthy.
type recordHealth struct {
	failing atomic.Bool // mirrors !since.IsZero(), read on every check without the lock
	mu      sync.Mutex
	since   time.Time // first failure of the current outage; zero when healthy
	cause   string    // plain-words reason for officers and technicians
	remedy  string
	failed  int64 // checks refused in the current outage
}

// fault returns the reason checks cannot be recorded and what to do, or
// empty strings when they can.
func (h *recordHealth) fault() (cause, remedy string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cause, h.remedy
}

// recordFailed notes that a write to the replica failed with err; the
// record probe (a component of Run) then tries a write every second.
func (a *Agent) recordFailed(err error) {
	cause := "checks cannot be recorded: " + err.Error()
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		cause = "disk full: checks cannot be recorded"
	}
	remedy := fmt.Sprintf("free space on the disk holding %s (df -h %s); the agent is ready again as soon as a check is recorded",
		a.cfg.Store.Path, filepath.Dir(a.cfg.Store.Path))
	h := &a.health
	h.mu.Lock()
	first := h.since.IsZero()
	if first {
		h.since = time.Now()
	}
	h.cause, h.remedy = cause, remedy
	h.failing.Store(true)
	h.failed++
	h.mu.Unlock()
	if first {
		a.log.Error("replica write failed: agent not ready", "cause", cause, "err", err, "remedy", remedy)
	}
}

// recordSucceeded clears a recording outage once a check is recorded
// again, and writes the outage's audit record (once per outage; the probe
// writes its own).
func (a *Agent) recordSucceeded(ctx context.Context) {
	if since, failed, cause, ok := a.endOutage(); ok {
		if err := a.rep.Audit(ctx, outageRecord(a.cfg.Agent.ID, since, failed, cause)); err != nil {
			a.log.Warn("audit the end of a recording outage", "err", err)
		}
	}
}

// endOutage clears the outage, if any, and returns what it was.
func (a *Agent) endOutage() (since time.Time, failed int64, cause string, ended bool) {
	h := &a.health
	if !h.failing.Load() {
		return
	}
	h.mu.Lock()
	if h.since.IsZero() {
		h.mu.Unlock()
		return
	}
	since, failed, cause = h.since, h.failed, h.cause
	h.since, h.cause, h.remedy, h.failed = time.Time{}, "", "", 0
	h.failing.Store(false)
	h.mu.Unlock()
	a.log.Info("replica writes succeed again: agent ready", "refused_checks", failed, "outage", time.Since(since).Round(time.Millisecond))
	return since, failed, cause, true
}

// outageRecord is the audit record of an outage that ended.
func outageRecord(agent string, since time.Time, failed int64, cause string) store.AuditRecord {
	return store.AuditRecord{Event: store.EventRecordRestored, Ref: agent,
		Detail: fmt.Sprintf("%d checks refused since %s: %s", failed, since.UTC().Format(time.RFC3339), cause)}
}

// probeRecord runs while the agent runs: during a recording outage it
// tries, every recordProbeEvery, to write the audit record that ends it,
// so that readiness returns soon after space is freed even when no device
// sends a check meanwhile.
func (a *Agent) probeRecord(ctx context.Context) error {
	tick := time.NewTicker(recordProbeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		h := &a.health
		if !h.failing.Load() {
			continue
		}
		h.mu.Lock()
		since, failed, cause := h.since, h.failed, h.cause
		h.mu.Unlock()
		if !since.IsZero() && a.rep.Audit(ctx, outageRecord(a.cfg.Agent.ID, since, failed, cause)) == nil {
			a.endOutage()
		}
	}
}

// notReady returns why the agent is not ready, and what to do, or empty
// strings when it is.
func (a *Agent) notReady() (cause, remedy string) {
	if cause, remedy = a.health.fault(); cause != "" {
		return cause, remedy
	}
	if !a.ready.Load() {
		return "starting or stopping", ""
	}
	return "", ""
}
