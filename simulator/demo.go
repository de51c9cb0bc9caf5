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
			return runDemo(ctx, cmd.OutOrStdout(), agentBin, alerts, rate, share)
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

func runDemo(ctx context.Context, out io.Writer, agentBin string, nAlerts int, rate, share float64) error {
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
	var delivered atomic.Int64
	c, err := central.Start(central.Config{Broker: url, Signer: bpsync.NewSigner(priv), Logger: quietLogger(),
		OnHit: func(agent string, h store.Hit) {
			delivered.Add(1)
			fmt.Fprintf(out, "%s  HIT at central  %-10s %-9s alert %s  action: %-15s %s\n",
				time.Now().Format("15:04:05"), agent, h.ItemKind, h.AlertID, h.Action, h.Match)
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
	fmt.Fprintf(out, "agent       holds the watch list; scanners start at %.0f scans/s (Ctrl-C to stop)\n\n", rate)

	// Passports at a booth: person and document hits beside the plates and containers.
	var passportHits atomic.Int64
	laneDone := make(chan struct{})
	go func() { defer close(laneDone); runPassportLane(ctx, a.URL, list, 4*time.Second, &passportHits) }()
	scans := 1 << 30
	planted := int(float64(scans) * share)
	rep, err := field.Run(ctx, field.Config{URL: a.URL, RunID: "demo", Scans: scans, Planted: planted, Concurrency: 2,
		Rate: rate, Seed: uint64(time.Now().UnixNano()), Alerts: list, OnHit: func(string, devices.Hit) {}})
	if err != nil && ctx.Err() == nil {
		return err
	}
	<-laneDone
	// Let the outbox drain before the summary.
	drainCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rig.WaitUntil(drainCtx, 30*time.Second, func() bool { s, err := a.Status(); return err == nil && s.Outbox == 0 })
	time.Sleep(200 * time.Millisecond)
	st := c.Stats()
	lost := int64(rep.Hits) + passportHits.Load() - int64(st.Stored)
	fmt.Fprintf(out, "\nsummary: %d scans and passports, %d hits at the post, %d delivered to central (%d duplicates removed), lost: %d\n",
		rep.Sent, int64(rep.Hits)+passportHits.Load(), st.Stored, st.Duplicates, max(lost, 0))
	if lost > 0 { // central may also hold officers' outcomes
		return fmt.Errorf("%d hits not delivered", lost)
	}
	return nil
}
