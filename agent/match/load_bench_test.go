package match

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/borderpost/borderpost/agent/match/name"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

var (
	benchAlerts = flag.Int("alerts", 100000, "alerts in the replica of the Load benchmarks")
	benchNames  = flag.Float64("names", 0.02, "share of persons and companies in it")
	benchTerms  = flag.Bool("terms", true, "the replica keeps the term index (WithTerms), as the agent's do")
)

// benchReplica writes a replica of n alerts, a share of them persons and
// companies (name.Generate), the rest plates, and returns it with plates
// and names it holds.
func benchReplica(b *testing.B, n int, names float64) (*store.Replica, []devices.Item, []devices.Item) {
	b.Helper()
	dir := b.TempDir()
	keyPath := filepath.Join(dir, "data.key")
	if err := store.WriteKeyFile(keyPath); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	o := store.Options{}
	if *benchTerms {
		o = WithTerms(o)
	}
	rep, err := store.Open(ctx, filepath.Join(dir, "replica.db"), store.KeyFile{Path: keyPath}, o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rep.Close() })
	snap, err := rep.BeginSnapshot(1, 1, [32]byte{1})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var plates, people []devices.Item
	batch := make([]store.Alert, 0, 10000)
	flush := func() {
		if err := snap.Add(ctx, batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	nNames := int(float64(n) * names)
	for i, e := range name.Generate(rng, nNames) {
		a := store.Alert{ID: fmt.Sprintf("N%08d", i), Version: 1, Action: "discreet check",
			Subject: store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: e.Names[0], Aliases: e.Names[1:],
				BirthDate: e.BirthDate, Nationalities: e.Nationalities, Sex: e.Sex}}}
		if e.Kind == name.KindCompany {
			a.Subject = store.Subject{Kind: store.SubjectCompany, Company: &store.Company{Name: e.Names[0], Aliases: e.Names[1:]}}
		} else if len(people) < 4096 {
			people = append(people, devices.Item{Kind: devices.KindPerson, Value: e.Names[0], BirthDate: e.BirthDate})
		}
		if batch = append(batch, a); len(batch) == cap(batch) {
			flush()
		}
	}
	for i := nNames; i < n; i++ {
		p := fmt.Sprintf("B%c%c%06d", 'A'+rng.IntN(26), 'A'+rng.IntN(26), i)
		a := store.Alert{ID: fmt.Sprintf("V%08d", i), Version: 1, Action: "seize",
			Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: p, PlateCountry: "DE"}}}
		if len(plates) < 4096 {
			plates = append(plates, devices.Item{Kind: devices.KindPlate, Country: "DE", Raw: p, Value: p})
		}
		if batch = append(batch, a); len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
	if err := snap.Commit(ctx, snap.Digest()); err != nil {
		b.Fatal(err)
	}
	return rep, plates, people
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// BenchmarkLoad starts matching from a replica on disk (-alerts, -names)
// and reports the index's heap; then the lookups of plates held and not
// held, and of persons held; then the latency of plate lookups while a
// 200,000-alert delta is applied.
// go test -run X -bench Load ./agent/match -args -alerts 1000000 -names 0.02 -terms=true
func BenchmarkLoad(b *testing.B) {
	rep, plates, people := benchReplica(b, *benchAlerts, *benchNames)
	var ix *Index
	b.Run("start", func(b *testing.B) {
		for b.Loop() {
			ix = nil
			before := heapInUse()
			start := time.Now()
			var err error
			if ix, err = Load(context.Background(), rep, Options{}); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(start).Seconds(), "s/load")
			b.ReportMetric(float64(heapInUse()-before)/(1<<20), "heap-MiB")
		}
	})
	now := time.Now()
	for _, c := range []struct {
		name string
		hits int
		item func(devices.Item) devices.Item
	}{
		{"plate-held", 1, func(it devices.Item) devices.Item { return it }},
		{"plate-not-held", 0, func(it devices.Item) devices.Item { it.Value += "X"; return it }},
	} {
		b.Run(c.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				got, err := ix.Lookup(c.item(plates[i%len(plates)]), now)
				if err != nil || len(got) != c.hits {
					b.Fatalf("%d hits, %v; want %d", len(got), err, c.hits)
				}
				i++
			}
		})
	}
	b.Run("person-held", func(b *testing.B) {
		i, found := 0, 0
		for b.Loop() {
			got, err := ix.Lookup(people[i%len(people)], now)
			if err != nil {
				b.Fatal(err)
			}
			if len(got) > 0 {
				found++
			}
			i++
		}
		b.ReportMetric(float64(found)/float64(i), "found/op")
	})
	// Checks while a delta of 200,000 new plates is applied, to the
	// replica (one transaction) and then to the index: the latency of the
	// lookups that run meanwhile. Run once; it changes the replica.
	b.Run("plate-during-200k-delta", func(b *testing.B) {
		duringDelta(b, rep, ix, "D", func(i int) error {
			_, err := ix.Lookup(plates[i%len(plates)], now)
			return err
		})
	})
	// The same with what a check does after its lookup: its audit record
	// (store.Replica.Record, a write transaction), which waits for the
	// delta's transaction to commit: bbolt has one writer.
	b.Run("check-during-200k-delta", func(b *testing.B) {
		ctx := context.Background()
		duringDelta(b, rep, ix, "E", func(i int) error {
			if _, err := ix.Lookup(plates[i%len(plates)], now); err != nil {
				return err
			}
			_, err := rep.Record(ctx, store.CheckRecord{ID: fmt.Sprintf("C%d", i), Device: "bench", Items: 1}, nil)
			return err
		})
	})
}

// duringDelta applies a delta of 200,000 new plates (IDs and plates
// under prefix) to rep and then ix while check runs in a loop, and
// reports the delta's time and the checks' p99 and maximum latency.
func duringDelta(b *testing.B, rep *store.Replica, ix *Index, prefix string, check func(i int) error) {
	cur, err := rep.Cursor()
	if err != nil {
		b.Fatal(err)
	}
	ch := store.Change{Epoch: cur.Epoch, Seq: cur.Seq + 1, PrevHash: cur.Hash, Hash: [32]byte{byte(cur.Seq + 2)}, Digest: cur.Digest}
	for i := range 200000 {
		a := store.Alert{ID: fmt.Sprintf("%s%08d", prefix, i), Version: 1, Action: "seize",
			Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: fmt.Sprintf("%s%s%07d", prefix, prefix, i), PlateCountry: "DE"}}}
		ch.Upserts = append(ch.Upserts, a)
		ch.Digest.Add(a.ID, a.Version)
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		err := rep.Apply(context.Background(), ch)
		if err == nil {
			ix.Apply(ch)
		}
		done <- err
	}()
	var lat []time.Duration
	for i := 0; ; i++ {
		select {
		case err := <-done:
			if err != nil {
				b.Fatal(err)
			}
			took := time.Since(start)
			slices.Sort(lat)
			b.ReportMetric(took.Seconds(), "s/delta")
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat)), "checks")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
				b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
			}
			return
		default:
		}
		t := time.Now()
		if err := check(i); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t))
	}
}
