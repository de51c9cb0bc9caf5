package sync

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/borderpost/borderpost/sync/synctest"
)

// startShippedMosquitto runs configs/mosquitto/mosquitto.conf with the
// shipped ACL: every setting as shipped but the listener, the paths and
// persistence, which the test owns.
func startShippedMosquitto(t *testing.T, pki *synctest.PKI) *synctest.Mosquitto {
	t.Helper()
	f, err := os.Open("../configs/mosquitto/mosquitto.conf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	acl, err := filepath.Abs("../configs/mosquitto/acl")
	if err != nil {
		t.Fatal(err)
	}
	cert, key := pki.Server()
	extra := fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\nacl_file %s\n", pki.CAFile, cert, key, acl)
	owned := map[string]bool{"listener": true, "cafile": true, "certfile": true, "keyfile": true, "acl_file": true,
		"persistence": true, "persistence_location": true, "autosave_interval": true, "autosave_on_changes": true,
		"allow_anonymous": true, "per_listener_settings": true, "max_queued_messages": true}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || owned[strings.Fields(line)[0]] {
			continue
		}
		extra += line + "\n"
	}
	m, err := synctest.RunMosquitto(t.TempDir(), 0, synctest.MosquittoOptions{Extra: extra})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Kill)
	return m
}

// watched connects like client, and counts the times the connection is
// lost.
func watched(t *testing.T, broker, id string, tc *tls.Config, lost chan<- string) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetTLSConfig(tc).SetCleanSession(false).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { lost <- fmt.Sprintf("%s: %v", id, err) })
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: connect: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// On the shipped broker configuration the client ID is the certificate's
// identity: agent B, presenting its own certificate and agent A's client
// ID, does not take A's place; A stays connected and still receives what
// central sends it.
func TestShippedBrokerTiesClientIDToCertificate(t *testing.T) {
	pki := synctest.NewPKI(t)
	broker := startShippedMosquitto(t, pki)
	url := "ssl://" + broker.Addr()
	lost := make(chan string, 4)

	central, err := client(t, url, "central", pki.ClientTLS("central"))
	if err != nil {
		t.Fatalf("central: %v", err)
	}
	aIn := &inbox{got: map[string]int{}}
	a := watched(t, url, "post-a", pki.ClientTLS("post-a"), lost)
	a.Subscribe(AgentTopic("post-a", "acks"), 1, aIn.handler).Wait()

	// B connects with A's client ID, its own certificate.
	watched(t, url, "post-a", pki.ClientTLS("post-b"), lost)
	time.Sleep(300 * time.Millisecond) // a takeover disconnects A at once
	select {
	case why := <-lost:
		t.Fatalf("a connection was taken over: %s", why)
	default:
	}
	if !a.IsConnectionOpen() {
		t.Fatal("agent A is no longer connected")
	}
	central.Publish(AgentTopic("post-a", "acks"), 1, false, []byte(`{"upto":1}`)).Wait()
	for deadline := time.Now().Add(5 * time.Second); aIn.count(AgentTopic("post-a", "acks")) < 1 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if aIn.count(AgentTopic("post-a", "acks")) != 1 {
		t.Error("agent A did not get its acknowledgement after B connected with its client ID")
	}
}

// The shipped broker forwards no oversized PUBLISH: a 50 MB message from
// central never reaches the agent, which goes on receiving normal ones.
func TestShippedBrokerDropsOversizedMessages(t *testing.T) {
	pki := synctest.NewPKI(t)
	broker := startShippedMosquitto(t, pki)
	url := "ssl://" + broker.Addr()
	aIn := &inbox{got: map[string]int{}}
	var biggest atomic.Int64
	a, err := client(t, url, "post-a", pki.ClientTLS("post-a"))
	if err != nil {
		t.Fatalf("agent A: %v", err)
	}
	a.Subscribe(AgentTopic("post-a", "acks"), 1, func(c mqtt.Client, m mqtt.Message) {
		if n := int64(len(m.Payload())); n > biggest.Load() {
			biggest.Store(n)
		}
		aIn.handler(c, m)
	}).Wait()
	for _, size := range []int{20 << 20, 50 << 20} {
		central, err := client(t, url, "central", pki.ClientTLS("central"))
		if err != nil {
			t.Fatalf("central: %v", err)
		}
		central.Publish(AgentTopic("post-a", "acks"), 1, false, bytes.Repeat([]byte{'x'}, size)).WaitTimeout(10 * time.Second)
		central.Disconnect(100)
	}
	central, err := client(t, url, "central", pki.ClientTLS("central"))
	if err != nil {
		t.Fatalf("central: %v", err)
	}
	central.Publish(AgentTopic("post-a", "acks"), 1, false, []byte(`{"upto":1}`)).Wait()
	for deadline := time.Now().Add(5 * time.Second); aIn.count(AgentTopic("post-a", "acks")) < 1 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if n := aIn.count(AgentTopic("post-a", "acks")); n != 1 || biggest.Load() > 1<<10 {
		t.Errorf("agent got %d messages, the largest %d bytes; want only the small one", n, biggest.Load())
	}
}
