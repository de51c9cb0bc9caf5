package post

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// A message over mqtt.max_message on a topic the agent listens to is
// refused before it is read and audited by reference (topic and size).
func TestOversizedMessageAudited(t *testing.T) {
	broker := synctest.StartMosquitto(t)
	cfg := seedReplica(t)
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.MQTT.Broker = broker.URL()
	a := runAgent(t, cfg)
	for deadline := time.Now().Add(10 * time.Second); !a.session.Connected(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("agent not connected to the broker after 10s")
		}
	}
	time.Sleep(300 * time.Millisecond) // subscribed in OnConnect
	topic := bpsync.AgentTopic(cfg.Agent.ID, "acks")
	size := cfg.MQTT.MaxMessage + 1<<20
	synctest.PublishStream(t, broker.Addr(), nil, "central", topic, size)
	var rec store.AuditRecord
	for deadline := time.Now().Add(10 * time.Second); rec.Event == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no message.refused audit record within 10s")
		}
		a.rep.AuditRecords(context.Background(), func(r store.AuditRecord) error {
			if r.Event == bpsync.EventMessageRefused {
				rec = r
			}
			return nil
		})
	}
	if rec.Ref != topic {
		t.Errorf("audit record %+v: want the topic as its reference", rec)
	}
}

// Every device endpoint answers 415 to a body without a JSON (or, for
// ENS, XML) Content-Type: a web page on the post's network can send text,
// form and multipart bodies across origins without the browser asking
// first, and none may become a check.
func TestDeviceEndpointsRefuseBrowserContentTypes(t *testing.T) {
	cfg := seedReplica(t)
	a, srv := serveAgent(t, cfg)
	for _, path := range []string{"/v1/scans", "/v1/anpr", "/v1/ocr", "/v1/mrz", "/v1/ens"} {
		for _, ct := range []string{"", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"} {
			if path == "/v1/mrz" && ct == "text/plain" {
				continue // a reader's zone lines; refused with 403 when a web page sends them (devices/mrz)
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(`{"kind":"plate","value":"X1","country":"DE","device":"d"}`))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnsupportedMediaType {
				t.Errorf("%s with Content-Type %q: %d, want 415", path, ct, resp.StatusCode)
			}
		}
	}
	if n := a.checks.Load(); n != 0 {
		t.Errorf("%d checks recorded from refused requests", n)
	}
}
