package tpm

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// swtpm is a software TPM child process serving one state directory.
type swtpm struct {
	t        testing.TB
	stateDir string
	port     int // command port; the control port is port+1
	cmd      *exec.Cmd
	exited   chan struct{}
}

// startSwtpm starts a fresh swtpm with its own state directory and stops it
// at cleanup. A missing swtpm fails the test: the TPM code is only proven
// against a TPM.
func startSwtpm(t testing.TB) *swtpm {
	t.Helper()
	if _, err := exec.LookPath("swtpm"); err != nil {
		t.Fatalf("swtpm not found in PATH (%v): run `make test` as root, which installs the Debian packages swtpm and swtpm-tools", err)
	}
	s := &swtpm{t: t, stateDir: filepath.Join(t.TempDir(), "state")}
	if err := os.Mkdir(s.stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	s.start()
	t.Cleanup(s.kill)
	return s
}

// config returns a Config for this swtpm bound to pcrs in the sha256 bank.
func (s *swtpm) config(pcrs ...int) Config {
	return Config{
		Address:         net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		PlatformAddress: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port+1)),
		PCRs:            pcrs,
		Bank:            "sha256",
	}
}

// start launches swtpm on two free loopback ports and waits until the
// command port accepts. Another process may grab a probed port first, so it
// retries with new ports.
func (s *swtpm) start() {
	s.t.Helper()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePortPair()
		if err != nil {
			lastErr = err
			continue
		}
		cmd := exec.Command("swtpm", "socket", "--tpm2",
			"--tpmstate", "dir="+s.stateDir,
			"--server", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port),
			"--ctrl", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", port+1),
			"--flags", "not-need-init,startup-clear")
		stderr := &limitedBuffer{max: 4096}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			s.t.Fatalf("start swtpm: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		if err := waitAccepting(port, exited); err != nil {
			cmd.Process.Kill()
			<-exited
			lastErr = fmt.Errorf("%w; swtpm stderr: %s", err, stderr.buf)
			continue
		}
		s.port, s.cmd, s.exited = port, cmd, exited
		return
	}
	s.t.Fatalf("swtpm did not start: %v", lastErr)
}

// kill stops swtpm with SIGKILL, as a power cut would.
func (s *swtpm) kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// restart kills swtpm and starts it again on the same state directory.
func (s *swtpm) restart() {
	s.kill()
	s.start()
}

// freePortPair returns a port P such that P and P+1 were both free.
func freePortPair() (int, error) {
	for i := 0; i < 20; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port >= 65535 {
			continue
		}
		l2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1)))
		if err != nil {
			continue
		}
		l2.Close()
		return port, nil
	}
	return 0, errors.New("no pair of free loopback ports")
}

// waitAccepting polls the command port until it accepts a connection, the
// process exits, or 10 s pass (a start-up guard, not a timing assertion).
func waitAccepting(port int, exited <-chan struct{}) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			return errors.New("swtpm exited during start-up")
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("swtpm not accepting on %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf []byte
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
