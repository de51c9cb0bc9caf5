package store

import (
	"context"
	"time"
)

// Maintain runs the replica's housekeeping until ctx ends: PurgeExpired
// every interval (a minute or less keeps the promise that an expired alert
// leaves the disk within a minute; 0 means a minute), and, when retention
// is positive, PurgeRetention of audit records older than retention at
// start and then hourly, or every tenth of the retention period if that is
// shorter, so that a short period keeps the file flat under a steady load. Failures are logged and retried at the next tick.
// The agent runs it in a goroutine of its own.
func (r *Replica) Maintain(ctx context.Context, interval, retention time.Duration) {
	if interval <= 0 || interval > time.Minute {
		interval = time.Minute
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var lastRetention time.Time
	purgeEvery := min(time.Hour, retention/10)
	for {
		now := r.now()
		if n, err := r.PurgeExpired(ctx, now); err != nil && ctx.Err() == nil {
			r.log.Error("purge expired alerts", "err", err)
		} else if n > 0 {
			r.log.Info("expired alerts purged", "alerts", n)
		}
		if retention > 0 && now.Sub(lastRetention) >= purgeEvery {
			if res, err := r.PurgeRetention(ctx, now.Add(-retention)); err != nil && ctx.Err() == nil {
				r.log.Error("purge audit records past retention", "err", err)
			} else {
				lastRetention = now
				if res.Audit > 0 {
					r.log.Info("audit records past retention purged", "records", res.Audit)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
