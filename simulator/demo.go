package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/spf13/cobra"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/simulator/central"
	"github.com/borderpost/borderpost/simulator/field"
	"github.com/borderpost/borderpost/simulator/rig"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
)

func demoCmd() *cobra.Command {
	var agentBin string
	var duration time.Duration
	var alerts int
	var rate, share float64
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run an embedded broker, central, the agent and scanners on loopback, printing hits as central receives them",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			return runDemo(ctx, cmd.OutOrStdout(), demoOptions{agentBin: agentBin, alerts: alerts, rate: rate, share: share, duration: duration, every: 5 * time.Second})
		},
	}
	cmd.Flags().StringVar(&agentBin, "agent", "bin/borderpost", "the borderpost executable")
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	cmd.Flags().IntVar(&alerts, "alerts", 5000, "alerts central publishes")
	cmd.Flags().Float64Var(&rate, "rate", 20, "scans per second")
	cmd.Flags().Float64Var(&share, "planted", 0.05, "share of scans planted to hit")
	return cmd
}

// startBroker runs an embedded MQTT broker on a free loopback port. It is
// for the demo only; tests use a real Mosquitto.
func startBroker() (*mochi.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	// The embedded broker only reports errors: its warnings about short
	// keepalives and connections closed at shutdown are expected here.
	brokerLog := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	srv := mochi.New(&mochi.Options{InlineClient: false, Logger: brokerLog})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, "", err
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "demo", Address: addr})); err != nil {
		return nil, "", err
	}
	go srv.Serve()
	return srv, "tcp://" + addr, nil
}

// demoOptions are the demo's flags.
type demoOptions struct {
	agentBin    string
	alerts      int
	rate, share float64
	duration    time.Duration // 0: until Ctrl-C
	every       time.Duration // how often the running count of scans is printed
}

// demoRunID prefixes the scanners' check IDs: the hits central receives
// with it are the scanners'; any other is an officer's manual check.
const demoRunID = "demo"

func runDemo(ctx context.Context, out io.Writer, o demoOptions) error {
	agentBin, nAlerts, rate, share := o.agentBin, o.alerts, o.rate, o.share
	if _, err := os.Stat(agentBin); err != nil {
		return fmt.Errorf("agent executable %s: %w (build it with `make build`)", agentBin, err)
	}
	dir, err := os.MkdirTemp("", "borderpost-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	broker, url, err := startBroker()
	if err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	defer broker.Close()
	fmt.Fprintf(out, "broker      %s (embedded, demo only)\n", url)

	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	var tally demoTally
	c, err := central.Start(central.Config{Broker: url, Signer: bpsync.NewSigner(priv), Logger: quietLogger(),
		OnHit: func(agent string, h store.Hit) {
			source := tally.add(h)
			fmt.Fprintf(out, "%s  HIT at central  %-10s %-9s alert %s  action: %-15s match: %s (%s)\n",
				time.Now().Format("15:04:05"), agent, h.ItemKind, h.AlertID, h.Action, h.Match, source)
		}})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := rig.WaitUntil(ctx, 10*time.Second, c.Connected); err != nil {
		return fmt.Errorf("central cannot reach the broker: %w", err)
	}

	agentDir := filepath.Join(dir, "post")
	os.MkdirAll(agentDir, 0o700)
	pw := make([]byte, 9)
	rand.Read(pw)
	password := fmt.Sprintf("demo-%x", pw)
	a, err := rig.Prepare(rig.AgentOptions{Binary: agentBin, Dir: agentDir, ID: "post-demo-01", Broker: url, CentralKey: pub, HitKey: c.HitPublicKey(),
		Officer: "officer", OfficerPassword: password})
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		return err
	}
	defer a.Stop()
	fmt.Fprintf(out, "agent       %s (status: %s/v1/status, metrics: %s/metrics, log: %s)\n", "post-demo-01", a.URL, a.URL, filepath.Join(agentDir, "agent.log"))
	fmt.Fprintf(out, "officers    %s  (log in as \"officer\", password %s)\n", a.TerminalURL, password)

	seed := uint64(time.Now().UnixNano())
	list := watchlist.NewGenerator(seed, watchlist.DefaultMix).Alerts(nAlerts)
	// What an officer reads on a hit: actions of every kind, warnings,
	// vehicles' make and model.
	watchlist.Dress(list, seed)
	d, err := c.Publish(list, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "central     published delta %d/%d: %d alerts, digest %.16s…\n", d.Epoch, d.Seq, nAlerts, d.Digest)
	if err := rig.WaitUntil(ctx, 30*time.Second, func() bool { s, err := a.Status(); return err == nil && s.Digest == d.Digest }); err != nil {
		return fmt.Errorf("agent did not take the delta: %w", err)
	}
	stopHow := "Ctrl-C to stop"
	if o.duration > 0 {
		stopHow = fmt.Sprintf("stops by itself after %s", o.duration)
	}
	fmt.Fprintf(out, "agent       holds the watch list; scanners start at %.0f scans/s (%s)\n\n", rate, stopHow)

	// Passports at a booth: person and document hits beside the plates and containers.
	var passportHits atomic.Int64
	laneDone := make(chan struct{})
	go func() { defer close(laneDone); runPassportLane(ctx, a.URL, list, 4*time.Second, &passportHits) }()
	scans := 1 << 30
	planted := int(float64(scans) * share)
	var answered atomic.Int64
	progressCtx, endProgress := context.WithCancel(ctx)
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		printDemoProgress(progressCtx, out, o.every, &answered, &tally.scanners)
	}()
	rep, err := field.Run(ctx, field.Config{URL: a.URL, RunID: demoRunID, Scans: scans, Planted: planted, Concurrency: 2,
		Rate: rate, Seed: uint64(time.Now().UnixNano()), Alerts: list, OnHit: func(string, devices.Hit) {}, Progress: &answered})
	endProgress()
	<-progressDone
	if err != nil && ctx.Err() == nil {
		return err
	}
	<-laneDone
	// Let the outbox drain before the summary.
	drainCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rig.WaitUntil(drainCtx, 30*time.Second, func() bool { s, err := a.Status(); return err == nil && s.Outbox == 0 })
	time.Sleep(200 * time.Millisecond)
	summary, lost := tally.summary(rep.Sent, rep.Hits, passportHits.Load(), c.Stats().Duplicates)
	fmt.Fprintln(out, "\n"+summary)
	if lost > 0 {
		return fmt.Errorf("%d of the scanners' and the booth's hits not delivered", lost)
	}
	return nil
}

// demoTally counts the hits central receives by where they come from.
// Central stores every hit; officers' manual checks on the page are hits
// too, but not the scanners'. Counting them apart keeps "lost" what it
// says: the scanners' hits that did not arrive.
type demoTally struct {
	scanners, booth, manual atomic.Int64
}

// add counts h and says where it came from: the scanners (their check IDs
// carry demoRunID), an officer's manual check, or the passport and
// declaration booth.
func (t *demoTally) add(h store.Hit) string {
	switch {
	case strings.HasPrefix(h.CheckID, demoRunID+"-"):
		t.scanners.Add(1)
		return "scanner"
	case strings.HasPrefix(h.CheckID, "manual-"):
		t.manual.Add(1)
		return "manual check"
	}
	t.booth.Add(1)
	return "booth"
}

// summary is the demo's closing line for sent scans, the hits the post
// reported to the scanners and to the booth, and how many of those
// central lacks.
func (t *demoTally) summary(sent, postHits int, boothHits int64, duplicates int) (string, int64) {
	delivered := t.scanners.Load() + t.booth.Load()
	lost := max(int64(postHits)+boothHits-delivered, 0)
	s := fmt.Sprintf("summary: %d scans, %d hits at the post (%d of them at the passport and declaration booth), %d delivered to central (%d duplicates removed), lost: %d",
		sent, int64(postHits)+boothHits, boothHits, delivered, duplicates, lost)
	if m := t.manual.Load(); m > 0 {
		s += fmt.Sprintf("; and %d from officers' manual checks, delivered too", m)
	}
	return s, lost
}

// printDemoProgress prints the running count of scans and hits every
// interval until ctx ends, so that a quiet stretch does not look like a
// hang.
func printDemoProgress(ctx context.Context, out io.Writer, every time.Duration, scans, hits *atomic.Int64) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fmt.Fprintf(out, "%s  %d scans so far, %d hits at central\n", time.Now().Format("15:04:05"), scans.Load(), hits.Load())
		}
	}
}
