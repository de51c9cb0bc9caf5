// Package synctest starts real MQTT brokers for tests and benchmarks, the
// way net/http/httptest starts servers: a Mosquitto or nats-server child
// process on a free loopback port, with persistence on, that a test can
// kill with SIGKILL and start again on the same port and state to simulate
// a broker crash; and a proxy that cuts links like a pulled cable.
//
// It never binds anything but 127.0.0.1, and it never skips a test when
// the broker is missing: it fails and says how to install it.
package synctest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Mosquitto is a running broker.
type Mosquitto struct {
	Port int
	Dir  string
	bin  string
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

// mosquittoConf is the configuration of ../testdata/mosquitto.conf with
// the port and directory filled in: persistence saved every second and on
// every change, since the tests kill the broker; TCP_NODELAY as the
// shipped configuration sets it.
const mosquittoConf = `listener %d 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
persistence true
persistence_location %s/
autosave_interval 1
autosave_on_changes true
max_queued_messages 1000000
log_type error
log_type warning
log_type notice
connection_messages true
`

// MosquittoOptions adjust a broker started by RunMosquitto.
type MosquittoOptions struct {
	// Extra lines extend the listener's configuration and switch off
	// anonymous access.
	Extra string
	// Lazy saves the broker's state every 10 s, as a production broker
	// does, instead of on every change as the crash tests need; benchmarks
	// set it so that the broker's disk writes do not set the pace.
	Lazy bool
}

// RunMosquitto starts a broker on port (0: a free one) with its state in
// dir. The caller must Kill it.
func RunMosquitto(dir string, port int, o MosquittoOptions) (*Mosquitto, error) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("mosquitto is not installed: run `make test` as root (it installs the Debian package) or `apt-get install mosquitto`")
		}
	}
	if port == 0 {
		if port, err = PickPort(); err != nil {
			return nil, err
		}
	}
	m := &Mosquitto{Port: port, Dir: dir, bin: bin}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(mosquittoConf, port, filepath.Join(dir, "data"))
	if o.Extra != "" {
		conf = strings.Replace(conf, "allow_anonymous true\n", "allow_anonymous false\n"+o.Extra, 1)
	}
	if o.Lazy {
		conf = strings.Replace(conf, "autosave_interval 1\nautosave_on_changes true\n", "autosave_interval 10\n", 1)
	}
	if os.Geteuid() == 0 {
		conf += "user root\n" // as root it would otherwise drop to the mosquitto user
	}
	if err := os.WriteFile(filepath.Join(dir, "mosquitto.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return m, m.start()
}

func (m *Mosquitto) start() error {
	m.log = new(bytes.Buffer)
	m.cmd = exec.Command(m.bin, "-c", filepath.Join(m.Dir, "mosquitto.conf"))
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	if err := m.cmd.Start(); err != nil {
		return fmt.Errorf("start mosquitto: %w", err)
	}
	return waitListening(m.Addr(), 10*time.Second)
}

// StartMosquitto starts a broker on a free loopback port and stops it when
// the test ends.
func StartMosquitto(t testing.TB) *Mosquitto { return startMosquitto(t, "") }

// StartMosquittoTLS starts a broker that requires TLS client certificates
// issued by pki, takes each client's certificate common name as its user
// name, and enforces the ACL file at aclFile.
func StartMosquittoTLS(t testing.TB, pki *PKI, aclFile string) *Mosquitto {
	t.Helper()
	cert, key := pki.Server()
	return startMosquitto(t, fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\nuse_identity_as_username true\nacl_file %s\n",
		pki.CAFile, cert, key, aclFile))
}

func startMosquitto(t testing.TB, extra string) *Mosquitto {
	t.Helper()
	m, err := RunMosquitto(t.TempDir(), 0, MosquittoOptions{Extra: extra})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Kill()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", m.log.String())
		}
	})
	return m
}

// Addr is the broker's host:port.
func (m *Mosquitto) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.Port)) }

// URL is the broker's address as paho takes it.
func (m *Mosquitto) URL() string { return "tcp://" + m.Addr() }

// Kill stops the broker with SIGKILL, as a crash or power cut would.
func (m *Mosquitto) Kill() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGKILL)
	m.cmd.Wait()
	m.cmd = nil
}

// Restart starts the broker again on the same port and state directory.
// It panics if the broker does not come back, which ends the test.
func (m *Mosquitto) Restart() {
	m.Kill()
	if err := m.start(); err != nil {
		panic(fmt.Sprintf("restart mosquitto: %v\n%s", err, m.log.String()))
	}
}

// WaitListening waits until addr accepts TCP connections.
func WaitListening(t testing.TB, addr string, within time.Duration) {
	t.Helper()
	if err := waitListening(addr, within); err != nil {
		t.Fatal(err)
	}
}

func waitListening(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %s: %w", addr, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
