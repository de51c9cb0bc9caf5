package main

import (
	"errors"
	"fmt"
	"io"
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
	root.AddCommand(serviceRunCmd(), versionCmd(), keysCmd(), configCmd(), auditCmd(), usersCmd(), screenCmd(), replicaCmd(), checkCmd(), manCmd())
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

// checkConfig loads the configuration at path and checks the files it
// names: every problem `run` would meet, all at once, in file order. It
// returns config.Problems when there are any.
func checkConfig(path string) (config.Config, error) {
	cfg, err := loadConfig(path)
	var ps config.Problems
	if err != nil && !errors.As(err, &ps) {
		return cfg, err
	}
	if !ps.Syntax() {
		ps = ps.With(cfg.CheckFiles())
	}
	if len(ps) > 0 {
		return cfg, ps
	}
	return cfg, nil
}

// reportProblems prints each of a configuration's problems on its own line
// and returns the error the command ends with; other errors pass through.
func reportProblems(w io.Writer, path string, err error) error {
	var ps config.Problems
	if !errors.As(err, &ps) {
		return err
	}
	for _, p := range ps {
		fmt.Fprintf(w, "%s: %s\n", path, p)
	}
	return fmt.Errorf("%s: %s; fix %s and run `borderpost config check %s` again", path, problemCount(len(ps)), them(len(ps)), path)
}

func problemCount(n int) string {
	if n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", n)
}

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func configCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Work with configuration files"}
	c.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Check a configuration file and the files it names; list every problem `run` would meet, each with its line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := checkConfig(args[0]); err != nil {
				return reportProblems(cmd.ErrOrStderr(), args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", args[0])
			return nil
		},
	})
	return c
}

// configFlag declares --config (-c) on cmd, defaulting to where the
// packages install the configuration on this system (defaultConfigPath),
// so that every command finds the agent's file without being told.
func configFlag(cmd *cobra.Command, path *string, usage string) {
	cmd.Flags().StringVarP(path, "config", "c", defaultConfigPath(), usage)
}
