package load

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/simulator/central"
	"github.com/borderpost/borderpost/simulator/field"
	"github.com/borderpost/borderpost/simulator/rig"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
)

// SoakConfig describes a sustained-load run against a real agent process.
type SoakConfig struct {
	Agent    string // the borderpost executable
	Broker   string
	Dir      string
	Rate     float64       // scans per second
	Duration time.Duration // how long scans are sent
	HitShare float64       // share of scans planted to hit
	Alerts   int
	// Retention is the agent's audit retention (store.retention): a short
	// one shows that purging keeps the replica file flat. 0 keeps the
	// default (180 days).
	Retention time.Duration
	Out       io.Writer
}

// Sample is the agent's state at one moment of the run.
type Sample struct {
	Second    int   `json:"second"`
	Outbox    int   `json:"outbox_depth"`
	RSSBytes  int64 `json:"rss_bytes"`  // includes the replica's memory-mapped pages
	HeapBytes int64 `json:"heap_bytes"` // Go heap in use
	DBBytes   int64 `json:"replica_file_bytes"`
	Checks    int64 `json:"checks"` // answered so far
}

// SoakReport is the outcome of a soak run.
type SoakReport struct {
	Scans       int     `json:"scans"`
	ScansPerSec float64 `json:"scans_per_second"`
	Refused     int     `json:"refused"`
	Hits        int     `json:"hits"`
	Delivered   int     `json:"delivered"`
	// Lost counts hits answered to a device and never stored at central.
	Lost int `json:"lost"`
	// AnswerP50Ms and AnswerP99Ms are the device's wait for its answer,
	// the audit record on disk included.
	AnswerP50Ms   float64 `json:"answer_p50_ms"`
	AnswerP99Ms   float64 `json:"answer_p99_ms"`
	HitsPerSec    float64 `json:"hits_delivered_per_second"`
	LatencyP50Ms  float64 `json:"check_to_central_p50_ms"`
	LatencyP99Ms  float64 `json:"check_to_central_p99_ms"`
	MaxOutbox     int     `json:"max_outbox_depth"`
	RSSFirstBytes int64   `json:"rss_first_bytes"` // after the first minute (warm)
	RSSLastBytes  int64   `json:"rss_last_bytes"`
	HeapFirst     int64   `json:"heap_first_bytes"` // after the first minute (warm)
	HeapLast      int64   `json:"heap_last_bytes"`
	DBBytes       int64   `json:"replica_file_bytes"` // at the end: alerts, and the journal's audit log and outbox
	// DBGrowthPerMillion is the replica file's growth per million checks
	// from the first minute (warm) to the end: near 0 when retention
	// removes as much as the checks add.
	DBGrowthPerMillion int64    `json:"replica_growth_bytes_per_million_checks"`
	Samples            []Sample `json:"samples"`
}

// Soak runs a real agent under a steady stream of scans and measures how
// hits flow to central: latency from the check to central storing the
// hit, the outbox depth and the agent's memory over time.
func Soak(ctx context.Context, cfg SoakConfig) (SoakReport, error) {
	var rep SoakReport
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	say := func(format string, a ...any) {
		if cfg.Out != nil {
			fmt.Fprintf(cfg.Out, format+"\n", a...)
		}
	}
	var mu sync.Mutex
	var lat, answers []time.Duration
	answered, stored := map[string]bool{}, map[string]bool{} // hit IDs
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	c, err := central.Start(central.Config{Broker: cfg.Broker, Signer: bpsync.NewSigner(priv), Logger: quiet,
		OnHit: func(_ string, h store.Hit) {
			d := time.Since(h.Time)
			mu.Lock()
			lat = append(lat, d)
			stored[h.ID] = true
			mu.Unlock()
		}})
	if err != nil {
		return rep, err
	}
	defer c.Close()
	if err := rig.WaitUntil(ctx, 30*time.Second, c.Connected); err != nil {
		return rep, fmt.Errorf("central: %w", err)
	}
	dir := filepath.Join(cfg.Dir, "post")
	os.MkdirAll(dir, 0o700)
	a, err := rig.Prepare(rig.AgentOptions{Binary: cfg.Agent, Dir: dir, ID: "post-soak", Broker: cfg.Broker, CentralKey: pub, HitKey: c.HitPublicKey(), LogLevel: "warn", Retention: cfg.Retention})
	if err != nil {
		return rep, err
	}
	if err := a.Start(ctx); err != nil {
		return rep, err
	}
	defer a.Stop()
	list := watchlist.NewGenerator(3, watchlist.DefaultMix).Alerts(cfg.Alerts)
	d, err := c.Publish(list, nil)
	if err != nil {
		return rep, err
	}
	if err := rig.WaitUntil(ctx, 60*time.Second, func() bool { s, err := a.Status(); return err == nil && s.Digest == d.Digest }); err != nil {
		return rep, fmt.Errorf("agent did not take the watch list: %w", err)
	}
	scans := int(cfg.Rate * cfg.Duration.Seconds())
	say("agent holds %d alerts; sending %d scans at %.0f/s for %s", cfg.Alerts, scans, cfg.Rate, cfg.Duration)

	var progress atomic.Int64
	sampleCtx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(sampled)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-sampleCtx.Done():
				return
			case <-t.C:
				s, _ := a.Status()
				rss, _ := a.RSS()
				heap, _ := a.Metric("go_memstats_heap_inuse_bytes")
				sec := int(time.Since(start).Seconds())
				db := replicaBytes(a.DB)
				rep.Samples = append(rep.Samples, Sample{Second: sec, Outbox: s.Outbox, RSSBytes: rss, HeapBytes: int64(heap), DBBytes: db, Checks: progress.Load()})
				rep.MaxOutbox = max(rep.MaxOutbox, s.Outbox)
				say("t=%3ds outbox %4d rss %5.1f MiB heap %5.1f MiB replica %5.1f MiB", sec, s.Outbox, float64(rss)/(1<<20), heap/(1<<20), float64(db)/(1<<20))
			}
		}
	}()
	fr, err := field.Run(ctx, field.Config{URL: a.URL, RunID: "soak", Scans: scans, Planted: int(float64(scans) * cfg.HitShare),
		Concurrency: 32, Rate: cfg.Rate, Seed: 9, Alerts: list, Progress: &progress,
		OnAnswer: func(wait time.Duration) {
			mu.Lock()
			answers = append(answers, wait)
			mu.Unlock()
		},
		OnHit: func(_ string, h devices.Hit) {
			mu.Lock()
			answered[h.ID] = true
			mu.Unlock()
		}})
	if err != nil && ctx.Err() == nil {
		stopSampling()
		return rep, err
	}
	rig.WaitUntil(ctx, 60*time.Second, func() bool { s, err := a.Status(); return err == nil && s.Outbox == 0 })
	stopSampling()
	<-sampled
	rep.Scans, rep.Refused, rep.Hits = fr.Sent, fr.Refused, fr.Hits
	rep.ScansPerSec = fr.ScansPerSecond()
	rep.Delivered = c.Stats().Stored
	rep.HitsPerSec = float64(rep.Delivered) / fr.Elapsed.Seconds()
	mu.Lock()
	rep.LatencyP50Ms, rep.LatencyP99Ms = percentileMs(lat, 50), percentileMs(lat, 99)
	rep.AnswerP50Ms, rep.AnswerP99Ms = percentileMs(answers, 50), percentileMs(answers, 99)
	for id := range answered {
		if !stored[id] {
			rep.Lost++
		}
	}
	mu.Unlock()
	var warm Sample
	for _, s := range rep.Samples {
		if s.Second >= 60 && rep.RSSFirstBytes == 0 {
			rep.RSSFirstBytes, rep.HeapFirst = s.RSSBytes, s.HeapBytes
			warm = s
		}
	}
	if n := len(rep.Samples); n > 0 {
		if last := rep.Samples[n-1]; warm.Second > 0 && last.Checks > warm.Checks {
			rep.DBGrowthPerMillion = (last.DBBytes - warm.DBBytes) * 1_000_000 / (last.Checks - warm.Checks)
		}
	}
	if n := len(rep.Samples); n > 0 {
		rep.RSSLastBytes, rep.HeapLast = rep.Samples[n-1].RSSBytes, rep.Samples[n-1].HeapBytes
		if rep.RSSFirstBytes == 0 {
			rep.RSSFirstBytes, rep.HeapFirst = rep.Samples[0].RSSBytes, rep.Samples[0].HeapBytes
		}
	}
	rep.DBBytes = replicaBytes(a.DB)
	return rep, nil
}

// replicaBytes is the size of the replica at path and of its journal,
// where the audit log and the outbox grow.
func replicaBytes(path string) int64 {
	var n int64
	for _, p := range []string{path, store.JournalPath(path)} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// percentileMs is the p-th percentile of ds in milliseconds; it sorts ds.
func percentileMs(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[len(ds)*p/100].Microseconds()) / 1000
}
