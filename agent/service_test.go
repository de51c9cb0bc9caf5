package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/agent/config"
	"github.com/borderpost/borderpost/agent/post"
	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// unitLines parses a unit file into key → values in order, per section
// ignored (every key we check is unique to its section).
func unitLines(unit string) map[string][]string {
	m := make(map[string][]string)
	for _, l := range strings.Split(unit, "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok || strings.HasPrefix(l, "#") {
			continue
		}
		m[k] = append(m[k], v)
	}
	return m
}

func packagedUnit(t *testing.T) (string, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	sc, err := serviceConfig(exe, "/etc/borderpost/agent.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	return renderUnit(sc), data
}

// TestSystemdUnitVerifies renders the unit and has systemd check it: any
// output of `systemd-analyze verify` (it exits 0 on warnings) fails.
func TestSystemdUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze not found: apt-get install systemd")
		}
		t.Skip("systemd-analyze not found (apt-get install systemd); the unit is not verified")
	}
	unit, _ := packagedUnit(t)
	path := filepath.Join(t.TempDir(), serviceName+".service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s\nunit:\n%s", err, out, unit)
	}
}

// TestSystemdUnitContract checks the settings issue 7 asks for, and that
// none of kardianos/service's defaults (restart always after 120 s,
// /etc/sysconfig) leaked in.
func TestSystemdUnitContract(t *testing.T) {
	unit, data := packagedUnit(t)
	m := unitLines(unit)
	exe, _ := os.Executable()
	want := map[string]string{
		"Restart":         "on-failure",
		"After":           "network-online.target",
		"Wants":           "network-online.target",
		"User":            serviceUser,
		"Group":           serviceUser,
		"NoNewPrivileges": "yes",
		"ProtectSystem":   "strict",
		"ReadWritePaths":  data,
		"ExecStart":       exe + " run --config /etc/borderpost/agent.yaml",
		"WantedBy":        "multi-user.target",
	}
	for k, v := range want {
		if got := m[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want exactly %q", k, got, v)
		}
	}
	for _, k := range []string{"EnvironmentFile", "PrivateDevices", "RestartSec=120"} {
		if strings.Contains(unit, k) {
			t.Errorf("unit holds %s", k)
		}
	}
	if strings.Contains(unit, "{{") {
		t.Errorf("unrendered template left in the unit:\n%s", unit)
	}
}

func TestServiceConfigRefusesUnsafePaths(t *testing.T) {
	for _, p := range []string{"relative/borderpost", "/opt/border post/bin", "/opt/%n", "/opt/$HOME", `/opt/a"b`} {
		if _, err := serviceConfig(p, "/etc/borderpost/agent.yaml", "/var/lib/borderpost"); !errors.Is(err, errUnitPath) {
			t.Errorf("serviceConfig(%q) = %v, want errUnitPath", p, err)
		}
	}
}

// TestAgentProgramStartReturnsAtOnce: Start must not wait for the agent
// (it blocks until cancelled), Stop cancels it and returns only once the
// agent's shutdown work is done.
func TestAgentProgramStartReturnsAtOnce(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	flushed := false
	p := &agentProgram{run: func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		<-release // shutdown work the test controls
		flushed = true
		return nil
	}}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	<-started // Start returned while run is still blocked in ctx.Done
	if err := p.Start(nil); !errors.Is(err, errAlreadyStarted) {
		t.Errorf("second Start = %v", err)
	}
	stopped := make(chan error)
	go func() { stopped <- p.Stop(nil) }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) before the agent's shutdown finished", err)
	case <-p.Done():
		t.Fatal("agent ended before its shutdown was released")
	default:
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if !flushed {
		t.Error("Stop returned before the agent's shutdown ran")
	}
}

// An agent that ends on its own (cannot start, listener fails) is reported
// through exited, so a service manager can restart it, and Stop returns
// its error.
func TestAgentProgramReportsOwnExit(t *testing.T) {
	boom := errors.New("listen: address in use")
	got := make(chan error, 1)
	p := &agentProgram{run: func(context.Context) error { return boom }, exited: func(err error) { got <- err }}
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, boom) {
		t.Errorf("exited with %v", err)
	}
	if err := p.Stop(nil); !errors.Is(err, boom) {
		t.Errorf("Stop = %v, want the agent's error", err)
	}
}

// Under the journal the logger leaves the time out (journald stamps each
// line); elsewhere it keeps it.
func TestAgentLoggerUnderJournal(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		for _, journal := range []bool{true, false} {
			var b bytes.Buffer
			newAgentLogger(&b, config.Log{Level: "info", Format: format}, journal).Info("agent ready", "agent", "post-1")
			line := b.String()
			hasTime := strings.Contains(line, `"time":`) || strings.HasPrefix(line, "time=")
			if hasTime == journal {
				t.Errorf("format %s, journal %t: %q", format, journal, line)
			}
			if !strings.Contains(line, "agent ready") {
				t.Errorf("format %s: message lost: %q", format, line)
			}
		}
	}
}

// TestRunForegroundGracefulStop runs the real agent through the service
// wrapper against a real broker, records a check, stops it as systemd
// would (context end standing for SIGTERM), and checks the shutdown was
// clean: the replica is released, the check is on disk and the audit log
// holds the start and the stop.
func TestRunForegroundGracefulStop(t *testing.T) {
	broker := synctest.StartMosquitto(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "data.key")
	if err := store.WriteKeyFile(key); err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	pubPath := filepath.Join(dir, "central.pub")
	os.WriteFile(pubPath, []byte(base64.StdEncoding.EncodeToString(pub)+"\n"), 0o644)
	hk, _ := bpsync.GenerateHitKey()
	hitPath := filepath.Join(dir, "central-hits.pub")
	os.WriteFile(hitPath, []byte(hk.Public().String()+"\n"), 0o644)
	port := synctest.FreePort(t)
	cfgText := fmt.Sprintf("agent: {id: post-svc-01, post: test}\nstore: {path: %s, key: {file: %s}}\nmqtt: {broker: %s, keepalive: 2s}\n"+
		"trust: {central_keys: [%s]}\nhttp: {listen: 127.0.0.1:%d}\nmetrics: {listen: \"127.0.0.1:0\"}\nlog: {level: info, format: json}\nsync: {central_hit_key: %s}\n",
		filepath.Join(dir, "replica.db"), key, broker.URL(), pubPath, port, hitPath)
	cfg, err := config.Load(strings.NewReader(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	prg := &agentProgram{run: func(ctx context.Context) error {
		a, err := post.New(ctx, cfg, log)
		if err != nil {
			return err
		}
		return a.Run(ctx)
	}}
	result := make(chan error, 1)
	go func() { result <- runForeground(ctx, prg) }()

	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for {
		select {
		case err := <-result:
			t.Fatalf("agent ended before it was ready: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
	}
	resp, err := http.Post(url+"/v1/scans", "application/json", strings.NewReader(`{"kind":"plate","value":"B123XYZ","country":"DE","device":"gate-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		CheckID string `json:"check_id"`
	}
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scan: %s", resp.Status)
	}

	var printed bytes.Buffer
	if err := printAgentStatus(ctx, &printed, cfg.HTTP.Listen); err != nil || !strings.Contains(printed.String(), "ready=true") {
		t.Errorf("status: %v %q", err, printed.String())
	}

	cancel()
	if err := <-result; err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	rep, err := store.Open(context.Background(), cfg.Store.Path, store.KeyFile{Path: key}, store.Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatalf("replica not released after stop: %v", err)
	}
	defer rep.Close()
	var events []string
	rep.AuditRecords(context.Background(), func(r store.AuditRecord) error { events = append(events, string(r.Event)); return nil })
	joined := strings.Join(events, " ")
	if !strings.Contains(joined, string(store.EventAgentStart)) || !strings.Contains(joined, string(store.EventAgentStop)) {
		t.Errorf("audit events %q lack the agent's start and stop", joined)
	}
	if n, err := rep.VerifyAudit(context.Background()); err != nil || n < 3 {
		t.Errorf("audit log: %d records, %v (want start, check, stop)", n, err)
	}
}
