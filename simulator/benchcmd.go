package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/borderpost/borderpost/simulator/bench"
)

func benchCmd() *cobra.Command {
	var cfg bench.Config
	var profile string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark the matching side: import N alerts into an encrypted replica on disk (or reuse one), start matching from it as the agent does, run planted and noise checks, print latencies and recall",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Out = cmd.ErrOrStderr()
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return fmt.Errorf("create the CPU profile: %w", err)
				}
				defer f.Close()
				cfg.CPUProfile = f
			}
			rep, err := bench.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			// The report is the last line of standard output.
			return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
		},
	}
	cmd.Flags().IntVar(&cfg.Alerts, "alerts", 100000, "alerts in the replica")
	cmd.Flags().IntVar(&cfg.Queries, "queries", 2000, "checks per identifier kind; half as many planted names per name kind; declarations: a tenth")
	cmd.Flags().Uint64Var(&cfg.Seed, "seed", 1, "seed of the generated replica and checks")
	cmd.Flags().StringVar(&cfg.Mix, "mix", "default", "generated list: default (65% persons and companies) or sis (2% persons and companies, identifiers in SIS proportions)")
	cmd.Flags().StringVar(&cfg.Replica, "replica", "", "replica file to reuse, or to build and keep if missing (development key in FILE.key); default: a temporary one")
	cmd.Flags().StringVar(&cfg.Dir, "dir", "", "directory of the temporary replica (default: the system's temporary directory)")
	cmd.Flags().IntVar(&cfg.SmallDelta, "delta", 0, "after the checks, apply a delta of this many operations and report its time (0: 10,000; negative: none); it changes the replica")
	cmd.Flags().IntVar(&cfg.LargeDelta, "large-delta", 0, "then apply a delta of this many operations while checks that write their audit record run (0: 200,000; negative: none); it changes the replica")
	cmd.Flags().BoolVar(&cfg.Tail, "tail", false, "report per kind of check where its slowest checks went (CPU, page faults, switches, collections, allocations; Linux)")
	cmd.Flags().StringVar(&profile, "cpuprofile", "", "write a CPU profile (go tool pprof) of the checks to this file: the checks only, not the import, the start or the deltas")
	cmd.Flags().StringVar(&cfg.ProfileKind, "profile-kind", "", "with --cpuprofile: the checks of this kind only (name, ens, plate, container, document, firearm)")
	cmd.Flags().Bool("json", true, "print the report as one JSON object (always on; kept for the documented command line)")
	return cmd
}

func genCmd() *cobra.Command {
	var cfg bench.Config
	var alertsPath, queriesPath string
	var queries int
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Write the benchmark's generated alerts as JSON Lines (for `borderpost replica import`) and name queries as CSV (for `borderpost screen`)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			af, err := os.Create(alertsPath)
			if err != nil {
				return err
			}
			defer af.Close()
			var qf *os.File
			if queriesPath != "" {
				if qf, err = os.Create(queriesPath); err != nil {
					return err
				}
				defer qf.Close()
			}
			var q io.Writer
			if qf != nil {
				q = qf
			}
			if err := bench.WriteCorpus(cfg, af, q, queries); err != nil {
				return err
			}
			if err := af.Sync(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d alerts to %s and %d queries to %s\n", cfg.Alerts, alertsPath, queries, queriesPath)
			return nil
		},
	}
	cmd.Flags().IntVar(&cfg.Alerts, "alerts", 100000, "alerts to write")
	cmd.Flags().Uint64Var(&cfg.Seed, "seed", 1, "seed")
	cmd.Flags().StringVar(&cfg.Mix, "mix", "default", "generated list: default or sis")
	cmd.Flags().StringVar(&alertsPath, "out", "alerts.jsonl", "alerts file")
	cmd.Flags().StringVar(&queriesPath, "queries-out", "", "queries CSV file (none if empty)")
	cmd.Flags().IntVar(&queries, "queries", 100000, "name queries to write")
	return cmd
}
