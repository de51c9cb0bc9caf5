package match

import (
	"context"
	"slices"

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
	// with names.
	ix := newIndex(o, rep, 0, true)
	ix.byTerm = rep
	ix.termFPs.sorted = make([]uint64, 0, n)
	if err := rep.EachTermFingerprint(ctx, func(fp uint64) { ix.termFPs.sorted = append(ix.termFPs.sorted, fp) }); err != nil {
		return nil, err
	}
	ix.termFPs.sorted = slices.Clip(ix.termFPs.sorted)
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
	return ix, nil
}
