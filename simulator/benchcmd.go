package main

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/borderpost/borderpost/simulator/bench"
)

func benchCmd() *cobra.Command {
	var cfg bench.Config
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark the matching engine: build a replica of N alerts, run planted and noise checks, print latencies and recall",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Out = cmd.ErrOrStderr()
			rep, err := bench.Run(cfg)
			if err != nil {
				return err
			}
			// The report is the last line of standard output.
			return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
		},
	}
	cmd.Flags().IntVar(&cfg.Alerts, "alerts", 100000, "alerts in the replica")
	cmd.Flags().IntVar(&cfg.Queries, "queries", 2000, "checks per kind (declarations: a tenth)")
	cmd.Flags().Uint64Var(&cfg.Seed, "seed", 1, "seed of the generated replica and checks")
	cmd.Flags().Bool("json", true, "print the report as one JSON object (always on; kept for the documented command line)")
	return cmd
}
