package synctest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// NATSCluster is three nats-server nodes routed to one another on
// loopback, with clustered JetStream (each node its own store directory)
// and an MQTT listener on each: what a central deployment runs when one
// Mosquitto is not enough. MQTT sessions, queued messages and retained
// messages live in JetStream streams replicated to all three nodes, so a
// client may connect to any node and one node may die.
type NATSCluster struct {
	Nodes []*NATSNode
}

// NATSNode is one node of a NATSCluster. It implements Broker: Kill
// SIGKILLs it, Restart starts it again on the same ports and store.
type NATSNode struct {
	Name    string
	Port    int // MQTT
	Dir     string
	bin     string
	monitor int
	t       testing.TB // nil outside tests

	mu  sync.Mutex
	cmd *exec.Cmd
	log *syncBuffer
}

// syncBuffer is a bytes.Buffer the server's output goroutine writes while
// a test may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// natsClusterConf is one node's configuration. stream_replicas: 3 keeps
// the MQTT streams (sessions, messages, retained) on every node, as
// docs/protocol.md asks of a cluster. ack_wait is how long a QoS 1
// message delivered to a connection that died is held before it goes out
// again, to the session's next connection: the default of 30 s would set
// how long agents behind a killed node wait for a delta. max_payload
// admits a delta of 10,000 operations in one message (the default is 1 MB).
const natsClusterConf = `server_name: %s
listen: 127.0.0.1:%d
max_payload: 8MB
http: 127.0.0.1:%d
jetstream { store_dir: "%s" }
cluster {
  name: borderpost
  listen: 127.0.0.1:%d
  routes: [%s]
}
mqtt { listen: 127.0.0.1:%d, stream_replicas: 3, ack_wait: "%s"%s }
`

// NATSClusterOptions adjust a cluster started by RunNATSClusterWith.
type NATSClusterOptions struct {
	// AckWait is how long a QoS 1 message delivered and not acknowledged
	// waits before it goes out again; default 5s (see natsClusterConf).
	// A fleet of agents sharing two cores takes longer than that to
	// apply a large delta each: the broker would send it again and again
	// to the agents still waiting their turn.
	AckWait time.Duration
	// ConsumerReplicas, if set, is the mqtt block's consumer_replicas:
	// the replicas of the JetStream consumer NATS keeps for each QoS 1
	// subscription of each session (default: the streams', 3). With 1 a
	// consumer is no Raft group of its own; see docs/protocol.md for what
	// that trades.
	ConsumerReplicas int
}

// StartNATSCluster starts a three-node cluster for a test, waits until
// JetStream is healthy on every node, and stops it when the test ends.
func StartNATSCluster(t testing.TB) *NATSCluster {
	t.Helper()
	c, err := RunNATSCluster(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		n.t = t
	}
	t.Cleanup(func() {
		c.Kill()
		if t.Failed() {
			for _, n := range c.Nodes {
				t.Logf("nats-server %s log (last 4 KiB):\n%s", n.Name, lastBytes(n.logText(), 4096))
			}
		}
	})
	return c
}

// RunNATSCluster starts a three-node cluster with its state under dir
// and waits until JetStream is healthy on every node. Kill it when done.
func RunNATSCluster(dir string) (*NATSCluster, error) {
	return RunNATSClusterWith(dir, NATSClusterOptions{})
}

// RunNATSClusterWith is RunNATSCluster with options.
func RunNATSClusterWith(dir string, o NATSClusterOptions) (*NATSCluster, error) {
	if o.AckWait <= 0 {
		o.AckWait = 5 * time.Second
	}
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		bin = "/usr/sbin/nats-server"
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("nats-server is not installed: run `make test-deps` as root or `apt-get install nats-server`")
		}
	}
	const size = 3
	ports := make([][4]int, size) // client, monitor, route, MQTT
	var routes []string
	for i := range ports {
		for j := range ports[i] {
			p, err := PickPort()
			if err != nil {
				return nil, err
			}
			ports[i][j] = p
		}
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[i][2]))
	}
	extra := ""
	if o.ConsumerReplicas > 0 {
		extra = fmt.Sprintf(", consumer_replicas: %d", o.ConsumerReplicas)
	}
	c := &NATSCluster{}
	for i, p := range ports {
		n := &NATSNode{Name: fmt.Sprintf("n%d", i+1), Port: p[3], Dir: filepath.Join(dir, fmt.Sprintf("n%d", i+1)), bin: bin, monitor: p[1]}
		if err := os.MkdirAll(n.Dir, 0o700); err != nil {
			return nil, err
		}
		conf := fmt.Sprintf(natsClusterConf, n.Name, p[0], p[1], filepath.Join(n.Dir, "js"), p[2], strings.Join(routes, ", "), p[3], o.AckWait, extra)
		if err := os.WriteFile(filepath.Join(n.Dir, "nats.conf"), []byte(conf), 0o644); err != nil {
			return nil, err
		}
		c.Nodes = append(c.Nodes, n)
	}
	// All nodes first: a node's MQTT listener waits for JetStream, which
	// waits for a quorum of nodes.
	for _, n := range c.Nodes {
		if err := n.launch(); err != nil {
			c.Kill()
			return nil, err
		}
	}
	for _, n := range c.Nodes {
		if err := waitListening(n.Addr(), 60*time.Second); err != nil {
			c.Kill()
			return nil, fmt.Errorf("nats-server %s: %w\n%s", n.Name, err, lastBytes(n.logText(), 2048))
		}
	}
	if err := c.WaitHealthy(60 * time.Second); err != nil {
		c.Kill()
		return nil, err
	}
	return c, nil
}

// WaitHealthy waits until every running node reports JetStream healthy
// (its /healthz), which is when MQTT clients can keep sessions on it.
func (c *NATSCluster) WaitHealthy(within time.Duration) error {
	for _, n := range c.Nodes {
		if err := n.waitHealthy(within, ""); err != nil {
			return err
		}
	}
	return nil
}

// Kill SIGKILLs every node.
func (c *NATSCluster) Kill() {
	for _, n := range c.Nodes {
		n.Kill()
	}
}

// URLs are the nodes' MQTT listeners as paho takes them.
func (c *NATSCluster) URLs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.URL())
	}
	return out
}

// start launches the node and waits for its MQTT listener.
func (n *NATSNode) start() error {
	if err := n.launch(); err != nil {
		return err
	}
	if err := waitListening(n.Addr(), 60*time.Second); err != nil {
		return fmt.Errorf("nats-server %s: %w\n%s", n.Name, err, lastBytes(n.logText(), 2048))
	}
	return nil
}

func (n *NATSNode) launch() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.log = new(syncBuffer)
	n.cmd = exec.Command(n.bin, "-c", filepath.Join(n.Dir, "nats.conf"))
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("start nats-server %s: %w", n.Name, err)
	}
	return nil
}

// waitHealthy waits until the node's /healthz answers 200. query is ""
// for full health (every stream and consumer current) or
// "?js-server-only=true" for a node whose JetStream is running and
// current with the cluster's meta leader.
func (n *NATSNode) waitHealthy(within time.Duration, query string) error {
	deadline := time.Now().Add(within)
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz%s", n.monitor, query)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nats-server %s: JetStream not healthy after %s: %v\n%s", n.Name, within, err, lastBytes(n.logText(), 2048))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (n *NATSNode) logText() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.log == nil {
		return ""
	}
	return n.log.String()
}

// Addr is the node's MQTT listener's host:port.
func (n *NATSNode) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)) }

// URL is the node's MQTT listener as paho takes it.
// MonitorURL is the node's HTTP monitoring address (/varz, /jsz, /connz).
func (n *NATSNode) MonitorURL() string { return fmt.Sprintf("http://127.0.0.1:%d", n.monitor) }

func (n *NATSNode) URL() string { return "tcp://" + n.Addr() }

// Kill stops the node with SIGKILL.
func (n *NATSNode) Kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGKILL)
	n.cmd.Wait()
	n.cmd = nil
}

// Restart starts the node again on the same ports and JetStream store and
// waits until its JetStream is running and current with the cluster's
// meta leader; in a test, a failure fails the test. It does not wait for
// full health: on nats-server 2.9 the replica of a consumer whose MQTT
// session moved while the node was down can stay "not current" for
// minutes (seen in CI), though the stream and consumer leaders on the
// other nodes serve every client. Clients do not wait for health either:
// they reconnect as soon as the port answers, and what the tests assert
// is what those clients see.
func (n *NATSNode) Restart() {
	n.Kill()
	err := n.start()
	if err == nil {
		err = n.waitHealthy(60*time.Second, "?js-server-only=true")
	}
	if err != nil && n.t != nil {
		n.t.Fatalf("restart nats-server %s: %v", n.Name, err)
	}
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
