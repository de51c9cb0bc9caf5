package post

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/borderpost/borderpost/agent/match"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
	"github.com/borderpost/borderpost/store/atomicfile"
	bpsync "github.com/borderpost/borderpost/sync"
)

// alertSet is one set of alerts the agent checks against: the whole watch
// list in the main replica, or one scope's alerts in a replica file of
// their own. A scope's file holds nothing else, so that dropping the
// scope is deleting the file.
type alertSet struct {
	scope string // "" for the whole watch list
	rep   *store.Replica
	index *match.Index
	// stopMaintain ends the scope replica's housekeeping and waits for it;
	// nil while none runs.
	stopMaintain func()
}

// maintain runs a scope replica's housekeeping (expired alerts leave the
// disk, old audit records go) until the scope is dropped or ctx (Run's)
// ends. a.scopeMu held, or Run not yet serving.
func (a *Agent) maintain(ctx context.Context, set *alertSet) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		set.rep.Maintain(ctx, a.cfg.Store.PurgeEvery, a.cfg.Store.Retention)
	}()
	set.stopMaintain = func() { cancel(); <-done }
}

// assignmentPath is where the last scope assignment from central is kept,
// so that a post that starts offline knows its scopes.
func assignmentPath(main string) string { return main + ".scopes.json" }

// savedAssignment is what assignmentPath holds: the assignment in force,
// with its sequence, so that an older one replayed later is refused.
type savedAssignment struct {
	Scopes []string  `json:"scopes"`
	Whole  bool      `json:"whole,omitempty"` // central sent the post back to the whole list
	Seq    uint64    `json:"seq,omitempty"`
	Issued time.Time `json:"issued"`
}

// readAssignment returns the saved assignment, and false when the post
// follows no scopes by central's word (none saved, or back to the whole
// list).
func readAssignment(main string) (savedAssignment, bool, error) {
	var sa savedAssignment
	b, err := os.ReadFile(assignmentPath(main))
	if errors.Is(err, fs.ErrNotExist) {
		return sa, false, nil
	}
	if err != nil {
		return sa, false, fmt.Errorf("read the scope assignment: %w", err)
	}
	if err := json.Unmarshal(b, &sa); err != nil {
		return sa, false, fmt.Errorf("scope assignment %s is damaged (%v): delete it and the post takes central's again at the next connect", assignmentPath(main), err)
	}
	for _, s := range sa.Scopes {
		if err := bpsync.ValidScopeName(s); err != nil {
			return sa, false, fmt.Errorf("scope assignment %s: %w", assignmentPath(main), err)
		}
	}
	return sa, !sa.Whole, nil
}

// assignmentInForce returns the sequence of the saved assignment, 0 if
// none: the session refuses older ones.
func (a *Agent) assignmentInForce() uint64 {
	sa, _, err := readAssignment(a.cfg.Store.Path)
	if err != nil {
		return 0 // New refused to start on a damaged one
	}
	return sa.Seq
}

// writeAssignment saves sa durably: written beside, synced, renamed.
func writeAssignment(main string, sa savedAssignment) error {
	b, err := json.Marshal(sa)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(assignmentPath(main), b, 0o600); err != nil {
		return fmt.Errorf("save the scope assignment: %w", err)
	}
	return nil
}

// openScopes opens the replicas of the saved assignment's scopes and
// removes, audited, those of scopes no longer assigned, so that a scope
// dropped while the agent was down leaves nothing on disk once it starts.
func (a *Agent) openScopes(ctx context.Context, sa savedAssignment) error {
	on, err := store.ScopeFiles(a.cfg.Store.Path)
	if err != nil {
		return err
	}
	for name, p := range on {
		if !slices.Contains(sa.Scopes, name) {
			if err := a.purgeScopeFile(ctx, name, p); err != nil {
				return err
			}
		}
	}
	for _, name := range sa.Scopes {
		set, err := a.openScope(ctx, name)
		if err != nil {
			return err
		}
		a.scopes[name] = set
	}
	return nil
}

// openScope opens (creating if need be) a scope's replica and loads its
// match index.
func (a *Agent) openScope(ctx context.Context, name string) (*alertSet, error) {
	rep, err := store.Open(ctx, store.ScopePath(a.cfg.Store.Path, name), a.kp, match.WithTerms(store.Options{Logger: a.log.With("scope", name), Compact: true, Warm: true, WarmBudget: a.warm}))
	if err != nil {
		return nil, fmt.Errorf("open the replica of scope %s: %w", name, err)
	}
	ix, err := a.loadIndex(ctx, rep)
	if err != nil {
		rep.Close()
		return nil, fmt.Errorf("load scope %s into the match index: %w", name, err)
	}
	set := &alertSet{scope: name, rep: rep, index: ix}
	a.log.Info("scope loaded", "scope", name, "alerts", set.index.Len())
	return set, nil
}

// purgeScopeFile removes a closed scope replica from disk and audits it.
func (a *Agent) purgeScopeFile(ctx context.Context, name, path string) error {
	n := -1
	if rep, err := store.Open(ctx, path, a.kp, match.WithTerms(store.Options{Logger: a.log})); err == nil {
		n = 0
		rep.Alerts(ctx, func(store.Alert) error { n++; return nil })
		rep.Close()
	}
	if err := store.Remove(path); err != nil {
		return fmt.Errorf("purge dropped scope %s: %w", name, err)
	}
	detail := fmt.Sprintf("%d alerts purged", n)
	if n < 0 {
		detail = "replica unreadable; removed"
	}
	a.log.Info("scope dropped; its replica removed from disk", "scope", name, "detail", detail)
	return a.rep.Audit(ctx, store.AuditRecord{Event: store.EventScopeDropped, Ref: name, Detail: detail})
}

// publishSets makes the current alert sets the ones checks use.
func (a *Agent) publishSets() {
	var sets []*alertSet
	if !a.scoped || a.retiring {
		sets = append(sets, &alertSet{rep: a.rep, index: a.index})
	}
	names := make([]string, 0, len(a.scopes))
	for name := range a.scopes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		sets = append(sets, a.scopes[name])
	}
	a.sets.Store(&sets)
}

// scopeReplica is a scope's alert set as the session follows it; ctx is
// Run's, for the index rebuilds the session asks for.
func (a *Agent) scopeReplica(ctx context.Context, set *alertSet) bpsync.ScopeReplica {
	return bpsync.ScopeReplica{Name: set.scope, Replica: set.rep, Applied: set.index.Apply, Alerts: set.index.Len,
		Reloaded: func() { a.reload(ctx, set) }}
}

// assign carries out a verified scope assignment from central, newer than
// the one in force: it starts following new scopes (their replicas fill
// from a snapshot), stops following dropped ones and removes their
// replicas from disk, audited. After the first assignment checks still
// run against the whole list until the scopes hold their alerts; then its
// replica is emptied. It returns nil once the assignment is saved as the
// one in force. ctx is Run's: the session calls assign from its own
// goroutines.
func (a *Agent) assign(ctx context.Context, as bpsync.Assignment) error {
	a.scopeMu.Lock()
	defer a.scopeMu.Unlock()
	if a.stopped {
		// The next start takes the assignment again.
		return fmt.Errorf("the agent is stopping")
	}
	want := slices.Clone(as.Scopes)
	sort.Strings(want)
	have := make([]string, 0, len(a.scopes))
	for name := range a.scopes {
		have = append(have, name)
	}
	sort.Strings(have)
	if as.Whole {
		return a.followWholeList(ctx, have, as)
	}
	if err := writeAssignment(a.cfg.Store.Path, savedAssignment{Scopes: want, Seq: as.Seq, Issued: as.Issued}); err != nil {
		a.log.Error("scope assignment not carried out; it is retried at the next connect", "err", err)
		return err
	}
	if a.scoped && slices.Equal(want, have) {
		return nil
	}
	a.log.Info("scope assignment from central", "scopes", strings.Join(want, ","))
	if !a.scoped {
		// The whole list is no longer followed, but checks keep running
		// against it until the scopes hold their alerts: a post never
		// checks against nothing while its first snapshots arrive.
		a.scoped, a.retiring = true, true
		a.session.FollowWholeList(false)
		a.tasks.Add(1)
		go func() {
			defer a.tasks.Done()
			a.retireWholeList(ctx)
		}()
	}
	for _, name := range want {
		if _, ok := a.scopes[name]; ok {
			continue
		}
		set, err := a.openScope(ctx, name)
		if err != nil {
			a.log.Error("scope not followed", "scope", name, "err", err)
			continue
		}
		a.scopes[name] = set
		a.publishSets()
		a.maintain(ctx, set)
		a.session.AddScope(a.scopeReplica(ctx, set))
		_ = a.rep.Audit(ctx, store.AuditRecord{Event: store.EventScopeAdded, Ref: name})
	}
	for _, name := range have {
		if !slices.Contains(want, name) {
			a.dropScope(ctx, name)
		}
	}
	if a.session != nil {
		a.session.PublishStatus()
	}
	return nil
}

// retireWait bounds how long checks keep running against the whole list
// after the first assignment, when a scope's first snapshot is slow or the
// scope is empty.
const retireWait = 2 * time.Minute

// retireWholeList empties the whole-list replica once every assigned
// scope holds its alerts (its replica has a delta or a snapshot from
// central), or after retireWait, or until ctx (Run's) ends.
func (a *Agent) retireWholeList(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	deadline := time.Now().Add(retireWait)
	for {
		select {
		case <-ctx.Done():
			return // the next start empties it
		case <-t.C:
		}
		a.scopeMu.Lock()
		if !a.retiring {
			a.scopeMu.Unlock()
			return
		}
		ready := true
		for _, set := range a.scopes {
			if cur, err := set.rep.Cursor(); err != nil || cur.Seq == 0 {
				ready = false
			}
		}
		if ready || time.Now().After(deadline) {
			a.retiring = false
			a.publishSets()
			if err := a.emptyWholeList(ctx); err != nil {
				a.log.Error("empty the whole-list replica after scopes were assigned", "err", err)
			}
			a.scopeMu.Unlock()
			if a.session != nil {
				a.session.PublishStatus()
			}
			return
		}
		a.scopeMu.Unlock()
	}
}

// followWholeList carries out central's word to follow the whole watch
// list again: every scope is dropped (replica removed, audited) and the
// assignment saved as the one in force. A post configured sync.scoped
// refuses.
func (a *Agent) followWholeList(ctx context.Context, have []string, as bpsync.Assignment) error {
	if a.cfg.Sync.Scoped {
		a.log.Warn("central sends this post back to the whole watch list, but it is configured sync.scoped: it keeps its scopes")
		return nil
	}
	if err := writeAssignment(a.cfg.Store.Path, savedAssignment{Whole: true, Seq: as.Seq, Issued: as.Issued}); err != nil {
		a.log.Error("back to the whole list not carried out; it is retried at the next connect", "err", err)
		return err
	}
	if !a.scoped {
		return nil
	}
	a.log.Info("central sends this post back to the whole watch list")
	for _, name := range have {
		a.dropScope(ctx, name)
	}
	a.scoped, a.retiring = false, false
	a.publishSets()
	a.session.FollowWholeList(true)
	a.session.PublishStatus()
	return nil
}

// dropScope stops following a scope and removes its replica, audited.
// a.scopeMu held.
func (a *Agent) dropScope(ctx context.Context, name string) {
	set := a.scopes[name]
	a.session.DropScope(name)
	delete(a.scopes, name)
	a.publishSets()
	n := set.index.Len()
	path := set.rep.Path()
	if set.stopMaintain != nil {
		set.stopMaintain()
	}
	if err := set.rep.Close(); err != nil {
		a.log.Warn("close dropped scope", "scope", name, "err", err)
	}
	if err := store.Remove(path); err != nil {
		a.log.Error("dropped scope's replica not removed; the next start removes it", "scope", name, "err", err)
		return
	}
	a.log.Info("scope dropped; its replica removed from disk", "scope", name, "alerts", n)
	_ = a.rep.Audit(ctx, store.AuditRecord{Event: store.EventScopeDropped, Ref: name, Detail: fmt.Sprintf("%d alerts purged", n)})
}

// emptyWholeList removes every alert of the whole watch list from the main
// replica (an empty snapshot), once the post follows scopes instead.
func (a *Agent) emptyWholeList(ctx context.Context) error {
	cur, err := a.rep.Cursor()
	if err != nil {
		return err
	}
	n := a.index.Len()
	if cur.Seq == 0 && n == 0 {
		return nil
	}
	snap, err := a.rep.BeginSnapshot(0, 0, [32]byte{})
	if err != nil {
		return err
	}
	if err := snap.Commit(ctx, store.Digest{}); err != nil {
		return err
	}
	empty, err := a.loadIndex(ctx, a.rep)
	if err != nil {
		return err
	}
	a.index.ReplaceWith(empty)
	return a.rep.Audit(ctx, store.AuditRecord{Event: store.EventScopeDropped, Ref: "whole-list", Detail: fmt.Sprintf("%d alerts purged", n)})
}

// lookupAll matches items against every alert set. An alert held in two
// scopes is reported once, with its best match. It fails when an alert
// behind a match cannot be read (match.ErrUnreadable).
func (a *Agent) lookupAll(items []devices.Item, t time.Time) ([][]match.Candidate, error) {
	sets := *a.sets.Load()
	if len(sets) == 1 {
		return sets[0].index.MatchAll(items, t)
	}
	out := make([][]match.Candidate, len(items))
	for _, set := range sets {
		matched, err := set.index.MatchAll(items, t)
		if err != nil {
			return nil, fmt.Errorf("scope %s: %w", set.scope, err)
		}
		match.Merge(out, matched)
	}
	return out, nil
}

// expireIndexes takes expired alerts out of every set's match index each
// interval, as the replicas' housekeeping purges them from disk
// (store.Replica.Maintain), until ctx ends.
func (a *Agent) expireIndexes(ctx context.Context, interval time.Duration) {
	if interval <= 0 || interval > time.Minute {
		interval = time.Minute
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, set := range *a.sets.Load() {
			if n := set.index.Expire(time.Now()); n > 0 {
				a.log.Info("expired alerts left the match index", "scope", set.scope, "alerts", n)
			}
		}
	}
}

// alertCount is how many alerts the checks run against (an alert held in
// two scopes counts twice).
func (a *Agent) alertCount() int {
	n := 0
	for _, set := range *a.sets.Load() {
		n += set.index.Len()
	}
	return n
}

// reload rebuilds a set's match index from its replica after a snapshot
// replaced its alerts, and swaps it in. The files the next start loads
// from are written after the swap, in the background (persistIndexes),
// so that checks use the new alerts as soon as they are indexed.
func (a *Agent) reload(ctx context.Context, set *alertSet) {
	start := time.Now()
	o := MatchOptions(a.cfg)
	o.Logger, o.DeferFiles = a.log, true
	fresh, err := match.Load(ctx, set.rep, o)
	if err != nil {
		a.log.Error("rebuild the match index after a snapshot; checks use the previous index", "scope", set.scope, "err", err)
		return
	}
	set.index.ReplaceWith(fresh)
	a.askPersist()
	a.log.Info("match index rebuilt from snapshot", "scope", set.scope, "alerts", set.index.Len(), "took", time.Since(start).Round(time.Millisecond))
}

// closeScopes closes every scope replica.
func (a *Agent) closeScopes() {
	a.scopeMu.Lock()
	defer a.scopeMu.Unlock()
	for _, set := range a.scopes {
		if set.stopMaintain != nil {
			set.stopMaintain()
		}
		set.rep.Close()
	}
}
