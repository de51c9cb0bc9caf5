package ens

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/borderpost/borderpost/sync/synctest"
)

// TestFeed checks declarations published on a local broker, answers each
// on the result topic, and checks one published while it was down when it
// comes back (its session is persistent).
func TestFeed(t *testing.T) {
	broker := synctest.StartMosquitto(t)
	doc, err := os.ReadFile("testdata/ics2-maritime-f11.json")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var results []FeedResult
	sender := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL()).SetClientID("customs-bus"))
	if tok := sender.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer sender.Disconnect(100)
	sender.Subscribe("post/ens/in/result", 1, func(_ mqtt.Client, m mqtt.Message) {
		var r FeedResult
		json.Unmarshal(m.Payload(), &r)
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	}).Wait()
	got := func(n int) []FeedResult {
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			if len(results) >= n || time.Now().After(deadline) {
				out := append([]FeedResult(nil), results...)
				mu.Unlock()
				return out
			}
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}
	checker := &recordingChecker{}
	start := func() context.CancelFunc {
		ctx, cancel := context.WithCancel(context.Background())
		f := &Feed{Broker: broker.URL(), Topic: "post/ens/in", Checker: checker}
		done := make(chan struct{})
		go func() { f.Run(ctx); close(done) }()
		return func() { cancel(); <-done }
	}
	stop := start()
	time.Sleep(500 * time.Millisecond) // let the feed subscribe
	sender.Publish("post/ens/in", 1, false, doc).Wait()
	sender.Publish("post/ens/in", 1, false, []byte(`<!DOCTYPE x [<!ENTITY a "b">]><x/>`)).Wait()
	r := got(2)
	if len(r) != 2 || r[0].Result == nil || len(r[0].Result.Hits) == 0 || r[0].Ref == "" {
		t.Fatalf("valid declaration: %+v", r)
	}
	if r[1].Error == "" || r[1].Result != nil {
		t.Fatalf("a DOCTYPE was not refused: %+v", r[1])
	}
	stop()
	// Published while the agent is down: checked when it is back.
	sender.Publish("post/ens/in", 1, false, doc).Wait()
	stop = start()
	defer stop()
	if r := got(3); len(r) != 3 || r[2].Result == nil {
		t.Fatalf("declaration published while the feed was down: %+v", r)
	}
	checker.mu.Lock()
	defer checker.mu.Unlock()
	if len(checker.checks) != 2 {
		t.Errorf("%d declarations checked, want 2", len(checker.checks))
	}
}
