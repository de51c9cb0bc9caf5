package main

// The agent as a system service: `borderpost run` goes through the
// kardianos/service wrapper (so the same binary answers the Windows service
// manager), and install, uninstall, start, stop and status drive the host's
// service manager. The systemd unit is ours, not the library's default: it
// restarts on failure only, waits for the network, runs as its own user and
// may write to its data directory only.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kardianos/service"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/borderpost/borderpost/agent/config"
	"github.com/borderpost/borderpost/agent/post"
)

// buildDate is stamped at build time (-X main.buildDate=...) from
// SOURCE_DATE_EPOCH or the commit time, never the clock, so that two builds
// of one commit are byte-identical.
var buildDate = ""

const (
	serviceName = "borderpost"
	// serviceUser is the system user the Debian package creates.
	serviceUser = "borderpost"
	// stopWithin bounds Stop: the agent's own shutdown waits at most 10 s
	// for in-flight requests, and Windows' service manager gives up on a
	// service that takes much longer than 20 s.
	stopWithin = 15 * time.Second
)

// systemdUnit is the unit `borderpost install` writes and the Debian package
// ships. It is written in kardianos/service's template language (v1.3.0's
// own engine, not text/template), restricted to plain {{Key}} values so
// that renderUnit can produce the same text without the library.
//
// Wants+After network-online: the broker is remote. Restart on failure
// only: a clean exit is an operator's stop. ProtectSystem=strict with one
// ReadWritePaths: the replica's folder is the only place the agent writes.
// No PrivateDevices, so that a TPM (/dev/tpmrm0) stays reachable; the
// device policy admits it and nothing else. A system call outside the filter fails with
// EPERM instead of killing the agent mid-transaction.
const systemdUnit = `[Unit]
Description={{Description}}
Documentation=file:///usr/share/doc/borderpost/setup.md
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=600
StartLimitBurst=10

[Service]
Type=simple
User={{UserName}}
Group={{UserName}}
ExecStart={{Path}}{{range Arguments}} {{.}}{{end}}
WorkingDirectory={{WorkingDirectory}}
Restart=on-failure
RestartSec=5s
TimeoutStopSec=30s
SyslogIdentifier=borderpost
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={{WorkingDirectory}}
ProtectHome=yes
PrivateTmp=yes
DevicePolicy=closed
DeviceAllow=/dev/tpmrm0 rw
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM
CapabilityBoundingSet=
AmbientCapabilities=
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`

// unitSafe reports whether s can stand in a unit file unquoted: no
// whitespace, quotes, backslashes, specifiers (%) or variables ($).
func unitSafe(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n\"'\\%$;")
}

// serviceConfig is the kardianos/service description of the agent running
// execPath with the configuration at cfgPath; dataDir is the replica's
// folder, the only one the unit lets it write.
func serviceConfig(execPath, cfgPath, dataDir string) (*service.Config, error) {
	if runtime.GOOS != "windows" {
		for _, s := range []string{execPath, cfgPath, dataDir} {
			if !unitSafe(s) || !filepath.IsAbs(s) {
				return nil, fmt.Errorf("%w: %q", errUnitPath, s)
			}
		}
	}
	c := &service.Config{
		Name:             serviceName,
		DisplayName:      "borderpost agent",
		Description:      "borderpost watch-list agent",
		Executable:       execPath,
		Arguments:        []string{"run", "--config", cfgPath},
		WorkingDirectory: dataDir,
		Option: service.KeyValue{
			"SystemdScript":          systemdUnit,
			"Restart":                "on-failure",
			"StartType":              "automatic",
			"OnFailure":              "restart",
			"DelayedAutoStart":       true,
			"OnFailureDelayDuration": "5s",
		},
	}
	if runtime.GOOS != "windows" {
		c.UserName = serviceUser
	}
	return c, nil
}

// errUnitPath is returned for a path that cannot be written into a unit.
var errUnitPath = errors.New("path must be absolute, without spaces, quotes, '%', '$' or ';'")

// renderUnit renders systemdUnit for c exactly as kardianos/service would
// for the plain {{Key}} values it uses: for the Debian package (which ships
// the unit rather than calling install) and for the unit's test.
func renderUnit(c *service.Config) string {
	return strings.NewReplacer(
		"{{Description}}", c.Description,
		"{{UserName}}", c.UserName,
		"{{Path}}", c.Executable,
		"{{range Arguments}} {{.}}{{end}}", " "+strings.Join(c.Arguments, " "),
		"{{WorkingDirectory}}", c.WorkingDirectory,
	).Replace(systemdUnit)
}

// underJournal reports whether stderr is connected to the systemd journal,
// which stamps every line itself.
func underJournal() bool { return os.Getenv("JOURNAL_STREAM") != "" }

// newAgentLogger returns the agent's logger writing to w in c's format and
// level: "auto" is text for a person at a terminal and JSON for the
// journal, files and log shippers. Under the journal it leaves out the
// time, which journald adds.
func newAgentLogger(w io.Writer, c config.Log, journal bool) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if journal {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	if c.Format == "text" || (c.Format == "auto" && !journal && isTerminal(w)) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// isTerminal reports whether w is a terminal a person reads.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// agentProgram adapts the agent to kardianos/service: Start returns at
// once with the agent running in a goroutine, Stop cancels it and waits at
// most stopWithin for its graceful shutdown.
type agentProgram struct {
	// run is the agent's lifetime: it blocks until ctx ends or the agent
	// fails (post.Agent.Run in production).
	run func(ctx context.Context) error
	// parent is the context Start runs the agent under (the command's);
	// nil means none but Stop ends it.
	parent context.Context
	// exited, if set, is called once the agent ends on its own (not through
	// Stop), with its error; the service manager must learn of it.
	exited func(error)
	log    *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start implements service.Interface: it starts the agent and returns
// without waiting for it.
func (p *agentProgram) Start(service.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		return errAlreadyStarted
	}
	parent := p.parent
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		err := p.run(ctx)
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
		if ctx.Err() == nil && p.exited != nil {
			p.exited(err)
		}
	}()
	return nil
}

// Stop implements service.Interface: it asks the agent to shut down and
// waits for it, at most stopWithin. It returns the agent's own error.
func (p *agentProgram) Stop(service.Service) error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
	case <-time.After(stopWithin):
		return fmt.Errorf("%w within %s", errStopTimeout, stopWithin)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Done is closed when the agent has ended, through Stop or on its own.
func (p *agentProgram) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

var (
	errAlreadyStarted = errors.New("agent already started")
	errStopTimeout    = errors.New("agent did not stop")
	errNotAnswering   = errors.New("the agent is not answering")
)

// serviceRunCmd is `borderpost run`: the agent in the foreground until
// SIGINT or SIGTERM (systemd, a terminal), or under the Windows service
// manager when it started the process.
func serviceRunCmd() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent until SIGINT or SIGTERM (or until the Windows service manager stops it)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The same checks as `config check`: a missing key file or
			// certificate is named with its line before anything starts.
			cfg, err := checkConfig(cfgPath)
			if err != nil {
				return reportProblems(cmd.ErrOrStderr(), cfgPath, err)
			}
			managed := runtime.GOOS == "windows" && !service.Interactive()
			var out io.Writer = os.Stderr
			if managed {
				// A Windows service has no console: log beside the replica.
				f, err := os.OpenFile(filepath.Join(filepath.Dir(cfg.Store.Path), "agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
				if err != nil {
					return fmt.Errorf("open agent log: %w", err)
				}
				defer f.Close()
				out = f
			}
			log := newAgentLogger(out, cfg.Log, underJournal())
			slog.SetDefault(log)
			log.Info("borderpost starting", "version", version, "commit", commit, "built", buildDate, "config", cfgPath)
			prg := &agentProgram{log: log, parent: cmd.Context(), run: func(ctx context.Context) error {
				a, err := post.NewVersion(ctx, cfg, log, version)
				if err != nil {
					log.Error("agent cannot start", "err", err)
					return err
				}
				return a.Run(ctx)
			}}
			if managed {
				exe, _ := os.Executable()
				sc, err := serviceConfig(exe, cfgPath, filepath.Dir(cfg.Store.Path))
				if err != nil {
					return err
				}
				s, err := service.New(prg, sc)
				if err != nil {
					return err
				}
				// The service manager restarts a service that ends on its
				// own with a failure; exiting non-zero tells it so.
				prg.exited = func(err error) {
					log.Error("agent ended", "err", err)
					os.Exit(1)
				}
				return s.Run()
			}
			return runForeground(cmd.Context(), prg)
		},
	}
	configFlag(cmd, &cfgPath, "configuration file")
	return cmd
}

// runForeground runs prg until SIGINT, SIGTERM or ctx's end, or until the
// agent ends on its own, and returns the agent's error.
func runForeground(ctx context.Context, prg *agentProgram) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	prg.parent = ctx // the agent sees the signal itself, not only through Stop
	if err := prg.Start(nil); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-prg.Done():
	}
	return prg.Stop(nil)
}

// defaultConfigPath is where the configuration lives on this system.
func defaultConfigPath() string {
	if runtime.GOOS == "windows" {
		dir := os.Getenv("ProgramData")
		if dir == "" {
			dir = `C:\ProgramData`
		}
		return filepath.Join(dir, "borderpost", "agent.yaml")
	}
	return "/etc/borderpost/agent.yaml"
}

// serviceCmds are install, uninstall, start, stop and status: the host's
// service manager (systemd, Windows) driven through kardianos/service.
func serviceCmds() []*cobra.Command {
	var cfgPath string
	var exePath string
	// open describes the service; only install needs a valid
	// configuration (its data folder goes into the unit), the others fall
	// back to the defaults so that a broken file can still be stopped.
	open := func(needConfig bool) (service.Service, config.Config, error) {
		cfg, err := loadConfig(cfgPath)
		if err != nil {
			if needConfig {
				return nil, cfg, err
			}
			cfg = config.Defaults()
		}
		exe := exePath
		if exe == "" {
			if exe, err = os.Executable(); err != nil {
				return nil, cfg, err
			}
		}
		abs, err := filepath.Abs(cfgPath)
		if err != nil {
			return nil, cfg, err
		}
		// A development configuration names its replica relative to the
		// folder the agent runs in; the unit needs it absolute.
		dataDir, err := filepath.Abs(filepath.Dir(cfg.Store.Path))
		if err != nil {
			return nil, cfg, err
		}
		sc, err := serviceConfig(exe, abs, dataDir)
		if err != nil {
			return nil, cfg, err
		}
		s, err := service.New(&agentProgram{}, sc)
		return s, cfg, err
	}
	action := func(use, short string, do func(cmd *cobra.Command, s service.Service, cfg config.Config) error) *cobra.Command {
		c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				s, cfg, err := open(use == "install")
				if err != nil {
					return err
				}
				return do(cmd, s, cfg)
			}}
		configFlag(c, &cfgPath, "configuration file the service runs with")
		return c
	}
	install := action("install", "Register the agent with the service manager (systemd unit or Windows service), enabled at boot",
		func(cmd *cobra.Command, s service.Service, _ config.Config) error {
			if err := s.Install(); err != nil {
				return fmt.Errorf("install service (%s): %w", service.Platform(), err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "installed %s service %s; start it with `borderpost start`\n", service.Platform(), serviceName)
			return nil
		})
	install.Flags().StringVar(&exePath, "executable", "", "path of the binary the service runs (default: this one)")
	uninstall := action("uninstall", "Remove the agent from the service manager (its data stays)",
		func(cmd *cobra.Command, s service.Service, _ config.Config) error {
			_ = s.Stop()
			if err := s.Uninstall(); err != nil {
				return fmt.Errorf("uninstall service: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "uninstalled service %s\n", serviceName)
			return nil
		})
	start := action("start", "Start the agent's service", func(cmd *cobra.Command, s service.Service, _ config.Config) error {
		return s.Start()
	})
	stop := action("stop", "Stop the agent's service (in-flight checks finish, unsent hits stay on disk)",
		func(cmd *cobra.Command, s service.Service, _ config.Config) error { return s.Stop() })
	status := action("status", "Show the service's state, any configuration problem and, if it answers, the agent's link and outbox; exits non-zero unless the agent answers",
		func(cmd *cobra.Command, s service.Service, cfg config.Config) error {
			out := cmd.OutOrStdout()
			st, err := s.Status()
			fmt.Fprintf(out, "service: %s\n", serviceState(st, err, unitInstalled()))
			if _, err := checkConfig(cfgPath); err != nil {
				var ps config.Problems
				if errors.As(err, &ps) {
					fmt.Fprintf(out, "configuration: %s: %s, the first %s; run `borderpost config check %s`\n", cfgPath, problemCount(len(ps)), ps[0], cfgPath)
				} else {
					fmt.Fprintf(out, "configuration: %v\n", err)
				}
			}
			return printAgentStatus(cmd.Context(), out, cfg.HTTP.Listen)
		})
	return []*cobra.Command{install, uninstall, start, stop, status, unitCmd()}
}

// unitCmd prints the systemd unit for the given paths without installing
// it: the Debian package is built with its output, so that the package and
// `borderpost install` run the agent under the same unit.
func unitCmd() *cobra.Command {
	var exe, cfgPath, dataDir string
	c := &cobra.Command{
		Use:   "unit",
		Short: "Print the systemd unit the agent runs under (the Debian package ships this one)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := serviceConfig(exe, cfgPath, dataDir)
			if err != nil {
				return err
			}
			_, err = io.WriteString(cmd.OutOrStdout(), renderUnit(sc))
			return err
		},
	}
	c.Flags().StringVar(&exe, "executable", "/usr/bin/borderpost", "path of the agent's binary")
	configFlag(c, &cfgPath, "configuration file the service runs with")
	c.Flags().StringVar(&dataDir, "data-dir", "/var/lib/borderpost", "the replica's folder: the only one the agent may write")
	return c
}

// serviceState words the service manager's answer for a technician.
// installed says whether a unit or init script for the agent exists: some
// service managers (sysv's `service`, systemctl without systemd running)
// answer a plain failure for a service they do not know.
func serviceState(s service.Status, err error, installed bool) string {
	switch {
	case errors.Is(err, service.ErrNotInstalled), err != nil && !installed:
		return "not installed as a service (`borderpost install`, or the Debian package, installs it)"
	case err != nil:
		return fmt.Sprintf("state unknown: the service manager answered %v; see `systemctl status %s`", err, serviceName)
	case s == service.StatusRunning:
		return "running"
	case s == service.StatusStopped:
		return "stopped (`borderpost start` starts it)"
	default:
		return "state unknown"
	}
}

// unitInstalled reports whether a service definition for the agent exists
// where systemd, sysv init or the Debian package put one. On Windows the
// service manager's own answer is taken as it is.
func unitInstalled() bool {
	if runtime.GOOS == "windows" {
		return true
	}
	for _, p := range []string{"/etc/systemd/system/", "/lib/systemd/system/", "/usr/lib/systemd/system/", "/etc/init.d/"} {
		name := serviceName
		if !strings.HasSuffix(p, "init.d/") {
			name += ".service"
		}
		if _, err := os.Stat(p + name); err == nil {
			return true
		}
	}
	return false
}

// printAgentStatus asks the agent at listen for its status and prints the
// parts a technician acts on. An agent that does not answer is reported
// and is an error (errNotAnswering), so that scripts and monitoring see a
// non-zero exit.
func printAgentStatus(ctx context.Context, w io.Writer, listen string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/v1/status", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(w, "agent: not answering on %s\n", listen)
		return fmt.Errorf("%w on %s: start it with `borderpost start` (service) or `borderpost run --config FILE`", errNotAnswering, listen)
	}
	defer resp.Body.Close()
	var st struct {
		Ready  bool   `json:"ready"`
		Link   string `json:"link"`
		Alerts int    `json:"alerts"`
		Outbox int    `json:"outbox_depth"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil {
		return fmt.Errorf("agent status on %s: %w", listen, err)
	}
	fmt.Fprintf(w, "agent: ready=%t link=%s alerts=%d unsent_hits=%d\n", st.Ready, st.Link, st.Alerts, st.Outbox)
	return nil
}
