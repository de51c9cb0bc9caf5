package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/borderpost/borderpost/store"
)

// writeDevFiles writes what a development configuration names (data key,
// central's public keys) into dir and returns a configuration naming them,
// with extra appended.
func writeDevFiles(t *testing.T, dir, extra string) string {
	t.Helper()
	key := filepath.Join(dir, "data.key")
	if err := store.WriteKeyFile(key); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"central.pub", "hits.pub"} {
		os.WriteFile(filepath.Join(dir, f), []byte("placeholder\n"), 0o644)
	}
	cfg := filepath.Join(dir, "agent.yaml")
	src := fmt.Sprintf("agent: {id: post-cli}\nstore: {path: %s, key: {file: %s}}\nmqtt: {broker: tcp://127.0.0.1:1883}\ntrust: {central_keys: [%s]}\nsync: {central_hit_key: %s}\n%s",
		filepath.Join(dir, "replica.db"), key, filepath.Join(dir, "central.pub"), filepath.Join(dir, "hits.pub"), extra)
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// `config check` finds what `run` would trip on, not only what the YAML
// says: the unedited example names files this machine does not have, and
// a certificate for a broker without TLS. It counts its problems in
// words, "1 problem" in the singular; `run` stops on the same list.
func TestConfigCheckFindsWhatRunMeets(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile("../configs/agent.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(dir, "agent.yaml")
	os.WriteFile(copied, example, 0o600)
	out, err := runRoot(t, "", "config", "check", copied)
	if err == nil || strings.Contains(out, ": ok") {
		t.Fatalf("the unedited example checked ok on a machine without its files:\n%s", out)
	}
	for _, want := range []string{"line 23: store.key.file: /etc/borderpost/dev-data.key does not exist", "line 49: mqtt.ca: /etc/borderpost/ca.pem does not exist"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check does not say %q:\n%s", want, out)
		}
	}

	cfg := writeDevFiles(t, dir, "")
	src, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(src), "tcp://127.0.0.1:1883", "tcp://127.0.0.1:1883, ca: "+filepath.Join(dir, "hits.pub"), 1)), 0o600)
	out, err = runRoot(t, "", "config", "check", cfg)
	if err == nil || !strings.Contains(err.Error(), ": 1 problem; fix it") || !strings.Contains(out, "mqtt.ca: set, but mqtt.broker is tcp:// (no TLS)") {
		t.Errorf("a CA for a tcp:// broker: %v\n%s", err, out)
	}
	runOut, runErr := runRoot(t, "", "run", "--config", cfg)
	if runErr == nil || runErr.Error() != err.Error() || runOut != out {
		t.Errorf("run does not stop on the problems config check finds:\nrun:   %v\n%s\ncheck: %v\n%s", runErr, runOut, err, out)
	}

	os.Chmod(filepath.Join(dir, "data.key"), 0o640)
	cfg = writeDevFiles(t, t.TempDir(), "")
	os.Chmod(filepath.Join(filepath.Dir(cfg), "data.key"), 0o640)
	out, err = runRoot(t, "", "config", "check", cfg)
	if err == nil || !strings.Contains(out, "has mode 0640") {
		t.Errorf("a data key others can read: %v\n%s", err, out)
	}
	os.Chmod(filepath.Join(filepath.Dir(cfg), "data.key"), 0o600)
	if out, err := runRoot(t, "", "config", "check", cfg); err != nil || !strings.HasSuffix(out, ": ok\n") {
		t.Errorf("a good configuration: %v\n%s", err, out)
	}
}

// `status` exits non-zero when the agent does not answer, says the agent
// is not installed as a service (rather than the service manager's exit
// status), and names a configuration problem.
func TestStatusWhenAgentSilent(t *testing.T) {
	if unitInstalled() {
		t.Fatal("this machine has a borderpost service installed; the test needs one without")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing answers there now
	dir := t.TempDir()
	cfg := writeDevFiles(t, dir, "http: {listen: "+addr+"}\n")
	os.Remove(filepath.Join(dir, "hits.pub"))
	out, err := runRoot(t, "", "status", "--config", cfg)
	if err == nil {
		t.Errorf("status exits 0 though the agent does not answer:\n%s", out)
	}
	for _, want := range []string{
		"service: not installed as a service",
		"configuration: " + cfg + ": 1 problem, the first line 5: sync.central_hit_key: " + filepath.Join(dir, "hits.pub") + " does not exist",
		"agent: not answering on " + addr,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "exit status") {
		t.Errorf("status shows the service manager's exit status:\n%s", out)
	}
}

// After `replica import` of a file that gives no position in central's
// stream, the technician learns that a snapshot from central is still
// needed before deltas apply; the development-key warning is the running
// agent's, not repeated by this offline command.
func TestReplicaImportSaysWhatIsStillNeeded(t *testing.T) {
	dir := t.TempDir()
	cfg := writeDevFiles(t, dir, "")
	alerts := filepath.Join(dir, "alerts.jsonl")
	a := store.Alert{ID: "CAR", Version: 1, Action: "discreet check", Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "MAB1234", PlateCountry: "DE"}}}
	line, _ := json.Marshal(a)
	os.WriteFile(alerts, append(line, '\n'), 0o600)
	out, err := runRoot(t, "", "replica", "import", "--config", cfg, "--file", alerts)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if !strings.Contains(out, "still needs a snapshot from central before any delta applies") {
		t.Errorf("import does not say a snapshot is still needed:\n%s", out)
	}
	if strings.Contains(out, "DEVELOPMENT KEY") {
		t.Errorf("an offline command repeats the running agent's development-key warning:\n%s", out)
	}
	var hash [32]byte
	hash[0] = 1
	if s := importNextStep(store.Cursor{Epoch: 3, Seq: 41, Hash: hash}); !strings.Contains(s, "epoch 3, sequence 42 on") {
		t.Errorf("a positioned import: %q", s)
	}
}

// No flag's help is mangled: the flag library takes a back-quoted word in
// a usage string for the value's name.
func TestFlagHelpRendersAsWritten(t *testing.T) {
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if strings.Contains(f.Usage, "`") {
				t.Errorf("%s --%s: usage %q has back quotes, shown as the value's name", c.CommandPath(), f.Name, f.Usage)
			}
		})
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(newRoot())
}

// The manual page lists every command with its flags and is valid man(7)
// input: groff reports no warning on it.
func TestManPage(t *testing.T) {
	var page strings.Builder
	if err := writeManPage(&page, newRoot(), "1.2.3", "2026-12-01T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	text := page.String()
	for _, want := range []string{".TH BORDERPOST 1 \"2026-12-01\" \"borderpost 1.2.3\"", "borderpost \\- watch\\-list agent",
		".SS \"borderpost config check FILE\"", ".SS \"borderpost status\"", ".SS \"borderpost replica import\"", "\\fB\\-\\-key\\-file\\fR"} {
		if !strings.Contains(text, want) {
			t.Errorf("manual page lacks %q", want)
		}
	}
	if strings.Contains(text, ".SS \"borderpost man\"") {
		t.Error("the manual lists the hidden man command")
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Fatal("groff not installed (Debian: groff-base; make test-deps installs it)")
	}
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff: %v\n%s", err, out)
	}
}
