package synctest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Broker is a broker started for a test that can be crashed and restarted.
type Broker interface {
	URL() string  // as paho takes it
	Addr() string // host:port
	Kill()        // SIGKILL
	Restart()     // start again on the same port and state
}

// NATS is a nats-server started for one test, speaking MQTT through its
// JetStream-backed MQTT listener: the clustered broker a central team moves
// to when one Mosquitto is not enough.
type NATS struct {
	Port int
	Dir  string
	bin  string
	t    testing.TB
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

const natsConf = `listen: 127.0.0.1:%d
server_name: bp-test
jetstream { store_dir: "%s" }
mqtt { listen: 127.0.0.1:%d }
`

// StartNATS starts nats-server with JetStream and its MQTT listener on free
// loopback ports, and stops it when the test ends.
func StartNATS(t testing.TB) *NATS {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		bin = "/usr/sbin/nats-server"
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("nats-server is not installed: run `make test` as root (it installs the Debian package) or `apt-get install nats-server`")
		}
	}
	n := &NATS{Port: FreePort(t), Dir: t.TempDir(), bin: bin, t: t}
	conf := fmt.Sprintf(natsConf, FreePort(t), filepath.Join(n.Dir, "js"), n.Port)
	if err := os.WriteFile(filepath.Join(n.Dir, "nats.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.start()
	t.Cleanup(func() {
		n.Kill()
		if t.Failed() {
			t.Logf("nats-server log:\n%s", n.log.String())
		}
	})
	return n
}

func (n *NATS) start() {
	n.t.Helper()
	n.log = new(bytes.Buffer)
	n.cmd = exec.Command(n.bin, "-c", filepath.Join(n.Dir, "nats.conf"))
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		n.t.Fatalf("start nats-server: %v", err)
	}
	WaitListening(n.t, n.Addr(), 20*time.Second)
}

// Addr is the MQTT listener's host:port.
func (n *NATS) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)) }

// URL is the MQTT listener's address as paho takes it.
func (n *NATS) URL() string { return "tcp://" + n.Addr() }

// Kill stops the server with SIGKILL.
func (n *NATS) Kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGKILL)
	n.cmd.Wait()
	n.cmd = nil
}

// Restart starts the server again on the same ports and JetStream store.
func (n *NATS) Restart() {
	n.t.Helper()
	n.Kill()
	n.start()
}
