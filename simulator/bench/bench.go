// Package bench measures the post's matching side the way the agent runs
// it (issues 3 and 16): a generated list streamed into an encrypted
// replica on disk through the store's bulk path, the matching side
// started from that file by match.Load as the agent starts it, and checks
// with planted true matches and realistic noise looked up through the
// match.Index while the replica stays open. It reports import and cold
// start times, heap and RSS, latency per kind of check at p50 and p99, and
// recall per kind of planted check. See README.md for the fields.
//
// It never starts the agent itself and never touches the network.
package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/borderpost/borderpost/agent/match"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/store"
)

// Config describes a run.
type Config struct {
	Alerts int // list size
	// Queries is the number of checks per identifier kind; each name kind
	// gets Queries/2 planted names, the names on no alert are at most
	// Queries, declarations Queries/10.
	Queries int
	Seed    uint64 // same seed, same list and checks
	Mix     string // a key of Mixes; "" is "default"
	// Replica is the replica file to reuse, or to build and keep when it
	// does not exist (its development key file is Replica+".key"). Empty:
	// a temporary replica in Dir, removed at the end.
	Replica string
	Dir     string // where a temporary replica goes; "" is the system's temporary directory
	Out     io.Writer
	// SmallDelta and LargeDelta are the operations of the deltas applied
	// after the checks (the large one while checks run); 0 is 10,000 and
	// 200,000, a negative value skips it. They change the replica.
	SmallDelta, LargeDelta int
	// Tail adds to the report, per kind of check, where its slowest
	// checks went (Report.Tails): the checks run on one locked thread,
	// whose usage is read around each (outside the time measured).
	Tail bool
	// CPUProfile, when set, receives a CPU profile (runtime/pprof) of the
	// checks of kind ProfileKind ("name", "ens", "plate", ...; every
	// kind's when empty), and of nothing else: not the import, the cold
	// start or the deltas.
	CPUProfile  io.Writer
	ProfileKind string
}

// Latency is the distribution of one kind of check.
type Latency struct {
	N     int     `json:"n"`
	P50us float64 `json:"p50_us"`
	P99us float64 `json:"p99_us"`
}

// Report is the outcome of a run, in the form issue 16 specifies; its
// fields are defined in README.md.
type Report struct {
	Alerts           int     `json:"alerts"`
	Mix              string  `json:"mix"`
	Seed             uint64  `json:"seed"`
	Gomaxprocs       int     `json:"gomaxprocs"`
	ReplicaReused    bool    `json:"replica_reused"`
	GenerateSeconds  float64 `json:"generate_seconds"`
	ImportSeconds    float64 `json:"import_seconds"`
	ColdStartSeconds float64 `json:"cold_start_seconds"`
	// WarmSeconds is when, from the same start, the replica's pages were
	// all in memory (store.Options.Warm: the agent serves meanwhile); the
	// checks are measured after it.
	WarmSeconds  float64            `json:"warm_seconds"`
	HeapBytes    uint64             `json:"heap_bytes"`
	RSSBytes     uint64             `json:"rss_bytes"`
	ReplicaBytes int64              `json:"replica_bytes"`
	Checks       map[string]Latency `json:"checks"`
	Recall       float64            `json:"recall"`
	RecallByKind map[string]float64 `json:"recall_by_kind"`
	// RecallInHits counts a planted alert found only when it is among the
	// hits read, not among a name's namesakes by reference
	// (match.Candidate.Namesakes), which Recall counts: the officer is
	// shown those too, on opening the hit.
	RecallInHits       float64            `json:"recall_in_hits"`
	RecallInHitsByKind map[string]float64 `json:"recall_in_hits_by_kind"`
	PlantedByKind      map[string]int     `json:"planted_by_kind"`
	FalseHitRate       float64            `json:"false_hit_rate"`
	NoiseNames         int                `json:"noise_names"`
	NoiseDropped       int                `json:"noise_dropped"`

	// ImportIndexFilesSeconds is the part of ImportSeconds spent writing
	// the match index's files for the first start, as the import does.
	ImportIndexFilesSeconds float64 `json:"import_index_files_seconds"`

	// The deltas after the checks (delta.go): the small one's time, and
	// the large one's with the checks (lookup and audit record) that ran
	// while it was applied.
	DeltaSmallOps          int     `json:"delta_10k_ops,omitempty"`
	DeltaSmallSeconds      float64 `json:"delta_10k_seconds,omitempty"`
	DeltaLargeOps          int     `json:"delta_200k_ops,omitempty"`
	DeltaLargeSeconds      float64 `json:"delta_200k_seconds,omitempty"`
	ChecksWithRecord       Latency `json:"checks_with_record"`
	ChecksDuringDelta      Latency `json:"checks_during_delta"`
	ChecksDuringDeltaMaxUs float64 `json:"checks_during_delta_max_us,omitempty"`
	// The same checks split: the lookup, and the audit record (the
	// journal's group commit, two fdatasyncs) that the answer waits for,
	// each with its own distribution; where the tail goes when the disk is
	// shared with the delta's writes.
	ChecksDuringDeltaLookup Latency `json:"checks_during_delta_lookup"`
	ChecksDuringDeltaRecord Latency `json:"checks_during_delta_record"`
	// What the large delta (replica and match index) made the collector
	// do: cycles ended while it was applied, and bytes allocated meanwhile
	// (the checks' share included).
	DeltaLargeGCCycles   uint64 `json:"delta_200k_gc_cycles,omitempty"`
	DeltaLargeAllocBytes uint64 `json:"delta_200k_alloc_bytes,omitempty"`

	// Tails, with Config.Tail, says per kind of check where the slowest
	// checks went.
	Tails map[string]Tail `json:"tails,omitempty"`
}

// plant is a planted match: the alert the item at pos must find.
type plant struct {
	pos int
	id  string
}

// query is one check, the matches planted in it, and the label recall is
// counted under ("" for noise).
type query struct {
	items  []devices.Item
	plants []plant
	label  string
	noise  bool // a name on no alert: any hit is a false hit
}

// identKinds are the identifier checks, with the item a device sends for
// an alert of that kind and a mix that generates only that kind.
var identKinds = []struct {
	kind string
	item func(store.Alert) (devices.Item, bool)
	only watchlist.Mix
}{
	{"plate", plateItem, watchlist.Mix{Vehicle: 1}},
	{"container", containerItem, watchlist.Mix{Container: 1}},
	{"document", documentItem, watchlist.Mix{Document: 1}},
	{"firearm", firearmItem, watchlist.Mix{Firearm: 1}},
}

// Run builds (or reuses) the replica, starts the matching side from it and
// runs the checks.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Queries <= 0 {
		cfg.Queries = 2000
	}
	if cfg.Alerts <= 0 {
		return Report{}, fmt.Errorf("bench: --alerts must be positive, not %d", cfg.Alerts)
	}
	m, err := LookupMix(cfg.Mix)
	if err != nil {
		return Report{}, err
	}
	say := func(format string, a ...any) {
		if cfg.Out != nil {
			fmt.Fprintf(cfg.Out, format+"\n", a...)
		}
	}
	path := cfg.Replica
	if path == "" {
		dir, err := os.MkdirTemp(cfg.Dir, "borderpost-bench-")
		if err != nil {
			return Report{}, fmt.Errorf("bench: temporary replica directory: %w", err)
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "replica.db")
	}
	b, reused, err := ensureReplica(ctx, path, m, cfg, say)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Alerts: cfg.Alerts, Mix: m.Name, Seed: cfg.Seed, Gomaxprocs: runtime.GOMAXPROCS(0), ReplicaReused: reused,
		GenerateSeconds: b.GenerateSeconds, ImportSeconds: b.ImportSeconds, ImportIndexFilesSeconds: b.IndexFilesSeconds,
		Checks: map[string]Latency{}, RecallByKind: map[string]float64{}, RecallInHitsByKind: map[string]float64{}, PlantedByKind: map[string]int{}}
	if st, err := os.Stat(path); err == nil {
		rep.ReplicaBytes = st.Size()
	}
	if !reused {
		say("imported %d alerts (mix %s) in %.1fs (generation %.1fs more), replica %.0f MiB", cfg.Alerts, m.Name, b.ImportSeconds, b.GenerateSeconds, float64(rep.ReplicaBytes)/(1<<20))
	}

	rng := rand.New(rand.NewPCG(cfg.Seed+3, 0x5bd1e995))
	s := drawSample(m, cfg.Seed, cfg.Alerts, cfg.Queries, rng)

	// Cold start: what the agent does from opening its replica to
	// serving, measured with the run's own small state already in place.
	runtime.GC()
	debug.FreeOSMemory()
	base := heapInuse()
	t0 := time.Now()
	r, err := store.Open(ctx, path, store.KeyFile{Path: keyPath(path)}, match.WithTerms(store.Options{Logger: quiet(), Compact: true, Warm: true}))
	if err != nil {
		return rep, fmt.Errorf("bench: open replica: %w", err)
	}
	defer r.Close()
	ix, err := match.Load(ctx, r, match.Options{})
	if err != nil {
		return rep, fmt.Errorf("bench: load match index: %w", err)
	}
	rep.ColdStartSeconds = time.Since(t0).Seconds()
	// The replica warms in the background as the agent's does; the
	// checks below are measured once it is warm.
	warmed := make(chan float64, 1)
	go func() { <-r.Warmed(); warmed <- time.Since(t0).Seconds() }()
	if h := heapInuse(); h > base {
		rep.HeapBytes = h - base
	}
	rep.RSSBytes = vmRSS()
	say("cold start %.2fs: heap %.0f MiB, RSS %.0f MiB", rep.ColdStartSeconds, float64(rep.HeapBytes)/(1<<20), float64(rep.RSSBytes)/(1<<20))

	// Names on no alert: candidates checked against every name the
	// replica holds (after the measurements, which this scan would blur).
	nz := newNoise(cfg.Seed, 2*cfg.Queries+10) // a name-heavy list carries a third of them or more
	if err := r.Alerts(ctx, func(a store.Alert) error { nz.drop(&a); return nil }); err != nil {
		return rep, fmt.Errorf("bench: read the list's names: %w", err)
	}
	kept := nz.kept()
	rep.NoiseDropped = len(nz.items) - len(kept)
	if len(kept) > cfg.Queries {
		kept = kept[:cfg.Queries]
	}

	rep.WarmSeconds = <-warmed
	say("replica warm %.2fs after the start began", rep.WarmSeconds)

	// The scan's garbage is collected now rather than during the checks.
	runtime.GC()
	now := time.Now()
	var planted, found, inHits, noiseChecks, falseHits int
	foundBy, inHitsBy := map[string]int{}, map[string]int{}
	if cfg.Tail {
		rep.Tails = map[string]Tail{}
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	if cfg.CPUProfile != nil && cfg.ProfileKind == "" {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return rep, fmt.Errorf("bench: start the CPU profile of the checks: %w", err)
		}
	}
	var ran []string // the kinds of check run
	for _, k := range checkKinds(m, cfg, s, kept, rng) {
		lat := make([]time.Duration, len(k.queries))
		var costs []checkCost
		var heap0 heapCounters
		if cfg.Tail {
			costs = make([]checkCost, len(k.queries))
			heap0 = readHeapCounters()
		}
		ran = append(ran, k.kind)
		profiled := cfg.CPUProfile != nil && cfg.ProfileKind == k.kind
		if profiled {
			if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
				return rep, fmt.Errorf("bench: start the CPU profile of the %s checks: %w", k.kind, err)
			}
		}
		for i, q := range k.queries {
			var use0 threadUsage
			if cfg.Tail {
				use0 = usageOfThread()
			}
			t := time.Now()
			got, err := ix.MatchAll(q.items, now)
			if err != nil {
				return rep, fmt.Errorf("bench: check %d of %s: %w", i, k.kind, err)
			}
			lat[i] = time.Since(t)
			if cfg.Tail {
				costs[i] = checkCost{wall: lat[i], use: usageOfThread().minus(use0)}
			}
			if q.noise {
				noiseChecks++
				if len(got[0]) > 0 {
					falseHits++
				}
				continue
			}
			if len(q.plants) == 0 {
				continue
			}
			planted++
			rep.PlantedByKind[q.label]++
			if allFound(got, q.plants, true) {
				found++
				foundBy[q.label]++
			}
			if allFound(got, q.plants, false) {
				inHits++
				inHitsBy[q.label]++
			}
		}
		if profiled {
			pprof.StopCPUProfile()
		}
		if len(lat) == 0 {
			continue
		}
		if cfg.Tail {
			rep.Tails[k.kind] = tailOf(costs, heap0, readHeapCounters())
		}
		slices.Sort(lat)
		n := len(lat)
		rep.Checks[k.kind] = Latency{N: n, P50us: us(lat[n/2]), P99us: us(lat[n*99/100])}
		say("%-9s n=%5d p50 %7.1f µs p99 %7.1f µs", k.kind, n, us(lat[n/2]), us(lat[n*99/100]))
	}
	if cfg.CPUProfile != nil && cfg.ProfileKind == "" {
		pprof.StopCPUProfile()
	}
	if cfg.CPUProfile != nil && cfg.ProfileKind != "" && !slices.Contains(ran, cfg.ProfileKind) {
		return rep, fmt.Errorf("bench: no %q checks to profile: this list's kinds are %s", cfg.ProfileKind, strings.Join(ran, ", "))
	}
	for l, n := range rep.PlantedByKind {
		rep.RecallByKind[l] = float64(foundBy[l]) / float64(n)
		rep.RecallInHitsByKind[l] = float64(inHitsBy[l]) / float64(n)
	}
	if planted > 0 {
		rep.Recall = float64(found) / float64(planted)
		rep.RecallInHits = float64(inHits) / float64(planted)
	}
	rep.NoiseNames = noiseChecks
	if noiseChecks > 0 {
		rep.FalseHitRate = float64(falseHits) / float64(noiseChecks)
	}
	say("recall %.4f over %d planted checks (%.4f in the hits read, namesakes by reference left out); false hits on %d names on no alert: %.4f", rep.Recall, planted, rep.RecallInHits, noiseChecks, rep.FalseHitRate)
	if err := measureDeltas(ctx, cfg, r, ix, s, &rep, say); err != nil {
		return rep, err
	}
	return rep, nil
}

// allFound reports whether every planted alert is among its item's
// candidates, or, with namesakes, among their namesakes by reference.
func allFound(got [][]match.Candidate, plants []plant, namesakes bool) bool {
	for _, p := range plants {
		ok := false
		for _, c := range got[p.pos] {
			if c.Alert.ID == p.id || namesakes && slices.Contains(c.Namesakes, p.id) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// checkKind is one kind of check and its queries.
type checkKind struct {
	kind    string
	queries []query
}

// checkKinds makes the checks of a run: per identifier kind the list
// has, half planted on a sampled alert and half identifiers of fresh
// alerts; per name kind, Queries/2 planted names, and the names on no
// alert; declarations of ten parties, four containers and a vessel, half
// with one party (one edit) and one container planted.
func checkKinds(m Mix, cfg Config, s sample, noiseNames []nameItem, rng *rand.Rand) []checkKind {
	var out []checkKind
	for j, ik := range identKinds {
		list := s.idents[ik.kind]
		if len(list) == 0 {
			continue
		}
		fresh := watchlist.NewGenerator(cfg.Seed+11+uint64(j), ik.only)
		k := checkKind{kind: ik.kind}
		for i := range cfg.Queries {
			if i%2 == 0 {
				a := list[rng.IntN(len(list))]
				if it, ok := ik.item(a); ok {
					k.queries = append(k.queries, query{items: []devices.Item{it}, plants: []plant{{0, a.ID}}, label: ik.kind})
					continue
				}
			}
			for {
				if it, ok := ik.item(fresh.Alert()); ok {
					k.queries = append(k.queries, query{items: []devices.Item{it}})
					break
				}
			}
		}
		out = append(out, k)
	}
	if len(s.names) > 0 {
		k := checkKind{kind: "name"}
		for _, nk := range NameKinds {
			for range max(cfg.Queries/2, 1) {
				it, id, ok := plantNameOn(rng, s.names, nk)
				if !ok {
					break
				}
				k.queries = append(k.queries, query{items: []devices.Item{it.item()}, plants: []plant{{0, id}}, label: "name_" + string(nk)})
			}
		}
		for _, n := range noiseNames {
			k.queries = append(k.queries, query{items: []devices.Item{n.item()}, noise: true})
		}
		// Interleave kinds, so that no kind meets a warmer cache than
		// another.
		rng.Shuffle(len(k.queries), func(i, j int) { k.queries[i], k.queries[j] = k.queries[j], k.queries[i] })
		out = append(out, k)
	}
	if boxes := s.idents["container"]; len(s.names) > 0 && len(boxes) > 0 && len(noiseNames) > 0 {
		fresh := watchlist.NewGenerator(cfg.Seed+21, watchlist.Mix{Container: 1})
		k := checkKind{kind: "ens"}
		for i := range max(cfg.Queries/10, 10) {
			var q query
			plantIt := i%2 == 0
			for p := range 10 {
				if plantIt && p == 3 {
					if it, id, ok := plantNameOn(rng, s.names, OneEdit); ok {
						q.items = append(q.items, it.item())
						q.plants = append(q.plants, plant{len(q.items) - 1, id})
						continue
					}
				}
				q.items = append(q.items, noiseNames[rng.IntN(len(noiseNames))].item())
			}
			for c := range 4 {
				if plantIt && c == 0 {
					a := boxes[rng.IntN(len(boxes))]
					if it, ok := containerItem(a); ok {
						q.items = append(q.items, it)
						q.plants = append(q.plants, plant{len(q.items) - 1, a.ID})
						continue
					}
				}
				it, _ := containerItem(fresh.Alert())
				q.items = append(q.items, it)
			}
			q.items = append(q.items, devices.Item{Kind: devices.KindIMO, Value: "9074729"})
			if len(q.plants) > 0 {
				q.label = "ens"
			}
			k.queries = append(k.queries, q)
		}
		out = append(out, k)
	}
	return out
}

// sample is a set of the list's alerts to plant checks on, regenerated
// from the seed: the list itself is never held.
type sample struct {
	names  []store.Alert
	idents map[string][]store.Alert // by identifier check kind
}

// drawSample regenerates blocks of the list in random order until it has
// want alerts of every kind the mix has (or the list is exhausted).
func drawSample(m Mix, seed uint64, n, want int, rng *rand.Rand) sample {
	s := sample{idents: map[string][]store.Alert{}}
	need := func() bool {
		if m.NameShare > 0 && len(s.names) < want {
			return true
		}
		o := m.Objects
		for kind, share := range map[string]float64{"plate": o.Vehicle, "container": o.Container, "document": o.Document, "firearm": o.Firearm} {
			if share > 0 && len(s.idents[kind]) < want {
				return true
			}
		}
		return false
	}
	for _, b := range rng.Perm(blocks(n)) {
		if !need() {
			break
		}
		for _, a := range m.block(seed, b, n) {
			switch a.Subject.Kind {
			case store.SubjectPerson, store.SubjectCompany:
				if len(s.names) < want {
					s.names = append(s.names, a)
				}
			default:
				for _, ik := range identKinds {
					if _, ok := ik.item(a); ok && len(s.idents[ik.kind]) < want {
						s.idents[ik.kind] = append(s.idents[ik.kind], a)
					}
				}
			}
		}
	}
	return s
}

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// vmRSS returns the process's resident set from /proc/self/status, 0
// where there is none.
func vmRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

func plateItem(a store.Alert) (devices.Item, bool) {
	if a.Subject.Kind != store.SubjectVehicle || a.Subject.Vehicle.Plate == "" {
		return devices.Item{}, false
	}
	raw := strings.ToLower(a.Subject.Vehicle.Plate)
	iso, p, err := ident.NormalizePlate(a.Subject.Vehicle.PlateCountry, raw)
	return devices.Item{Kind: devices.KindPlate, Raw: raw, Value: p, Country: iso}, err == nil
}

func containerItem(a store.Alert) (devices.Item, bool) {
	if a.Subject.Kind != store.SubjectContainer {
		return devices.Item{}, false
	}
	v, err := ident.ParseContainer(a.Subject.Container.Number)
	return devices.Item{Kind: devices.KindContainer, Raw: a.Subject.Container.Number, Value: v}, err == nil
}

func documentItem(a store.Alert) (devices.Item, bool) {
	if a.Subject.Kind != store.SubjectDocument {
		return devices.Item{}, false
	}
	v, err := ident.NormalizeSimple(a.Subject.Document.Number)
	return devices.Item{Kind: devices.KindDocument, Raw: a.Subject.Document.Number, Value: v, Country: a.Subject.Document.Country}, err == nil
}

func firearmItem(a store.Alert) (devices.Item, bool) {
	if a.Subject.Kind != store.SubjectFirearm {
		return devices.Item{}, false
	}
	v, err := ident.NormalizeSimple(a.Subject.Firearm.Serial)
	return devices.Item{Kind: devices.KindFirearm, Raw: a.Subject.Firearm.Serial, Value: v}, err == nil
}
