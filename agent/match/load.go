package match

import (
	"context"
	"errors"

	"github.com/borderpost/borderpost/store"
)

// Load builds the match index of every alert rep holds, the way the agent
// starts and the way the simulator's bench measures that start: both call
// this one function, so that what the bench reports is what a post does.
// The index reads the alerts behind its matches from rep, which must stay
// open while the index is used; it keeps none of them decrypted.
func Load(ctx context.Context, rep *store.Replica, o Options) (*Index, error) {
	n, err := rep.AlertCount()
	if err != nil {
		return nil, err
	}
	ready, err := rep.TermsReady()
	if err != nil {
		return nil, err
	}
	if !ready {
		// The replica holds each ID once: the index is built in bulk, its
		// tables sorted once at the end.
		ix := newIndex(o, rep, n, true)
		if err := rep.Alerts(ctx, func(al store.Alert) error { ix.Put(al); return nil }); err != nil {
			return nil, err
		}
		ix.seal()
		return ix, nil
	}
	// Identifiers stay in the replica's term index: memory takes its
	// fingerprints (ascending, as the replica gives them) and the alerts
	// with names. The table saved beside the replica at the last start is
	// read when it is the replica's current one; otherwise the index is
	// walked, and the table saved for the next start.
	ix := newIndex(o, rep, 0, true)
	ix.byTerm = rep
	tbl, err := rep.LoadTermTable(ctx)
	fresh := false
	if err != nil {
		if !errors.Is(err, store.ErrTermTable) {
			return nil, err
		}
		o.logger().Info("term table not used; walking the term index", "err", err)
		if tbl, err = rep.ReadTermTable(ctx); err != nil {
			return nil, err
		}
		fresh = true
	}
	ix.termFPs.sorted = tbl.Fingerprints
	// Only the alerts with names are decrypted, through their shards.
	err = rep.EachAlertByTerm(ctx, nameShardTerms(), func(al store.Alert) error {
		if hasName(&al) {
			ix.Put(al)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ix.seal()
	if fresh {
		// A start that cannot save its table still serves: the next one
		// walks the index again.
		if err := rep.SaveTermTable(tbl); err != nil {
			o.logger().Warn("term table not saved", "err", err)
		}
	}
	return ix, nil
}
