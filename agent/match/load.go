package match

import (
	"context"
	"errors"
	"time"

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
		if err := rep.Alerts(ctx, func(al store.Alert) error { ix.put(al, false); return nil }); err != nil {
			return nil, err
		}
		ix.seal()
		return ix, nil
	}
	return loadByTerm(ctx, rep, rep, o)
}

// replicaFiles is what loadByTerm reads: *store.Replica (tests count its
// reads through a wrapper).
type replicaFiles interface {
	AlertSource
	termIndex
	sealedFiles
}

// loadByTerm loads the index of a replica that keeps a term index.
func loadByTerm(ctx context.Context, src AlertSource, rep replicaFiles, o Options) (*Index, error) {
	// Identifiers stay in the replica's term index: memory takes its
	// fingerprints (ascending, as the replica gives them) and the alerts
	// with names. The table saved beside the replica (at the last start,
	// or by Persist after deltas) is read when it is the replica's
	// current one; otherwise the index is walked, and the table saved for
	// the next start. The same goes for the persons and companies: the
	// name index file, when current, instead of decrypting them all.
	log := o.logger()
	ix := newIndex(o, src, 0, true)
	ix.byTerm = rep
	start := time.Now()
	tbl, err := rep.LoadTermTable(ctx)
	fresh := false
	if err != nil {
		if !errors.Is(err, store.ErrTermTable) {
			return nil, err
		}
		log.Info("term table not used; walking the term index", "err", err)
		if tbl, err = rep.ReadTermTable(ctx); err != nil {
			return nil, err
		}
		log.Info("term index walked", "terms", len(tbl.Fingerprints), "took", time.Since(start).Round(time.Millisecond))
		fresh = true
	}
	ix.termFPs.sorted = tbl.Fingerprints
	at := tbl.Stamp()
	loaded := false
	if !fresh {
		start := time.Now()
		if loaded, err = ix.loadNames(rep, at); loaded {
			log.Info("name index loaded", "names", ix.names.Len(), "took", time.Since(start).Round(time.Millisecond))
		} else {
			log.Info("name index file not used; reading the persons and companies", "err", err)
		}
	}
	if !loaded {
		// Only the alerts with names are decrypted, through their shards.
		start, report, n := time.Now(), time.Now(), 0
		err = rep.EachAlertByTerm(ctx, nameShardTerms(), func(al store.Alert) error {
			if hasName(&al) {
				ix.put(al, false)
			}
			if n++; n%4096 == 0 && time.Since(report) > 10*time.Second {
				report = time.Now()
				log.Info("reading the persons and companies", "read", n, "took", time.Since(start).Round(time.Second))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	ix.seal()
	// What was read is the state of the term table's stamp if the replica
	// is still there: nothing wrote between (the agent loads before it
	// syncs). Otherwise the index cannot say which state it holds, and
	// persists nothing until the next load.
	cur, err := rep.CurrentStamp()
	if err != nil || !cur.Equal(at) {
		log.Warn("the replica changed while the match index was loaded; its files are rebuilt at the next start", "err", err)
		return ix, nil
	}
	ix.track.at = at
	// A start that cannot save its files still serves: the next one
	// rebuilds them.
	if fresh {
		if err := rep.SaveTermTable(tbl); err != nil {
			log.Warn("term table not saved", "err", err)
		}
	}
	if !loaded {
		if err := ix.saveNames(rep, at); err != nil {
			log.Warn("name index not saved", "err", err)
		}
	}
	return ix, nil
}
