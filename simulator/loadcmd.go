package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/borderpost/borderpost/simulator/load"
	"github.com/borderpost/borderpost/sync/synctest"
)

// brokerFor returns the broker to use: the one given, or a Mosquitto
// started in dir for the run (stopped by the returned function).
func brokerFor(url, dir string) (string, func(), error) {
	if url != "" {
		return url, func() {}, nil
	}
	m, err := synctest.RunMosquitto(dir, 0, synctest.MosquittoOptions{Lazy: true})
	if err != nil {
		return "", nil, err
	}
	return m.URL(), m.Kill, nil
}

func fleetCmd() *cobra.Command {
	var cfg load.FleetConfig
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Many agents on one broker take one large delta; report the time until every agent holds it, verified by digest",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext()
			defer stop()
			dir, err := load.TempDir()
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			cfg.Dir = dir
			broker, stopBroker, err := brokerFor(cfg.Broker, dir)
			if err != nil {
				return err
			}
			defer stopBroker()
			cfg.Broker = broker
			cfg.Out = cmd.ErrOrStderr()
			rep, err := load.Fleet(ctx, cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d agents, delta of %d operations (%d bytes): all hold it after %.2fs (per agent p50 %.2fs, p99 %.2fs)\n",
				rep.Agents, rep.Ops, rep.DeltaBytes, rep.AllSeconds, rep.P50Seconds, rep.P99Seconds)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.Broker, "broker", "", "MQTT broker (default: start a Mosquitto for the run)")
	cmd.Flags().IntVar(&cfg.Agents, "agents", 200, "agents")
	cmd.Flags().IntVar(&cfg.Ops, "ops", 10000, "operations in the measured delta")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	return cmd
}

func backlogCmd() *cobra.Command {
	var cfg load.BacklogConfig
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "backlog",
		Short: "Record a backlog of hits offline, then report how long it takes to drain to central after connecting",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext()
			defer stop()
			dir, err := load.TempDir()
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			cfg.Dir = dir
			broker, stopBroker, err := brokerFor(cfg.Broker, dir)
			if err != nil {
				return err
			}
			defer stopBroker()
			cfg.Broker = broker
			cfg.Out = cmd.ErrOrStderr()
			rep, err := load.Backlog(ctx, cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backlog of %d hits: built offline in %.1fs, drained in %.1fs (%.0f hits/s), %d duplicates removed\n",
				rep.Hits, rep.BuildSeconds, rep.DrainSeconds, rep.HitsPerSecond, rep.Duplicates)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.Broker, "broker", "", "MQTT broker (default: start a Mosquitto for the run)")
	cmd.Flags().IntVar(&cfg.Hits, "hits", 100000, "hits in the backlog")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	return cmd
}

func soakCmd() *cobra.Command {
	var cfg load.SoakConfig
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "soak",
		Short: "Drive a real agent at a steady scan rate; report hit latency to central, outbox depth and memory over time",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext()
			defer stop()
			dir, err := load.TempDir()
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			cfg.Dir = dir
			broker, stopBroker, err := brokerFor(cfg.Broker, dir)
			if err != nil {
				return err
			}
			defer stopBroker()
			cfg.Broker = broker
			cfg.Out = cmd.ErrOrStderr()
			rep, err := load.Soak(ctx, cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d scans at %.0f/s (%d refused), %d hits, %d delivered (%.1f/s); check to central p50 %.1f ms, p99 %.1f ms; outbox max %d; heap %.1f MiB after 1 min, %.1f MiB at the end; RSS %.1f -> %.1f MiB (replica file %.1f MiB)\n",
				rep.Scans, rep.ScansPerSec, rep.Refused, rep.Hits, rep.Delivered, rep.HitsPerSec, rep.LatencyP50Ms, rep.LatencyP99Ms,
				rep.MaxOutbox, float64(rep.HeapFirst)/(1<<20), float64(rep.HeapLast)/(1<<20),
				float64(rep.RSSFirstBytes)/(1<<20), float64(rep.RSSLastBytes)/(1<<20), float64(rep.DBBytes)/(1<<20))
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.Agent, "agent", "bin/borderpost", "the borderpost executable")
	cmd.Flags().StringVar(&cfg.Broker, "broker", "", "MQTT broker (default: start a Mosquitto for the run)")
	cmd.Flags().Float64Var(&cfg.Rate, "rate", 2000, "scans per second")
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 5*time.Minute, "how long to send scans")
	cmd.Flags().Float64Var(&cfg.HitShare, "hits", 0.05, "share of scans planted to hit")
	cmd.Flags().IntVar(&cfg.Alerts, "alerts", 10000, "alerts central publishes")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	return cmd
}
