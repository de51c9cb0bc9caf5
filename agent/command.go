package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/borderpost/borderpost/agent/config"
	"github.com/borderpost/borderpost/store"
)

// Stamped at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = ""
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "borderpost",
		Short:         "Watch-list agent for border crossing points",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(serviceRunCmd(), versionCmd(), keysCmd(), configCmd(), auditCmd(), usersCmd(), screenCmd(), replicaCmd(), checkCmd())
	root.AddCommand(serviceCmds()...)
	return root
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			c := commit
			if c == "" {
				if bi, ok := debug.ReadBuildInfo(); ok {
					for _, s := range bi.Settings {
						if s.Key == "vcs.revision" {
							c = s.Value
						}
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "borderpost %s %s built %s (replica format %d)\n", version, c, buildDate, store.FormatVersion)
		},
	}
}

func loadConfig(path string) (config.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return config.Config{}, fmt.Errorf("open configuration: %w", err)
	}
	defer f.Close()
	cfg, err := config.Load(f)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

func configCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Work with configuration files"}
	c.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Check a configuration file and list every problem with its line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := loadConfig(args[0])
			var ps config.Problems
			if errors.As(err, &ps) {
				for _, p := range ps {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", args[0], p)
				}
				return fmt.Errorf("%d problems", len(ps))
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", args[0])
			return nil
		},
	})
	return c
}
