package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/borderpost/borderpost/agent/config"
)

// openPTY opens a pseudo-terminal pair: what is written to tty a person
// would read on pt.
func openPTY(t *testing.T) (pt, tty *os.File) {
	t.Helper()
	pt, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, pt.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlock pty: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, pt.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("pty number: %v", e)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { tty.Close(); pt.Close() })
	return pt, tty
}

// With format auto (the default) the agent logs readable text to a
// terminal and JSON anywhere else; json and text are taken as written.
func TestAgentLoggerAutoFormat(t *testing.T) {
	pt, tty := openPTY(t)
	newAgentLogger(tty, config.Log{Level: "info", Format: "auto"}, false).Info("agent ready", "agent", "post-1")
	line, err := bufio.NewReader(pt).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(line, "msg=\"agent ready\" agent=post-1") || strings.Contains(line, "{") {
		t.Errorf("auto on a terminal: %q, want slog text", line)
	}

	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	newAgentLogger(f, config.Log{Level: "info", Format: "auto"}, false).Info("agent ready", "agent", "post-1")
	newAgentLogger(tty, config.Log{Level: "info", Format: "auto"}, true).Info("agent ready", "agent", "post-1")
	f.Seek(0, 0)
	b, _ := bufio.NewReader(f).ReadString('\n')
	if !strings.HasPrefix(b, "{") || !strings.Contains(b, `"msg":"agent ready"`) {
		t.Errorf("auto to a file: %q, want JSON", b)
	}
	if line, _ := bufio.NewReader(pt).ReadString('\n'); !strings.HasPrefix(line, "{") {
		t.Errorf("auto under the journal: %q, want JSON", line)
	}
	newAgentLogger(tty, config.Log{Level: "info", Format: "json"}, false).Info("agent ready")
	if line, _ := bufio.NewReader(pt).ReadString('\n'); !strings.HasPrefix(line, "{") {
		t.Errorf("json configured, on a terminal: %q, want JSON", line)
	}
}
