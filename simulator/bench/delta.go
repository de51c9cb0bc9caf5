package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/borderpost/borderpost/agent/match"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// Delta sizes measured after the checks (issue 16: a 10,000-operation
// delta applied, and checks while a 200,000-operation delta is applied).
const (
	defaultSmallDelta = 10000
	defaultLargeDelta = 200000
)

// deltaLanes is the number of devices checking while the large delta is
// applied: each check is a plate lookup and its audit record
// (store.Replica.Record), as the agent answers a device.
const deltaLanes = 4

// measureDeltas applies a small delta, then a large one while lanes of
// checks run, the way the agent does: the replica (store.Replica.Apply),
// then the match index (Index.Apply). They change the replica: new plates
// under IDs named after the change's sequence, and sampled documents
// re-issued at their next version.
func measureDeltas(ctx context.Context, cfg Config, r *store.Replica, ix *match.Index, s sample, rep *Report, say func(string, ...any)) error {
	small, large := cfg.SmallDelta, cfg.LargeDelta
	if small == 0 {
		small = defaultSmallDelta
	}
	if large == 0 {
		large = defaultLargeDelta
	}
	if small > 0 {
		ch, err := nextChange(r, s, small)
		if err != nil {
			return err
		}
		t := time.Now()
		if err := r.Apply(ctx, ch); err != nil {
			return fmt.Errorf("bench: apply a delta of %d operations: %w", small, err)
		}
		ix.Apply(ch)
		rep.DeltaSmallOps, rep.DeltaSmallSeconds = small, time.Since(t).Seconds()
		say("delta of %d operations applied in %.2fs", small, rep.DeltaSmallSeconds)
	}
	if large > 0 {
		if err := largeDelta(ctx, r, ix, s, large, rep, say); err != nil {
			return err
		}
	}
	if cfg.Replica != "" && (small > 0 || large > 0) {
		// The deltas made the term table and the name index beside a kept
		// replica stale: write them from memory as the agent does once
		// deltas stop (Index.Persist), so that a later run reusing the
		// replica measures the start a post makes, not a walk of the term
		// index and a read of every person and company.
		if _, err := ix.Persist(ctx); err != nil {
			return fmt.Errorf("bench: write the term table and the name index after the deltas: %w", err)
		}
	}
	return nil
}

// largeDelta applies a delta of n operations while deltaLanes devices
// check plates, each check a lookup and its audit record, and reports the
// delta's time and the checks' latency.
func largeDelta(ctx context.Context, r *store.Replica, ix *match.Index, s sample, large int, rep *Report, say func(string, ...any)) error {
	var items []devices.Item
	for _, a := range s.idents["plate"] {
		if it, ok := plateItem(a); ok {
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		return fmt.Errorf("bench: the list has no plates to check during the delta")
	}
	// The same checks with no delta first: what a check with its audit
	// record costs on this disk, the reference for the figure below.
	base, err := checkLanes(ctx, r, ix, items, fmt.Sprintf("base-%d", time.Now().UnixNano()), 250, nil)
	if err != nil {
		return err
	}
	rep.ChecksWithRecord = latency(base.total)
	ch, err := nextChange(r, sample{}, large)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	var lat laneTimes
	var checkErr error
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		lat, checkErr = checkLanes(ctx, r, ix, items, fmt.Sprint(ch.Seq), 0, done)
	}()
	heap0 := readHeapCounters()
	t := time.Now()
	err = r.Apply(ctx, ch)
	if err == nil {
		ix.Apply(ch)
	}
	took := time.Since(t)
	heap1 := readHeapCounters()
	close(done)
	<-checked
	if err != nil {
		return fmt.Errorf("bench: apply a delta of %d operations: %w", large, err)
	}
	if checkErr != nil {
		return fmt.Errorf("bench: check during the delta: %w", checkErr)
	}
	rep.DeltaLargeOps, rep.DeltaLargeSeconds = large, took.Seconds()
	rep.ChecksDuringDelta = latency(lat.total)
	if n := len(lat.total); n > 0 {
		rep.ChecksDuringDeltaMaxUs = us(lat.total[n-1])
	}
	rep.ChecksDuringDeltaLookup, rep.ChecksDuringDeltaRecord = latency(lat.lookup), latency(lat.record)
	rep.DeltaLargeGCCycles, rep.DeltaLargeAllocBytes = heap1.cycles-heap0.cycles, heap1.bytes-heap0.bytes
	b, c := rep.ChecksWithRecord, rep.ChecksDuringDelta
	say("checks with their audit record, no delta: n=%d p50 %.1f µs p99 %.1f µs", b.N, b.P50us, b.P99us)
	say("delta of %d operations applied in %.2fs; %d checks meanwhile (lookup and audit record): p50 %.1f µs p99 %.1f µs max %.0f µs",
		large, took.Seconds(), c.N, c.P50us, c.P99us, rep.ChecksDuringDeltaMaxUs)
	lk, rc := rep.ChecksDuringDeltaLookup, rep.ChecksDuringDeltaRecord
	say("  of which the lookup: p50 %.1f µs p99 %.1f µs; the audit record: p50 %.1f µs p99 %.1f µs; %d collections, %.1f GB allocated during the delta",
		lk.P50us, lk.P99us, rc.P50us, rc.P99us, rep.DeltaLargeGCCycles, float64(rep.DeltaLargeAllocBytes)/1e9)
	return nil
}

// latency sorts lat and returns its distribution.
func latency(lat []time.Duration) Latency {
	n := len(lat)
	if n == 0 {
		return Latency{}
	}
	slices.Sort(lat)
	return Latency{N: n, P50us: us(lat[n/2]), P99us: us(lat[n*99/100])}
}

// laneTimes are the checks' latencies, whole and split into the lookup
// and the audit record, in no particular order.
type laneTimes struct{ total, lookup, record []time.Duration }

// checkLanes runs deltaLanes devices checking plates, each check a
// lookup and its audit record, perLane checks each, or (perLane 0) until
// done is closed, and returns the checks' latencies.
func checkLanes(ctx context.Context, r *store.Replica, ix *match.Index, items []devices.Item, tag string, perLane int, done <-chan struct{}) (laneTimes, error) {
	var mu sync.Mutex
	var lat laneTimes
	var checkErr error
	var wg sync.WaitGroup
	now := time.Now()
	for lane := range deltaLanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine laneTimes
			defer func() {
				mu.Lock()
				lat.total, lat.lookup, lat.record = append(lat.total, mine.total...), append(lat.lookup, mine.lookup...), append(lat.record, mine.record...)
				mu.Unlock()
			}()
			fail := func(err error) { mu.Lock(); checkErr = err; mu.Unlock() }
			for i := 0; perLane <= 0 || i < perLane; i++ {
				select {
				case <-done:
					return
				default:
				}
				t := time.Now()
				if _, err := ix.MatchAll(items[(i*deltaLanes+lane)%len(items):][:1], now); err != nil {
					fail(err)
					return
				}
				looked := time.Now()
				id := fmt.Sprintf("bench-%s-%d-%d", tag, lane, i)
				if _, err := r.Record(ctx, store.CheckRecord{ID: id, Device: fmt.Sprintf("bench-lane-%d", lane), Items: 1}, nil); err != nil {
					fail(err)
					return
				}
				end := time.Now()
				mine.total = append(mine.total, end.Sub(t))
				mine.lookup = append(mine.lookup, looked.Sub(t))
				mine.record = append(mine.record, end.Sub(looked))
			}
		}()
	}
	wg.Wait()
	return lat, checkErr
}

// nextChange makes the change after the replica's cursor with n
// operations: re-issues of the sample's documents still held, at their
// next version (at most a third of n), and new plates for the rest. Its
// digest is the one the replica must reach.
func nextChange(r *store.Replica, s sample, n int) (store.Change, error) {
	cur, err := r.Cursor()
	if err != nil {
		return store.Change{}, fmt.Errorf("bench: read the replica's cursor: %w", err)
	}
	seq := cur.Seq + 1
	ch := store.Change{Epoch: cur.Epoch, Seq: seq, PrevHash: cur.Hash, Digest: cur.Digest}
	if cur.Epoch == 0 && cur.Seq == 0 {
		// A replica no change has reached: its first change starts the
		// chain at 1/1.
		ch.Epoch, ch.PrevHash = 1, [32]byte{}
	}
	copy(ch.Hash[:], fmt.Sprintf("bench delta %d", seq))
	var ids []string
	for _, a := range s.idents["document"] {
		if len(ids) < n/3 {
			ids = append(ids, a.ID)
		}
	}
	held, err := r.AlertsByID(slices.Compact(slices.Sorted(slices.Values(ids))))
	if err != nil {
		return ch, fmt.Errorf("bench: read the alerts to re-issue: %w", err)
	}
	for _, a := range held {
		if a.ID == "" {
			continue // expired or no longer held
		}
		ch.Digest.Remove(a.ID, a.Version)
		a.Version++
		ch.Digest.Add(a.ID, a.Version)
		ch.Upserts = append(ch.Upserts, a)
	}
	for i := 0; len(ch.Upserts) < n; i++ {
		a := store.Alert{ID: fmt.Sprintf("BENCH-D%d-%08d", seq, i), Version: 1, Source: "bench", Action: "seize",
			Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: fmt.Sprintf("BD%dX%07d", seq, i), PlateCountry: "DE"}}}
		ch.Upserts = append(ch.Upserts, a)
		ch.Digest.Add(a.ID, a.Version)
	}
	return ch, nil
}
