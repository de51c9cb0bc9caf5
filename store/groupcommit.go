package store

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Group commit of checks. A check is answered only once its audit record
// (and its hits) are on disk, and one fsync costs the same for one check as
// for hundreds: so checks that arrive while a commit is on its way to disk
// wait for the next one, and that one writes all of them in one transaction
// and one fsync. A lone check does not wait for company (bolt's Batch
// would hold it for MaxBatchDelay); under load the group grows with the
// arrivals during one fsync, so the disk sets no rate of checks, only their
// wait.
//
// The first check to find no commit running leads: it commits the group
// waiting, its own included, and if more arrived meanwhile it hands the
// lead to a new goroutine and returns to answer its device. The group's
// commit is an append to the journal's write-ahead log with one fdatasync
// (logGroup, wal.go); without the log (it could not be created on a full
// disk) it is a transaction of the journal itself (commitJournal).

// maxGroup bounds the checks of one transaction, so that one commit's
// size, and so the wait of the checks behind it, stays bounded.
const maxGroup = 1024

// commitQueue holds the checks waiting for the next group commit, and
// the outbox acknowledgements that ride with them.
type commitQueue struct {
	mu      sync.Mutex
	pending []*checkCommit
	acks    []*ackCommit
	leading bool // a goroutine is committing groups
	groups  uint64
	checks  uint64
	acked   uint64
}

// ackCommit is one acknowledgement from central waiting for its commit.
type ackCommit struct {
	upto uint64
	n    int // hits it took out of the outbox
	err  error
	done chan struct{}
}

// checkCommit is one check waiting for its group's commit.
type checkCommit struct {
	check CheckRecord
	hits  []Hit
	out   []Hit // hits with their outbox sequences, once written
	err   error
	done  chan struct{}
}

// commitCheck queues a check for the next group commit and waits until it
// is on disk or failed.
func (r *Replica) commitCheck(c CheckRecord, hits []Hit) ([]Hit, error) {
	cc := &checkCommit{check: c, hits: hits, done: make(chan struct{})}
	r.joinCommit(func(q *commitQueue) { q.pending = append(q.pending, cc) }, cc.done)
	return cc.out, cc.err
}

// acknowledge queues an acknowledgement for the next group commit and
// waits until it is on disk or failed. An acknowledgement is an outbox
// write like a check's hits: riding with the checks, it costs no
// transaction and no fsync of its own, and does not hold the checks
// behind it while it commits alone.
func (r *Replica) acknowledge(upto uint64) (int, error) {
	ac := &ackCommit{upto: upto, done: make(chan struct{})}
	r.joinCommit(func(q *commitQueue) { q.acks = append(q.acks, ac) }, ac.done)
	return ac.n, ac.err
}

// joinCommit queues a write with add, leads the commits if none is
// running, and returns once done is closed.
func (r *Replica) joinCommit(add func(*commitQueue), done <-chan struct{}) {
	q := &r.commits
	q.mu.Lock()
	add(q)
	lead := !q.leading
	q.leading = true
	q.mu.Unlock()
	if lead {
		r.commitGroups()
	}
	<-done
}

// commitGroups commits the waiting group, then hands on the lead if more
// checks or acknowledgements arrived meanwhile, or gives it up.
func (r *Replica) commitGroups() {
	q := &r.commits
	if r.wal != nil {
		r.logGroup()
	} else {
		r.commitJournal()
	}
	// The checks just answered are runnable on this processor, behind
	// this goroutine: let them (and any other check ready to run) go
	// first, so that their next checks join the next group rather than
	// wait for it, and no lane starves while one lane and the leaders
	// hand the processor to each other (issue 16: 180 ms).
	r.yieldProcessor()
	q.mu.Lock()
	if len(q.pending) == 0 && len(q.acks) == 0 {
		q.pending = nil // let the backing array go
		q.leading = false
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	go r.commitGroups()
}

// take takes the next group of checks and the acknowledgements waiting.
func (q *commitQueue) take() ([]*checkCommit, []*ackCommit) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(q.pending), maxGroup)
	group := q.pending[:n:n]
	q.pending = q.pending[n:]
	acks := q.acks
	q.acks = nil
	return group, acks
}

// commitJournal commits the next group straight to the journal, in one
// transaction with its two syncs: the group commit of a journal without
// its log (see wal.go).
func (r *Replica) commitJournal() {
	q := &r.commits
	var group []*checkCommit
	var acks []*ackCommit
	taken := false
	// The group is taken once the transaction holds the journal's write
	// lock: checks that arrive while another writer (an outcome, a queued
	// audit record) holds it join this commit instead of waiting for the
	// next one. The replica's writer (a delta's chunk) is never waited for.
	err := r.j.Update(func(tx *bolt.Tx) error {
		group, acks = q.take()
		taken = true
		if err := r.writeChecks(tx, group); err != nil {
			return err
		}
		return writeAcks(tx, acks)
	})
	if !taken { // the transaction did not start
		group, acks = q.take()
	}
	q.mu.Lock()
	q.groups++
	q.checks += uint64(len(group))
	q.acked += uint64(len(acks))
	q.mu.Unlock()
	r.commitGroup(group, acks, err)
}

// commitGroup answers the checks and acknowledgements of one group,
// whose transaction ended with err. If it failed, each is written in its
// own, so that one bad check fails alone.
func (r *Replica) commitGroup(group []*checkCommit, acks []*ackCommit, err error) {
	defer func() {
		for _, cc := range group {
			close(cc.done)
		}
		for _, ac := range acks {
			close(ac.done)
		}
	}()
	if err == nil || len(group)+len(acks) == 1 {
		for _, cc := range group {
			cc.err = err
		}
		for _, ac := range acks {
			ac.err = err
		}
		return
	}
	for _, cc := range group {
		one := []*checkCommit{cc}
		cc.err = r.j.Update(func(tx *bolt.Tx) error { return r.writeChecks(tx, one) })
	}
	for _, ac := range acks {
		one := []*ackCommit{ac}
		ac.err = r.j.Update(func(tx *bolt.Tx) error { return writeAcks(tx, one) })
	}
}

// writeAcks takes out of the outbox, inside tx, every hit up to each
// acknowledgement's sequence, and moves the outbox count once.
func writeAcks(tx *bolt.Tx, acks []*ackCommit) error {
	if len(acks) == 0 {
		return nil
	}
	c := tx.Bucket(bucketOutbox).Cursor()
	total := 0
	for _, ac := range acks {
		ac.n = 0
		// First again after each Delete: a bolt cursor's Next after a
		// Delete can step over the key that moved under it.
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= ac.upto; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
			ac.n++
		}
		total += ac.n
	}
	return addOutboxN(tx, -int64(total))
}

// writeChecks writes the checks' hits to the outbox and their audit
// records, chained, inside tx; the audit head and the outbox count move
// once, after the last. It is the group commit of a journal without its
// log (see wal.go), which assigns outbox sequences itself.
func (r *Replica) writeChecks(tx *bolt.Tx, group []*checkCommit) error {
	ring := r.journalRing()
	var err error
	now := r.now().UTC()
	prev := string(tx.Bucket(bucketMeta).Get(metaAudit))
	var seq uint64
	added := 0
	for _, cc := range group {
		cc.out = append(cc.out[:0], cc.hits...) // a failed group is written again check by check
		if err := nextOutboxSeqs(tx, cc.out); err != nil {
			return err
		}
		if seq, prev, err = r.putCheck(tx, ring, cc.check, cc.out, now, prev); err != nil {
			return err
		}
		added += len(cc.out)
	}
	if err := setAuditHead(tx, ring, seq, prev); err != nil {
		return err
	}
	if added == 0 {
		return nil
	}
	return addOutboxN(tx, int64(added))
}

// putCheck writes one check inside tx: its hits into the outbox under the
// sequences they carry and into the officers' keep, and its audit record
// at time at, chained after prev. It returns the record's sequence and
// chain value; the caller moves the audit head after its last check.
func (r *Replica) putCheck(tx *bolt.Tx, ring *keyring, c CheckRecord, hits []Hit, at time.Time, prev string) (uint64, string, error) {
	if err := putOutboxAt(tx, ring, hits); err != nil {
		return 0, "", err
	}
	if err := r.keepForOfficers(tx, hits); err != nil {
		return 0, "", err
	}
	rec := AuditRecord{Event: EventCheck, Ref: c.ID, Device: c.Device, Detail: fmt.Sprintf("%d items", c.Items), Time: at}
	for _, h := range hits {
		rec.Hits = append(rec.Hits, h.ID)
		rec.Alerts = append(rec.Alerts, h.AlertID)
	}
	return putAudit(tx, ring, rec, prev)
}

// CommitStats says how checks were grouped into commits since Open.
type CommitStats struct {
	Groups uint64 // transactions, each one fsync
	Checks uint64 // checks written in them
	Acks   uint64 // outbox acknowledgements written in them
}

// CommitStats returns how checks were grouped into commits since Open.
func (r *Replica) CommitStats() CommitStats {
	r.commits.mu.Lock()
	defer r.commits.mu.Unlock()
	return CommitStats{Groups: r.commits.groups, Checks: r.commits.checks, Acks: r.commits.acked}
}
