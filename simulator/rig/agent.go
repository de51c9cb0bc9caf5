// Package rig wires a border post on loopback for the demo and the
// end-to-end tests: it writes an agent's development keys and
// configuration into a directory, starts the real borderpost binary as a
// child process, waits for it to be ready, reads its status, and stops or
// kills it.
//
// It only ever binds and dials 127.0.0.1, and it writes only inside the
// directory it is given.
package rig

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// AgentOptions describes the agent to start.
type AgentOptions struct {
	Binary     string // path of the borderpost executable
	Dir        string // where its keys, config, replica and log go
	ID         string
	Broker     string
	CentralKey ed25519.PublicKey
	// HitKey is central's hit public key (central.Central.HitPublicKey):
	// the agent seals its hits to it. Required.
	HitKey   *bpsync.HitPublicKey
	LogLevel string    // default info
	Output   io.Writer // the agent's log; default Dir/agent.log
	// Officer, if set, enables the officers' terminal on loopback with
	// this account (role officer), created with `borderpost users add`.
	Officer, OfficerPassword string
	// Scoped sets sync.scoped: the agent waits for central's scope
	// assignment and never follows the whole list.
	Scoped bool
	// Retention sets store.retention (and purges every second): audit
	// records older than it are removed. 0 keeps the default.
	Retention time.Duration
}

// Agent is a running borderpost child process.
type Agent struct {
	Opts AgentOptions
	URL  string // http://127.0.0.1:port
	// TerminalURL is the officers' page, when AgentOptions.Officer is set.
	TerminalURL string
	Config      string // path of the configuration file
	KeyFile     string
	DB          string
	cmd         *exec.Cmd
	exited      chan error
}

// Status is the agent's GET /v1/status answer (the fields the rig reads).
type Status struct {
	Ready    bool   `json:"ready"`
	NotReady string `json:"not_ready"`
	Link     string `json:"link"`
	Connects int64  `json:"connects"`
	Epoch    uint64 `json:"epoch"`
	Seq      uint64 `json:"seq"`
	Digest   string `json:"digest"`
	Alerts   int    `json:"alerts"`
	Checks   int64  `json:"checks"`
	Hits     int64  `json:"hits"`
	Outbox   int    `json:"outbox_depth"`
	Fresh    struct {
		Stale  bool   `json:"stale"`
		Reason string `json:"reason"`
	} `json:"freshness"`
	Scopes []bpsync.ScopeStatus `json:"scopes"`
}

// Prepare writes the agent's development data key (once), central's
// public key and a configuration into o.Dir, and returns the agent ready
// to Start.
func Prepare(o AgentOptions) (*Agent, error) {
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	a := &Agent{Opts: o, Config: filepath.Join(o.Dir, "agent.yaml"), KeyFile: filepath.Join(o.Dir, "data.key"),
		DB: filepath.Join(o.Dir, "replica.db")}
	if _, err := os.Stat(a.KeyFile); os.IsNotExist(err) {
		if err := store.WriteKeyFile(a.KeyFile); err != nil {
			return nil, err
		}
	}
	pub := filepath.Join(o.Dir, "central.pub")
	if err := os.WriteFile(pub, []byte(base64.StdEncoding.EncodeToString(o.CentralKey)+"\n"), 0o644); err != nil {
		return nil, err
	}
	if o.HitKey == nil {
		return nil, fmt.Errorf("rig: no hit key of central given (AgentOptions.HitKey): the agent would not start")
	}
	hitPub := filepath.Join(o.Dir, "central-hits.pub")
	if err := os.WriteFile(hitPub, []byte(o.HitKey.String()+"\n"), 0o644); err != nil {
		return nil, err
	}
	port, err := synctest.PickPort()
	if err != nil {
		return nil, err
	}
	a.URL = "http://127.0.0.1:" + strconv.Itoa(port)
	term := ""
	if o.Officer != "" {
		users := filepath.Join(o.Dir, "users.jsonl")
		add := exec.Command(o.Binary, "users", "add", "--file", users, "--name", o.Officer, "--role", "officer")
		add.Stdin = strings.NewReader(o.OfficerPassword + "\n")
		if out, err := add.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("borderpost users add: %v: %s", err, out)
		}
		tport, err := synctest.PickPort()
		if err != nil {
			return nil, err
		}
		a.TerminalURL = "http://127.0.0.1:" + strconv.Itoa(tport)
		term = fmt.Sprintf("terminal:\n  listen: 127.0.0.1:%d\n  users: %s\n  purposes:\n    officer: [border, police, customs]\n", tport, users)
	}
	cfg := fmt.Sprintf(`agent:
  id: %s
  post: "simulated post"
store:
  path: %s
  key:
    file: %s
mqtt:
  broker: %s
  keepalive: 2s
trust:
  central_keys: [%s]
http:
  listen: 127.0.0.1:%d
metrics:
  listen: 127.0.0.1:%[6]d
sync:
  hit_window: 512
  hit_batch: 32
  resend_after: 3s
  status_every: 1s
  scoped: %v
  central_hit_key: %s
log:
  level: %s
  format: text
devices:
  mrz:
    http: true
`, o.ID, a.DB, a.KeyFile, o.Broker, pub, port, o.Scoped, hitPub, o.LogLevel) + term
	if o.Retention > 0 {
		cfg = strings.Replace(cfg, "store:\n", fmt.Sprintf("store:\n  retention: %s\n  purge_every: 1s\n", o.Retention), 1)
	}
	if err := os.WriteFile(a.Config, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	return a, nil
}

// Start runs the agent and waits until it answers /readyz.
func (a *Agent) Start(ctx context.Context) error { return a.start(ctx, "/readyz") }

// StartServing runs the agent and waits until it answers /healthz: for an
// agent expected to come up not ready (a full disk).
func (a *Agent) StartServing(ctx context.Context) error { return a.start(ctx, "/healthz") }

func (a *Agent) start(ctx context.Context, probe string) error {
	out := a.Opts.Output
	if out == nil {
		f, err := os.OpenFile(filepath.Join(a.Opts.Dir, "agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		out = f
	}
	a.cmd = exec.Command(a.Opts.Binary, "run", "--config", a.Config)
	a.cmd.Stdout, a.cmd.Stderr = out, out
	// If the simulator dies without stopping it (a crash, SIGPIPE), the
	// agent is told to stop rather than left running on its own.
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := a.cmd.Start(); err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	a.exited = make(chan error, 1)
	go func() { a.exited <- a.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-a.exited:
			return fmt.Errorf("agent exited during start: %v (see %s)", err, filepath.Join(a.Opts.Dir, "agent.log"))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if resp, err := http.Get(a.URL + probe); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			a.Kill()
			return fmt.Errorf("agent not ready after 30s")
		}
	}
}

// Status reads the agent's status.
func (a *Agent) Status() (Status, error) {
	var s Status
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(a.URL + "/v1/status")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// Stop asks the agent to shut down (SIGTERM) and waits for it.
func (a *Agent) Stop() error {
	if a.cmd == nil {
		return nil
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-a.exited:
		a.cmd = nil
		return err
	case <-time.After(20 * time.Second):
		a.Kill()
		return fmt.Errorf("agent did not stop within 20s of SIGTERM; killed")
	}
}

// RSS returns the agent process's resident memory in bytes, read from
// /proc (Linux).
func (a *Agent) RSS() (int64, error) {
	if a.cmd == nil || a.cmd.Process == nil {
		return 0, fmt.Errorf("agent not running")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", a.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc status")
}

// Metric reads one unlabelled metric from the agent's /metrics.
func (a *Agent) Metric(name string) (float64, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(a.URL + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			var v float64
			_, err := fmt.Sscan(rest, &v)
			return v, err
		}
	}
	return 0, fmt.Errorf("metric %s not found", name)
}

// Kill stops the agent with SIGKILL, as a crash or power cut would.
func (a *Agent) Kill() {
	if a.cmd == nil {
		return
	}
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	a.cmd = nil
}

// OpenReplica opens the (stopped) agent's replica with its key, for
// inspection.
func (a *Agent) OpenReplica(ctx context.Context) (*store.Replica, error) {
	return store.Open(ctx, a.DB, store.KeyFile{Path: a.KeyFile}, store.Options{LockTimeout: 5 * time.Second})
}

// OpenScope opens the (stopped) agent's replica of one scope, for
// inspection.
func (a *Agent) OpenScope(ctx context.Context, scope string) (*store.Replica, error) {
	return store.Open(ctx, store.ScopePath(a.DB, scope), store.KeyFile{Path: a.KeyFile}, store.Options{LockTimeout: 5 * time.Second})
}

// WaitUntil polls cond every 50 ms until it holds, ctx ends or within
// passes.
func WaitUntil(ctx context.Context, within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
