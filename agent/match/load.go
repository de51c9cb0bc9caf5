package match

import (
	"context"
	"errors"
	"fmt"
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

// loadByTerm loads the index of a replica that keeps a term index. A
// file it could not save is logged: the start serves anyway.
func loadByTerm(ctx context.Context, src AlertSource, rep replicaFiles, o Options) (*Index, error) {
	ix, unsaved, err := loadByTermSaving(ctx, src, rep, o)
	if unsaved != nil {
		o.logger().Warn("the match index's files were not saved; the next start rebuilds them", "err", unsaved)
	}
	return ix, err
}

// loadByTermSaving is loadByTerm, reporting apart (unsaved) why the files
// it read the replica for (the term table, the name index) could not be
// saved for the next start.
func loadByTermSaving(ctx context.Context, src AlertSource, rep replicaFiles, o Options) (ix *Index, unsaved, err error) {
	// Identifiers stay in the replica's term index: memory takes its
	// fingerprints (ascending, as the replica gives them) and the alerts
	// with names. The table saved beside the replica (at the last start,
	// or by Persist after deltas) is read when it is the replica's
	// current one; otherwise the index is walked, and the table saved for
	// the next start. The same goes for the persons and companies: the
	// name index file, when current, instead of decrypting them all.
	log := o.logger()
	ix = newIndex(o, src, 0, true)
	ix.byTerm = rep
	start := time.Now()
	tbl, err := rep.LoadTermTable(ctx)
	fresh := false
	if err != nil {
		if !errors.Is(err, store.ErrTermTable) {
			return nil, nil, err
		}
		log.Info("term table not used; walking the term index", "err", err)
		if tbl, err = rep.ReadTermTable(ctx); err != nil {
			return nil, nil, err
		}
		log.Info("term index walked", "entries", tbl.Len(), "took", time.Since(start).Round(time.Millisecond))
		fresh = true
	}
	ix.termFPs.table = tbl
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
			return nil, nil, err
		}
	}
	ix.seal()
	// What was read is the state of the term table's stamp if the replica
	// is still there: nothing wrote between (the agent loads before it
	// syncs). Otherwise the index cannot say which state it holds, and
	// persists nothing until the next load.
	cur, err := rep.CurrentStamp()
	if err != nil || !cur.Equal(at) {
		if err == nil {
			err = errors.New("the replica changed while the match index was loaded")
		}
		return ix, fmt.Errorf("%w; its files are rebuilt at the next start", err), nil
	}
	ix.track.at = at
	if o.DeferFiles && (fresh || !loaded) {
		// Persist writes both, stamped with this state if it is still
		// the replica's.
		ix.track.dirty, ix.track.deferred = true, true
		return ix, nil, nil
	}
	// A start that cannot save its files still serves: the next one
	// rebuilds them.
	if fresh {
		if err := rep.SaveTermTable(tbl); err != nil {
			unsaved = fmt.Errorf("term table: %w", err)
		}
	}
	if !loaded {
		if err := ix.saveNames(rep, at); err != nil {
			unsaved = errors.Join(unsaved, fmt.Errorf("name index: %w", err))
		}
	}
	return ix, unsaved, nil
}

// PrepareFiles makes the files a start loads from (the term table and
// the name index beside the replica) the replica's current ones: it reads
// rep as Load does (walking the term index and decrypting the persons and
// companies only when those files are missing or stale) and saves what it
// built. The commands that fill a replica offline run it before they end
// (`borderpost replica import`, the simulator's bench), so that the
// agent's first start after them loads the files as any other start
// does. Progress of long work goes to o.Logger and rep's logger. It fails
// when rep has no ready term index (opened without WithTerms) or a file
// could not be written; nothing is then wrong with the replica, the next
// start rebuilds what is missing.
func PrepareFiles(ctx context.Context, rep *store.Replica, o Options) error {
	ready, err := rep.TermsReady()
	if err != nil {
		return err
	}
	if !ready {
		return fmt.Errorf("%w: the replica's term index is not ready; open it with match.WithTerms", store.ErrTermTable)
	}
	_, unsaved, err := loadByTermSaving(ctx, rep, rep, o)
	if err != nil {
		return err
	}
	return unsaved
}
