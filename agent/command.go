package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/borderpost/borderpost/agent/config"
	"github.com/borderpost/borderpost/agent/post"
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
	root.AddCommand(runCmd(), versionCmd(), keysCmd(), configCmd(), auditCmd())
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
			fmt.Fprintf(cmd.OutOrStdout(), "borderpost %s %s (replica format %d)\n", version, c, store.FormatVersion)
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

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func runCmd() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent in the foreground until SIGINT or SIGTERM",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			log := newLogger(os.Stderr, cfg.Log)
			slog.SetDefault(log)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			a, err := post.NewVersion(ctx, cfg, log, version)
			if err != nil {
				log.Error("agent cannot start", "err", err)
				return err
			}
			return a.Run(ctx)
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "/etc/borderpost/agent.yaml", "configuration file")
	return cmd
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
