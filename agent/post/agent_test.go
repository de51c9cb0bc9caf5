package post

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/agent/config"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// seedReplica writes a replica holding the given alerts and returns a
// configuration that opens it.
// serveAgent starts an agent on cfg and serves its HTTP routes until the
// test ends.
func serveAgent(t *testing.T, cfg config.Config) (*Agent, *httptest.Server) {
	t.Helper()
	a, err := New(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.rep.Close() })
	srv := httptest.NewServer(a.routes())
	t.Cleanup(srv.Close)
	return a, srv
}

func seedReplica(t *testing.T, alerts ...store.Alert) config.Config {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Defaults()
	cfg.Agent.ID = "post-test"
	cfg.Store.Path = filepath.Join(dir, "replica.db")
	cfg.Store.Key.File = filepath.Join(dir, "data.key")
	cfg.Metrics.Listen = "127.0.0.1:0" // tests run side by side: never the default port
	if err := store.WriteKeyFile(cfg.Store.Key.File); err != nil {
		t.Fatal(err)
	}
	rep, err := store.Open(context.Background(), cfg.Store.Path, store.KeyFile{Path: cfg.Store.Key.File}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var d store.Digest
	for _, a := range alerts {
		d.Add(a.ID, a.Version)
	}
	if err := rep.Apply(context.Background(), store.Change{Epoch: 1, Seq: 1, Hash: [32]byte{1}, Digest: d, Upserts: alerts}); err != nil {
		t.Fatal(err)
	}
	rep.Close()
	return cfg
}

func post(t *testing.T, url, ctype, body string) (int, devices.Result) {
	t.Helper()
	resp, err := http.Post(url, ctype, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res devices.Result
	json.NewDecoder(resp.Body).Decode(&res)
	return resp.StatusCode, res
}

func TestChecksThroughDevicesAreRecorded(t *testing.T) {
	cfg := seedReplica(t,
		store.Alert{ID: "veh-1", Version: 1, Action: "seize", Category: "art38-vehicle", Warnings: []string{"armed"},
			Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "HH AB 123", PlateCountry: "DE"}}},
		store.Alert{ID: "doc-1", Version: 1, Action: "seize", Category: "art38-document",
			Subject: store.Subject{Kind: store.SubjectDocument, Document: &store.Document{Number: "L898902C3", Type: "passport"}}},
		store.Alert{ID: "box-1", Version: 1, Action: "specific check", Category: "art38-container",
			Subject: store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "TGHU3001121"}}},
	)
	a, srv := serveAgent(t, cfg)
	if a.index.Len() != 3 {
		t.Fatalf("index holds %d alerts, want 3 loaded from the replica", a.index.Len())
	}

	code, res := post(t, srv.URL+"/v1/scans", "application/json", `{"kind":"plate","value":"hh-ab 123","country":"D","device":"anpr-1"}`)
	if code != 200 || len(res.Hits) != 1 || res.Hits[0].AlertID != "veh-1" || res.Hits[0].Action != "seize" {
		t.Fatalf("plate scan: %d %+v", code, res)
	}
	// The ICAO 9303 specimen passport, read by an MRZ reader.
	mrz := `{"lines":["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<","L898902C36UTO7408122F1204159ZE184226B<<<<<10"],"device":"mrz-1"}`
	code, res = post(t, srv.URL+"/v1/mrz", "application/json", mrz)
	if code != 200 || len(res.Hits) != 1 || res.Hits[0].AlertID != "doc-1" {
		t.Fatalf("MRZ read: %d %+v", code, res)
	}
	code, res = post(t, srv.URL+"/v1/scans", "application/json", `{"kind":"container","value":"CSQU3054383","device":"ocr-1"}`)
	if code != 200 || len(res.Hits) != 0 {
		t.Fatalf("clean container: %d %+v", code, res)
	}

	// A maritime ICS2 declaration whose house consignment carries the
	// flagged container.
	ensDoc, err := os.ReadFile("../../devices/ens/testdata/ics2-maritime-f11.json")
	if err != nil {
		t.Fatal(err)
	}
	code, res = post(t, srv.URL+"/v1/ens", "application/json", string(ensDoc))
	if code != 200 || len(res.Hits) != 1 || res.Hits[0].AlertID != "box-1" || !strings.Contains(res.Hits[0].Field, "transport_equipment") {
		t.Fatalf("ENS: %d %+v", code, res)
	}

	// Gate OCR misread a 1 as I: the device corrects it and the hit says so.
	code, res = post(t, srv.URL+"/v1/ocr", "application/json", `{"value":"TGHU 300II21","device":"gate-ocr-1","confidence":0.7}`)
	if code != 400 {
		t.Fatalf("two confusions must not be guessed: %d %+v", code, res)
	}
	code, res = post(t, srv.URL+"/v1/ocr", "application/json", `{"value":"TGHU 3001I21","device":"gate-ocr-1","confidence":0.7}`)
	if code != 200 || len(res.Hits) != 1 || res.Hits[0].AlertID != "box-1" || res.Hits[0].Match != "derived" || !strings.Contains(res.Hits[0].Explanation, "I->1") {
		t.Fatalf("OCR read: %d %+v", code, res)
	}
	code, res = post(t, srv.URL+"/v1/anpr", "application/json", `{"plate":"HH AB 123","country":"D","camera":"anpr-2","lane":"1","confidence":0.9,"time":"2026-11-27T04:00:00Z"}`)
	if code != 200 || len(res.Hits) != 1 || res.Hits[0].AlertID != "veh-1" {
		t.Fatalf("ANPR read: %d %+v", code, res)
	}

	ob, _ := a.rep.Outbox()
	if ob.Depth != 5 {
		t.Errorf("outbox holds %d hits, want 5", ob.Depth)
	}
	// The hit that goes to central says what the officer was warned of.
	pending, _ := a.rep.Pending(0, 10)
	if len(pending) == 0 || pending[0].AlertID != "veh-1" || len(pending[0].Warnings) != 1 || pending[0].Warnings[0] != "armed" {
		t.Errorf("first hit sent to central: %+v; want veh-1 with its warning", pending)
	}
	checks := 0
	a.rep.AuditRecords(context.Background(), func(r store.AuditRecord) error {
		if r.Event == store.EventCheck {
			checks++
		}
		return nil
	})
	if checks != 6 {
		t.Errorf("audit log holds %d checks, want 6", checks)
	}
}

func TestNoKeyNoStart(t *testing.T) {
	cfg := seedReplica(t)
	wrong := cfg
	wrong.Store.Key.File = filepath.Join(t.TempDir(), "other.key")
	store.WriteKeyFile(wrong.Store.Key.File)
	if _, err := New(context.Background(), wrong, quiet); !errors.Is(err, store.ErrWrongKey) {
		t.Errorf("wrong key: %v", err)
	}
	missing := cfg
	missing.Store.Key.File = filepath.Join(t.TempDir(), "absent.key")
	if _, err := New(context.Background(), missing, quiet); !errors.Is(err, store.ErrNoKey) {
		t.Errorf("missing key: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	cfg := seedReplica(t, store.Alert{ID: "veh-1", Version: 1, Action: "seize",
		Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "HHAB123", PlateCountry: "DE"}}})
	cfg.Metrics.Listen = cfg.HTTP.Listen // served on the devices' listener, as configured so
	cfg.Metrics.Devices = []string{"anpr-1"}
	_, srv := serveAgent(t, cfg)
	post(t, srv.URL+"/v1/scans", "application/json", `{"kind":"plate","value":"HHAB123","country":"DE","device":"anpr-1"}`)
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`borderpost_checks_total{device="anpr-1"} 1`,
		`borderpost_hits_total{device="anpr-1"} 1`,
		`borderpost_check_duration_seconds_count{kind="plate"} 1`,
		`borderpost_outbox_depth 1`,
		`borderpost_replica_alerts 1`,
		`borderpost_replica_sequence 1`,
		`borderpost_mqtt_connected 0`,
		`borderpost_build_info{agent="post-test",key_provider="file",version="dev"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// A name thirty alerts hold gives ten hits, each recorded; the twenty
// namesakes past them ride on the last hit by reference, in the device's
// answer and in the outbox entry central receives, so neither the officer
// nor central takes the ten for all.
func TestNamesakesPastTheHitsReachTheOutbox(t *testing.T) {
	var alerts []store.Alert
	for i := range 30 {
		alerts = append(alerts, store.Alert{ID: fmt.Sprintf("per-%02d", i), Version: 1, Action: "arrest",
			Subject: store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Forenames: "Jiri", Surname: "Novotny"}}})
	}
	a, _ := serveAgent(t, seedReplica(t, alerts...))
	res, err := a.Check(context.Background(), devices.Check{Device: "desk-1", Items: []devices.Item{{Kind: devices.KindPerson, Field: "party", Value: "JIRI NOVOTNY"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 10 {
		t.Fatalf("%d hits, want 10 read", len(res.Hits))
	}
	ids := map[string]bool{}
	for _, h := range res.Hits {
		ids[h.AlertID] = true
	}
	refs := res.Hits[len(res.Hits)-1].Namesakes
	for _, id := range refs {
		ids[id] = true
	}
	if len(refs) != 20 || len(ids) != 30 {
		t.Fatalf("%d namesakes by reference, %d alerts in all; want 20 and 30", len(refs), len(ids))
	}
	pending, err := a.rep.Pending(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 10 || !slices.Equal(pending[9].Namesakes, refs) {
		t.Fatalf("outbox: %d entries, the last with namesakes %v; want 10, %v", len(pending), pending[len(pending)-1].Namesakes, refs)
	}
	// The officer who opens the hit is shown them, read from the replica.
	read := a.Namesakes(context.Background(), refs)
	if len(read) != 20 || read[0].AlertID != refs[0] || read[0].Subject.Person == nil || read[0].Subject.Person.Surname != "Novotny" {
		t.Fatalf("namesakes read for the terminal: %d, first %+v", len(read), read)
	}
}
