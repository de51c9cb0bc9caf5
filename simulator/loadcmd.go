package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/borderpost/borderpost/simulator/load"
	"github.com/borderpost/borderpost/sync/synctest"
)

// loadRun is one load command's run: given a temporary directory and a
// broker, it returns its report and the report's one-line summary.
type loadRun func(ctx context.Context, dir, broker string, progress io.Writer) (report any, summary string, err error)

// runLoad gives a load command what every one needs: a signal-aware
// context, a temporary directory, a broker (the one named, or a Mosquitto
// that saves like a production broker), and the report as text or JSON.
func runLoad(cmd *cobra.Command, broker string, asJSON bool, run loadRun) error {
	return runLoadOn(cmd, broker, synctest.NATSClusterOptions{}, asJSON, run)
}

// runLoadOn is runLoad with the options of the NATS cluster it starts
// when broker is clusterBroker (the ack wait is always clusterAckWait).
func runLoadOn(cmd *cobra.Command, broker string, co synctest.NATSClusterOptions, asJSON bool, run loadRun) error {
	ctx, stop := signalContext(cmd.Context())
	defer stop()
	dir, err := load.TempDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if broker == clusterBroker {
		co.AckWait = clusterAckWait
		c, err := synctest.RunNATSClusterWith(dir, co)
		if err != nil {
			return err
		}
		defer c.Kill()
		for _, n := range c.Nodes {
			fmt.Fprintf(cmd.ErrOrStderr(), "nats-server %s: MQTT %s, monitoring %s\n", n.Name, n.URL(), n.MonitorURL())
		}
		broker = strings.Join(c.URLs(), ",")
	}
	if broker == "" {
		m, err := synctest.RunMosquitto(dir, 0, synctest.MosquittoOptions{Lazy: true})
		if err != nil {
			return err
		}
		defer m.Kill()
		broker = m.URL()
	}
	rep, summary, err := run(ctx, dir, broker, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), summary)
	return err
}

// clusterBroker, given as the broker to runLoad, starts a three-node NATS
// cluster with JetStream on loopback and names its nodes.
const clusterBroker = "nats-cluster"

// clusterAckWait is the cluster's MQTT ack_wait for a load run: longer
// than the slowest in-process agent takes to apply a delta while the
// whole fleet shares two cores, so that the broker does not send the
// delta again to agents still waiting their turn (with the tests' 5 s a
// 1,000-agent fleet is sent each delta many times over). No node is
// killed in a load run, so no delivery waits for it.
const clusterAckWait = 5 * time.Minute

func fleetCmd() *cobra.Command {
	var cfg load.FleetConfig
	var asJSON, cluster bool
	var heapProfile string
	var co synctest.NATSClusterOptions
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Many agents on one broker take one large delta; report the time until every agent holds it, verified by digest",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cluster {
				cfg.Broker = clusterBroker
			}
			if os.Getenv("GOGC") == "" {
				// The fleet's heap is mostly the delta each agent holds
				// until its turn to apply it: collect at 25 % growth, not
				// 100 %, so that the process stays near what it holds.
				debug.SetGCPercent(25)
			}
			if heapProfile != "" {
				f, err := os.Create(heapProfile)
				if err != nil {
					return fmt.Errorf("heap profile: %w", err)
				}
				defer f.Close()
				cfg.HeapProfile = f
			}
			return runLoadOn(cmd, cfg.Broker, co, asJSON, func(ctx context.Context, dir, broker string, out io.Writer) (any, string, error) {
				cfg.Dir, cfg.Broker, cfg.Out = dir, broker, out
				rep, err := load.Fleet(ctx, cfg)
				return rep, fmt.Sprintf("%d agents on %d broker node(s), delta of %d operations (%d bytes): all hold it after %.2fs (per agent p50 %.2fs, p99 %.2fs); "+
					"%d of %d hits stored at central, p50 %.1f ms, p99 %.1f ms, with %d agents' status every 10 s",
					rep.Agents, rep.Brokers, rep.Ops, rep.DeltaBytes, rep.AllSeconds, rep.P50Seconds, rep.P99Seconds,
					rep.HitsStored, rep.Hits, rep.HitP50Ms, rep.HitP99Ms, rep.StatusSeen), err
			})
		},
	}
	cmd.Flags().StringVar(&cfg.Broker, "broker", "", "MQTT broker, or comma-separated cluster nodes (default: start a Mosquitto for the run)")
	cmd.Flags().BoolVar(&cluster, "cluster", false, "start a three-node NATS cluster with JetStream on loopback instead of a Mosquitto")
	cmd.Flags().IntVar(&co.ConsumerReplicas, "consumer-replicas", 0, "with --cluster: the mqtt consumer_replicas of the cluster (0: the streams' 3)")
	cmd.Flags().IntVar(&cfg.Agents, "agents", 200, "agents")
	cmd.Flags().IntVar(&cfg.Ops, "ops", 10000, "operations in the measured delta")
	cmd.Flags().IntVar(&cfg.Hits, "hits", 2000, "hits recorded after the delta, to measure central's hit latency under the fleet's status traffic (0: none)")
	cmd.Flags().IntVar(&cfg.HitAgents, "hit-agents", 20, "agents the hits come from")
	cmd.Flags().Float64Var(&cfg.HitRate, "hit-rate", 100, "hits per second, all agents together")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	cmd.Flags().IntVar(&cfg.Applying, "applying", 0, "agents verifying and applying a delta at once (0: twice the cores)")
	cmd.Flags().StringVar(&heapProfile, "heap-profile", "", "write a heap profile to this file once every agent holds the delta")
	return cmd
}

func backlogCmd() *cobra.Command {
	var cfg load.BacklogConfig
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "backlog",
		Short: "Record a backlog of hits offline, then report how long it takes to drain to central after connecting",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLoad(cmd, cfg.Broker, asJSON, func(ctx context.Context, dir, broker string, out io.Writer) (any, string, error) {
				cfg.Dir, cfg.Broker, cfg.Out = dir, broker, out
				rep, err := load.Backlog(ctx, cfg)
				return rep, fmt.Sprintf("backlog of %d hits: built offline in %.1fs, drained in %.1fs (%.0f hits/s), %d duplicates removed",
					rep.Hits, rep.BuildSeconds, rep.DrainSeconds, rep.HitsPerSecond, rep.Duplicates), err
			})
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
			return runLoad(cmd, cfg.Broker, asJSON, func(ctx context.Context, dir, broker string, out io.Writer) (any, string, error) {
				cfg.Dir, cfg.Broker, cfg.Out = dir, broker, out
				rep, err := load.Soak(ctx, cfg)
				mib := func(b int64) float64 { return float64(b) / (1 << 20) }
				return rep, fmt.Sprintf("%d scans at %.0f/s (%d refused), %d hits, %d delivered (%.1f/s), %d lost; answer p50 %.2f ms, p99 %.2f ms; check to central p50 %.1f ms, p99 %.1f ms; "+
					"outbox max %d; heap %.1f MiB after 1 min, %.1f MiB at the end; RSS %.1f -> %.1f MiB (replica file %.1f MiB, %+d bytes per million checks after 1 min)",
					rep.Scans, rep.ScansPerSec, rep.Refused, rep.Hits, rep.Delivered, rep.HitsPerSec, rep.Lost, rep.AnswerP50Ms, rep.AnswerP99Ms, rep.LatencyP50Ms, rep.LatencyP99Ms,
					rep.MaxOutbox, mib(rep.HeapFirst), mib(rep.HeapLast), mib(rep.RSSFirstBytes), mib(rep.RSSLastBytes), mib(rep.DBBytes), rep.DBGrowthPerMillion), err
			})
		},
	}
	cmd.Flags().StringVar(&cfg.Agent, "agent", "bin/borderpost", "the borderpost executable")
	cmd.Flags().StringVar(&cfg.Broker, "broker", "", "MQTT broker (default: start a Mosquitto for the run)")
	cmd.Flags().Float64Var(&cfg.Rate, "rate", 2000, "scans per second")
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 5*time.Minute, "how long to send scans")
	cmd.Flags().Float64Var(&cfg.HitShare, "hits", 0.05, "share of scans planted to hit")
	cmd.Flags().IntVar(&cfg.Alerts, "alerts", 10000, "alerts central publishes")
	cmd.Flags().DurationVar(&cfg.Retention, "retention", time.Minute, "the agent's audit retention (store.retention); 0 keeps the default of 180 days")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	return cmd
}
