package post

import (
	"context"
	"errors"
	"time"

	"github.com/borderpost/borderpost/agent/match"
)

// After deltas the files the match index loads from at start (the term
// table, the name index) are stale: the next start would walk the term
// index (minutes at 100 million alerts from a cold disk) and decrypt
// every person and company. The agent writes them again from memory once
// deltas have stopped coming for indexQuiet, and at a clean shutdown.
const (
	// indexQuiet is how long after the last delta the files are written:
	// long enough that a burst of deltas is written once.
	indexQuiet = 2 * time.Minute
	// indexPersistEvery is how often the agent looks.
	indexPersistEvery = 30 * time.Second
)

// persistIndexes writes the files of every set's match index that is
// stale and quiet for indexQuiet, every indexPersistEvery and when asked
// (askPersist), until ctx ends.
func (a *Agent) persistIndexes(ctx context.Context) {
	tick := time.NewTicker(indexPersistEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-a.persistNow:
		}
		a.persistStale(ctx, indexQuiet)
	}
}

// askPersist has persistIndexes look at the indexes now rather than at
// its next tick: an index rebuilt after a snapshot has its files still to
// write (match.Options.DeferFiles), with no quiet to wait for. It never
// blocks.
func (a *Agent) askPersist() {
	select {
	case a.persistNow <- struct{}{}:
	default: // a request is already waiting
	}
}

// persistStale writes the files of every set's match index stale for at
// least quiet. Failures are logged: the next start rebuilds what is stale.
func (a *Agent) persistStale(ctx context.Context, quiet time.Duration) {
	for _, set := range *a.sets.Load() {
		stale, since := set.index.Stale()
		if !stale || time.Since(since) < quiet {
			continue
		}
		start := time.Now()
		a.log.Debug("writing the match index's files (after deltas or a snapshot)", "scope", set.scope, "alerts", set.index.Len())
		written, err := set.index.Persist(ctx)
		switch {
		case errors.Is(err, match.ErrNotPersisted):
			// A change not applied yet (tried again at the next tick), or
			// an index whose state is unknown until the next load.
			a.log.Debug("match index files not written", "scope", set.scope, "err", err)
		case err != nil:
			a.log.Warn("match index files not written; the next start rebuilds them", "scope", set.scope, "err", err)
		case written:
			a.log.Info("match index files written (after deltas or a snapshot)", "scope", set.scope, "alerts", set.index.Len(), "took", time.Since(start).Round(time.Millisecond))
		}
	}
}
