// Package load measures sync under fleet-scale and sustained load: many
// agents on one broker taking a large delta, and a large offline backlog of
// hits draining after reconnect. Agents here are the store and sync parts
// of an agent in one process (the HTTP devices are not what is measured).
//
// It only ever talks to brokers on loopback, and it cleans up the
// temporary replicas it creates.
package load

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/borderpost/borderpost/simulator/central"
	"github.com/borderpost/borderpost/simulator/rig"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
)

// memKey is a data key held in memory, for benchmark replicas.
type memKey []byte

func (k memKey) DataKey(context.Context) ([]byte, error) { return k, nil }

// Agent is the sync side of one agent: its replica and its session.
type Agent struct {
	ID      string
	Replica *store.Replica
	Session *bpsync.Session
}

// agentOptions are what startAgent sets beyond its defaults.
type agentOptions struct {
	gate          *bpsync.ApplyGate // shared by the process's agents; nil: none
	nextDeltaWait time.Duration     // bpsync.SessionConfig.NextDeltaWait; 0: its default
}

// startAgent opens a fresh replica in dir and starts a session with the
// broker, trusting pub and sealing its hits to central's hit key. It
// publishes its status every 10 s, as an agent does by default.
func startAgent(ctx context.Context, dir, id, broker string, pub ed25519.PublicKey, hitKey *bpsync.HitPublicKey, log *slog.Logger, o agentOptions) (*Agent, error) {
	key := make(memKey, store.DataKeySize)
	rand.Read(key)
	rep, err := store.Open(ctx, filepath.Join(dir, id+".db"), key, store.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	s, err := bpsync.StartSession(ctx, bpsync.SessionConfig{Link: bpsync.LinkConfig{Broker: broker, KeepAlive: 10 * time.Second},
		Agent: id, Replica: rep, Verifier: bpsync.NewVerifier(pub), HitKey: hitKey, StatusEvery: 10 * time.Second, Logger: log, Gate: o.gate, NextDeltaWait: o.nextDeltaWait})
	if err != nil {
		rep.Close()
		return nil, err
	}
	return &Agent{ID: id, Replica: rep, Session: s}, nil
}

// Close ends the session and closes the replica.
func (a *Agent) Close() {
	a.Session.Close()
	a.Replica.Close()
}

// FleetConfig describes a fleet run.
type FleetConfig struct {
	// Broker is the MQTT broker, or a comma-separated list of the nodes
	// of a broker cluster: central connects to the first, agents to each
	// in turn.
	Broker string
	Agents int
	Ops    int // operations in the measured delta
	// Hits are recorded after the delta, spread over HitAgents agents at
	// HitRate a second in all, while every agent sends its status every
	// 10 s: central's hit latency under the fleet's load. 0 skips it.
	Hits      int
	HitAgents int
	HitRate   float64
	Dir       string
	Out       io.Writer // progress lines; nil for none
	// HeapProfile, if set, receives a heap profile taken once every agent
	// holds the measured delta, when the whole fleet is in memory.
	HeapProfile io.Writer
	// Applying is how many agents may verify and apply a delta at once
	// (see sync.ApplyGate); 0 means twice the cores Go uses.
	Applying int
}

// setupChunk is the most alerts in one delta of a fleet's starting list.
const setupChunk = 2500

// FleetReport is the outcome of a fleet run.
type FleetReport struct {
	Agents      int     `json:"agents"`
	Ops         int     `json:"ops"`
	DeltaBytes  int     `json:"delta_bytes"`
	AllSeconds  float64 `json:"all_agents_seconds"` // publish to the last agent holding the digest
	P50Seconds  float64 `json:"p50_agent_seconds"`
	P99Seconds  float64 `json:"p99_agent_seconds"`
	SetupAlerts int     `json:"setup_alerts"`
	Brokers     int     `json:"brokers"` // broker nodes the agents were spread over
	// Hit latency at central (check to central storing the hit) with the
	// whole fleet connected and sending its status every 10 s.
	Hits       int     `json:"hits,omitempty"`
	HitsStored int     `json:"hits_stored,omitempty"`
	HitP50Ms   float64 `json:"hit_p50_ms,omitempty"`
	HitP99Ms   float64 `json:"hit_p99_ms,omitempty"`
	StatusSeen int     `json:"agents_status_seen,omitempty"` // agents whose status central holds
	// Resyncs and ReplayMB are central's replays during the measured
	// delta's fan-out: every one is redundant when nothing was lost.
	Resyncs  int     `json:"resyncs"`
	ReplayMB float64 `json:"replay_mb"`
	// The process's memory (the whole fleet and central in this one
	// process): live heap after a collection once every agent holds the
	// measured delta, and the resident set then and at its peak over the
	// run, split into anonymous memory (heap, stacks: what the fleet
	// really holds) and file pages (the replicas' mapped page cache,
	// which the kernel reclaims under pressure).
	HeapMB         float64 `json:"heap_mb"`
	RSSMB          float64 `json:"rss_mb"`
	AnonMB         float64 `json:"anon_mb"`
	FileMB         float64 `json:"file_mb"`
	PeakRSSMB      float64 `json:"peak_rss_mb"`
	PeakAnonMB     float64 `json:"peak_anon_mb"`
	PeakFileMB     float64 `json:"peak_file_mb"`
	AnonPerAgentMB float64 `json:"anon_per_agent_mb"`
}

// Fleet starts cfg.Agents agents, gives them a watch list of cfg.Ops
// alerts, then publishes one delta of cfg.Ops operations (half new alerts,
// a quarter updates, a quarter deletes) and measures how long each agent
// takes to hold it, verified by digest.
func Fleet(ctx context.Context, cfg FleetConfig) (FleetReport, error) {
	rep := FleetReport{Agents: cfg.Agents, Ops: cfg.Ops, SetupAlerts: cfg.Ops}
	if cfg.Applying <= 0 {
		cfg.Applying = 2 * runtime.GOMAXPROCS(0)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	say := func(format string, a ...any) {
		if cfg.Out != nil {
			fmt.Fprintf(cfg.Out, format+"\n", a...)
		}
	}
	brokers := strings.Split(cfg.Broker, ",")
	rep.Brokers = len(brokers)
	peak := &peakMemory{}
	stopSampling := peak.sample(250 * time.Millisecond)
	defer stopSampling()
	var mu sync.Mutex
	var hitLat []time.Duration
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	c, err := central.Start(central.Config{Broker: brokers[0], Signer: bpsync.NewSigner(priv), Logger: quiet,
		OnHit: func(_ string, h store.Hit) {
			d := time.Since(h.Time)
			mu.Lock()
			hitLat = append(hitLat, d)
			mu.Unlock()
		}})
	if err != nil {
		return rep, err
	}
	defer c.Close()
	if err := rig.WaitUntil(ctx, 30*time.Second, c.Connected); err != nil {
		return rep, fmt.Errorf("central: %w", err)
	}
	agents := make([]*Agent, 0, cfg.Agents)
	defer func() {
		for _, a := range agents {
			a.Close()
		}
	}()
	// The agents share the machine's cores: more of them applying a delta
	// at once would not go faster, only hold more memory.
	gate := bpsync.NewApplyGate(cfg.Applying)
	for i := range cfg.Agents {
		a, err := startAgent(ctx, cfg.Dir, fmt.Sprintf("post-%03d", i+1), brokers[i%len(brokers)], pub, c.HitPublicKey(), quiet, agentOptions{gate: gate})
		if err != nil {
			return rep, err
		}
		agents = append(agents, a)
	}
	if err := rig.WaitUntil(ctx, 120*time.Second, func() bool {
		for _, a := range agents {
			if !a.Session.Connected() {
				return false
			}
		}
		return true
	}); err != nil {
		return rep, fmt.Errorf("agents connecting: %w", err)
	}
	say("%d agents connected", len(agents))

	gen := watchlist.NewGenerator(42, watchlist.DefaultMix)
	base := gen.Alerts(cfg.Ops)
	// The starting list in deltas of setupChunk alerts, each once every
	// agent holds the one before: every agent holds each message it was
	// sent until its turn to apply it, and the setup is not what is
	// measured.
	for chunk := range slices.Chunk(base, setupChunk) {
		if _, err := c.Publish(chunk, nil); err != nil {
			return rep, err
		}
		if _, err := waitAll(ctx, agents, c.Digest(), 10*time.Minute); err != nil {
			return rep, fmt.Errorf("setup delta: %w", err)
		}
	}
	say("every agent holds the %d-alert watch list", len(base))

	ups := gen.Alerts(cfg.Ops / 2)
	for i := 0; i < cfg.Ops/4; i++ {
		a := base[i]
		a.Version++
		a.Action = "refuse entry"
		ups = append(ups, a)
	}
	var dels []string
	for i := cfg.Ops / 4; len(ups)+len(dels) < cfg.Ops; i++ {
		dels = append(dels, base[i].ID)
	}
	before := c.Stats()
	start := time.Now()
	d, err := c.Publish(ups, dels)
	if err != nil {
		return rep, err
	}
	times, err := waitAll(ctx, agents, c.Digest(), 10*time.Minute)
	if err != nil {
		return rep, fmt.Errorf("measured delta: %w", err)
	}
	rep.AllSeconds = time.Since(start).Seconds()
	after := c.Stats()
	rep.Resyncs = after.Resyncs - before.Resyncs
	rep.ReplayMB = float64(after.ReplayBytes-before.ReplayBytes) / (1 << 20)
	if b, err := json.Marshal(d); err == nil {
		rep.DeltaBytes = len(b)
	}
	slices.Sort(times)
	rep.P50Seconds = times[len(times)/2].Seconds()
	rep.P99Seconds = times[len(times)*99/100].Seconds()
	say("delta of %d operations held by all %d agents after %.2fs; central answered %d resyncs (%.0f MB replayed)", cfg.Ops, len(agents), rep.AllSeconds, rep.Resyncs, rep.ReplayMB)
	if err := measureMemory(&rep, peak, cfg.HeapProfile); err != nil {
		return rep, err
	}
	rep.AnonPerAgentMB = rep.AnonMB / float64(len(agents))
	say("memory: heap %.0f MB; resident %.0f MB (anonymous %.0f, file pages %.0f), %.1f MB anonymous per agent; peak resident %.0f MB (anonymous %.0f, file pages %.0f)",
		rep.HeapMB, rep.RSSMB, rep.AnonMB, rep.FileMB, rep.AnonPerAgentMB, rep.PeakRSSMB, rep.PeakAnonMB, rep.PeakFileMB)

	if cfg.Hits <= 0 {
		return rep, nil
	}
	rep.Hits = cfg.Hits
	hitters := agents[:min(max(cfg.HitAgents, 1), len(agents))]
	if cfg.HitRate <= 0 {
		cfg.HitRate = 100
	}
	say("%d hits at %.0f/s from %d agents, every agent sending its status every 10 s", cfg.Hits, cfg.HitRate, len(hitters))
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.HitRate))
	for i := range cfg.Hits {
		select {
		case <-ctx.Done():
			tick.Stop()
			return rep, ctx.Err()
		case <-tick.C:
		}
		a := hitters[i%len(hitters)]
		chk := fmt.Sprintf("chk-fleet-%d", i)
		h := store.Hit{ID: fmt.Sprintf("hit-fleet-%d", i), CheckID: chk, AlertID: base[i%len(base)].ID, Time: time.Now(), Field: "plate", Value: "KA123BC"}
		go func() {
			if _, err := a.Replica.Record(ctx, store.CheckRecord{ID: chk, Device: "lane-1", Items: 1}, []store.Hit{h}); err == nil {
				a.Session.Notify()
			}
		}()
	}
	tick.Stop()
	rig.WaitUntil(ctx, 60*time.Second, func() bool { return c.Stats().Stored >= cfg.Hits })
	rep.HitsStored = c.Stats().Stored
	mu.Lock()
	rep.HitP50Ms, rep.HitP99Ms = percentileMs(hitLat, 50), percentileMs(hitLat, 99)
	mu.Unlock()
	for _, a := range agents {
		if _, ok := c.AgentStatus(a.ID); ok {
			rep.StatusSeen++
		}
	}
	say("central stored %d of %d hits: p50 %.1f ms, p99 %.1f ms; status held of %d agents", rep.HitsStored, cfg.Hits, rep.HitP50Ms, rep.HitP99Ms, rep.StatusSeen)
	return rep, nil
}

// measureMemory fills in the report's memory figures and writes a heap
// profile to prof, if set.
func measureMemory(rep *FleetReport, peak *peakMemory, prof io.Writer) error {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.HeapMB = float64(ms.HeapInuse) / (1 << 20)
	now := readResident()
	peak.note(now)
	rep.RSSMB, rep.AnonMB, rep.FileMB = now.rss, now.anon, now.file
	p := peak.get()
	rep.PeakRSSMB, rep.PeakAnonMB, rep.PeakFileMB = p.rss, p.anon, p.file
	if prof != nil {
		if err := pprof.WriteHeapProfile(prof); err != nil {
			return fmt.Errorf("write the heap profile: %w", err)
		}
	}
	return nil
}

// resident is the process's resident set in MB, as Linux reports it in
// /proc/self/status: in all (VmRSS), anonymous (RssAnon), file pages
// (RssFile).
type resident struct{ rss, anon, file float64 }

// readResident reads the resident set; zeros where /proc is not there.
func readResident() resident {
	var r resident
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return r
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb float64
		switch {
		case scanKB(line, "VmRSS:", &kb):
			r.rss = kb / 1024
		case scanKB(line, "RssAnon:", &kb):
			r.anon = kb / 1024
		case scanKB(line, "RssFile:", &kb):
			r.file = kb / 1024
		}
	}
	return r
}

func scanKB(line, field string, kb *float64) bool {
	_, err := fmt.Sscanf(line, field+" %f kB", kb)
	return err == nil
}

// peakMemory keeps the highest resident figures seen, each on its own.
type peakMemory struct {
	mu  sync.Mutex
	max resident
}

func (p *peakMemory) note(r resident) {
	p.mu.Lock()
	p.max = resident{max(p.max.rss, r.rss), max(p.max.anon, r.anon), max(p.max.file, r.file)}
	p.mu.Unlock()
}

func (p *peakMemory) get() resident {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.max
}

// sample notes the resident set every interval until the returned
// function is called.
func (p *peakMemory) sample(every time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			p.note(readResident())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done) }
}

// waitAll polls every agent's cursor until each holds digest, and returns
// for each agent how long after the call it first did.
func waitAll(ctx context.Context, agents []*Agent, digest store.Digest, within time.Duration) ([]time.Duration, error) {
	start := time.Now()
	done := make([]time.Duration, len(agents))
	left := len(agents)
	for left > 0 {
		if time.Since(start) > within {
			return nil, fmt.Errorf("%d agents do not hold the digest after %s", left, within)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for i, a := range agents {
			if done[i] != 0 {
				continue
			}
			if cur, err := a.Replica.Cursor(); err == nil && cur.Digest == digest {
				done[i] = time.Since(start)
				left--
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return done, nil
}

// TempDir makes a directory for a run's replicas.
func TempDir() (string, error) { return os.MkdirTemp("", "borderpost-load-") }
