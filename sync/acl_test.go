package sync

import (
	"crypto/tls"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/borderpost/borderpost/store"
	"github.com/borderpost/borderpost/sync/synctest"
)

// client connects a raw paho client with the given TLS settings; the test
// uses paho directly to see SUBACK codes.
func client(t *testing.T, broker, id string, tc *tls.Config) (mqtt.Client, error) {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetTLSConfig(tc).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatalf("%s: connect timed out", id)
	}
	if tok.Error() == nil {
		t.Cleanup(func() { c.Disconnect(100) })
	}
	return c, tok.Error()
}

type inbox struct {
	mu  gosync.Mutex
	got map[string]int
}

func (b *inbox) handler(_ mqtt.Client, m mqtt.Message) {
	b.mu.Lock()
	b.got[m.Topic()]++
	b.mu.Unlock()
}

func (b *inbox) count(topic string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got[topic]
}

// TestACLKeepsAgentsApart runs the shipped ACL (configs/mosquitto/acl) on a
// TLS broker that names clients by their certificates: agent B can neither
// read agent A's hits and acknowledgements nor publish as agent A.
func TestACLKeepsAgentsApart(t *testing.T) {
	pki := synctest.NewPKI(t)
	acl, err := filepath.Abs("../configs/mosquitto/acl")
	if err != nil {
		t.Fatal(err)
	}
	broker := synctest.StartMosquittoTLS(t, pki, acl)
	url := "ssl://" + broker.Addr()

	centralIn := &inbox{got: map[string]int{}}
	central, err := client(t, url, "central", pki.ClientTLS("central"))
	if err != nil {
		t.Fatalf("central: %v", err)
	}
	central.Subscribe("bp/v1/agents/+/hits", 1, centralIn.handler).Wait()

	aIn, bIn := &inbox{got: map[string]int{}}, &inbox{got: map[string]int{}}
	a, err := client(t, url, "post-a", pki.ClientTLS("post-a"))
	if err != nil {
		t.Fatalf("agent A: %v", err)
	}
	b, err := client(t, url, "post-b", pki.ClientTLS("post-b"))
	if err != nil {
		t.Fatalf("agent B: %v", err)
	}
	a.Subscribe(AgentTopic("post-a", "acks"), 1, aIn.handler).Wait()
	tok := b.SubscribeMultiple(map[string]byte{AgentTopic("post-a", "hits"): 1, AgentTopic("post-a", "acks"): 1}, bIn.handler)
	tok.Wait()
	// Mosquitto 2.0 may grant the subscription (SUBACK 0x01) and enforce
	// read access on delivery instead; either way B must receive nothing.
	for topic, code := range tok.(*mqtt.SubscribeToken).Result() {
		t.Logf("agent B subscribing to %s: SUBACK code %#x", topic, code)
	}

	hit, _ := json.Marshal(HitMessage{Agent: "post-a", Floor: 1, Hits: []store.Hit{{ID: "h1", Seq: 1}}})
	a.Publish(AgentTopic("post-a", "hits"), 1, false, hit).Wait()
	central.Publish(AgentTopic("post-a", "acks"), 1, false, []byte(`{"upto":1}`)).Wait()
	// Agent B tries to pass itself off as agent A.
	b.Publish(AgentTopic("post-a", "hits"), 1, false, hit).Wait()

	deadline := time.Now().Add(5 * time.Second)
	for (centralIn.count(AgentTopic("post-a", "hits")) < 1 || aIn.count(AgentTopic("post-a", "acks")) < 1) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // let anything misrouted arrive
	if n := centralIn.count(AgentTopic("post-a", "hits")); n != 1 {
		t.Errorf("central got %d hits on agent A's topic, want exactly A's one (B's forgery must be dropped)", n)
	}
	if aIn.count(AgentTopic("post-a", "acks")) != 1 {
		t.Error("agent A did not get its acknowledgement")
	}
	if n := bIn.count(AgentTopic("post-a", "hits")) + bIn.count(AgentTopic("post-a", "acks")); n != 0 {
		t.Errorf("agent B read %d of agent A's messages", n)
	}

	// No certificate, no connection.
	if _, err := client(t, url, "intruder", pki.TrustOnly()); err == nil {
		t.Error("a client without a certificate connected")
	}
}

// TestScopeACLKeepsScopesApart runs a generated scope ACL on a TLS broker:
// a road post receives its scope's deltas and none of the postal hub's,
// and it cannot read the whole watch list either.
func TestScopeACLKeepsScopesApart(t *testing.T) {
	pki := synctest.NewPKI(t)
	acl := filepath.Join(t.TempDir(), "acl")
	f, err := os.Create(acl)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteScopeACL(f, map[string][]string{"post-road": {"road"}, "post-postal": {"postal", "customs"}}, []string{"post-old"}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	broker := synctest.StartMosquittoTLS(t, pki, acl)
	url := "ssl://" + broker.Addr()

	central, err := client(t, url, "central", pki.ClientTLS("central"))
	if err != nil {
		t.Fatalf("central: %v", err)
	}
	road, postal, old := &inbox{got: map[string]int{}}, &inbox{got: map[string]int{}}, &inbox{got: map[string]int{}}
	for id, in := range map[string]*inbox{"post-road": road, "post-postal": postal, "post-old": old} {
		c, err := client(t, url, id, pki.ClientTLS(id))
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		c.SubscribeMultiple(map[string]byte{"bp/v1/scopes/#": 1, "bp/v1/watchlist/#": 1}, in.handler).Wait()
	}
	for _, topic := range []string{ScopeTopic("road", "delta"), ScopeTopic("postal", "delta"), ScopeTopic("customs", "delta"), TopicDelta} {
		central.Publish(topic, 1, false, []byte("{}")).Wait()
	}
	deadline := time.Now().Add(5 * time.Second)
	for (road.count(ScopeTopic("road", "delta")) < 1 || postal.count(ScopeTopic("customs", "delta")) < 1 || old.count(TopicDelta) < 1) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // let anything misrouted arrive
	want := map[*inbox]map[string]int{
		road:   {ScopeTopic("road", "delta"): 1},
		postal: {ScopeTopic("postal", "delta"): 1, ScopeTopic("customs", "delta"): 1},
		old:    {TopicDelta: 1},
	}
	for in, w := range want {
		in.mu.Lock()
		got := maps.Clone(in.got)
		in.mu.Unlock()
		if !maps.Equal(got, w) {
			t.Errorf("received %v, want exactly %v", got, w)
		}
	}
}
