package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/borderpost/borderpost/agent/post"
	"github.com/borderpost/borderpost/store"
	"github.com/borderpost/borderpost/sync/synctest"
)

// startSWTPM runs a software TPM on two free loopback ports for the test.
func startSWTPM(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("swtpm")
	if err != nil {
		t.Fatal("swtpm is not installed: run `make test` as root (it installs swtpm and swtpm-tools)")
	}
	state := t.TempDir()
	var port int
	for {
		port = synctest.FreePort(t)
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1)); err == nil {
			ln.Close()
			break
		}
	}
	cmd := exec.Command(bin, "socket", "--tpm2", "--tpmstate", "dir="+state,
		"--server", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port),
		"--ctrl", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port+1),
		"--flags", "not-need-init,startup-clear")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	synctest.WaitListening(t, addr, 10*time.Second)
	return addr
}

func TestTPMKeyInitAndStart(t *testing.T) {
	addr := startSWTPM(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "agent.yaml")
	os.WriteFile(filepath.Join(dir, "central.pub"), []byte("MCowBQYDK2VwAyEA\n"), 0o644)
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`agent: {id: post-tpm}
store:
  path: %s
  key:
    tpm: {address: %q, pcrs: [16]}
mqtt: {broker: tcp://127.0.0.1:1}
trust: {central_keys: [%s]}
sync: {central_hit_key: x}
`, filepath.Join(dir, "replica.db"), addr, filepath.Join(dir, "central.pub"))), 0o600)
	if out, err := runRoot(t, "", "keys", "init", "--config", cfgPath); err != nil || !strings.Contains(out, "sealed a new data key") {
		t.Fatalf("keys init: %v\n%s", err, out)
	}
	if _, err := runRoot(t, "", "keys", "init", "--config", cfgPath); err == nil {
		t.Fatal("keys init replaced an existing sealed key")
	}
	blob := filepath.Join(dir, "replica.db.tpmkey")
	if fi, err := os.Stat(blob); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("sealed blob: %v", err)
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := post.New(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatalf("agent with a TPM-sealed key: %v", err)
	}
	a.Close()
	// Without its sealed key the agent does not start.
	os.Rename(blob, blob+".gone")
	if _, err := post.New(context.Background(), cfg, quiet); err == nil || !errors.Is(err, store.ErrNoKey) {
		t.Fatalf("agent started without its sealed key: %v", err)
	}
}
