package post

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// A post that starts with a scope replica on disk that its saved
// assignment no longer names removes the file, audited, and checks only
// against the scopes it follows: an alert held in two scopes hits once.
func TestStartPurgesScopesNoLongerAssigned(t *testing.T) {
	cfg := seedReplica(t) // an empty whole-list replica
	ctx := context.Background()
	kp := store.KeyFile{Path: cfg.Store.Key.File}
	car := store.Alert{ID: "CAR", Version: 1, Action: "seize", Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "MAB1234", PlateCountry: "DE"}}}
	doc := store.Alert{ID: "DOC", Version: 1, Subject: store.Subject{Kind: store.SubjectDocument, Document: &store.Document{Number: "C01X00T47", Country: "DE"}}}
	for scope, alerts := range map[string][]store.Alert{"road": {car}, "customs": {car}, "postal": {doc}} {
		rep, err := store.Open(ctx, store.ScopePath(cfg.Store.Path, scope), kp, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var d store.Digest
		for _, a := range alerts {
			d.Add(a.ID, a.Version)
		}
		if err := rep.Apply(ctx, store.Change{Epoch: 1, Seq: 1, Hash: [32]byte{1}, Digest: d, Upserts: alerts}); err != nil {
			t.Fatal(err)
		}
		rep.Close()
	}
	if err := writeAssignment(cfg.Store.Path, savedAssignment{Scopes: []string{"road", "customs"}, Issued: time.Now()}); err != nil {
		t.Fatal(err)
	}
	a, err := New(ctx, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(store.ScopePath(cfg.Store.Path, "postal")); err == nil {
		t.Error("the postal scope's replica is still on disk after a start whose assignment dropped it")
	}
	res, err := a.Check(ctx, devices.Check{Device: "test", Items: []devices.Item{{Field: "plate", Kind: devices.KindPlate, Value: "MAB1234", Country: "DE"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 1 || res.Hits[0].AlertID != "CAR" {
		t.Errorf("hits %+v; want CAR once though two scopes hold it", res.Hits)
	}
	rec := httptest.NewRecorder()
	a.metrics.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`borderpost_scope_alerts{scope="road"} 1`, `borderpost_scope_sequence{scope="customs"} 1`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	var dropped []string
	a.rep.AuditRecords(ctx, func(r store.AuditRecord) error {
		if r.Event == store.EventScopeDropped {
			dropped = append(dropped, r.Ref+" "+r.Detail)
		}
		return nil
	})
	a.Close()
	if !slices.Contains(dropped, "postal 1 alerts purged") {
		t.Errorf("audit of the purge: %v", dropped)
	}
}

// An expired alert leaves a scope's replica on disk as it leaves the main
// one: each scope replica has its housekeeping while the agent runs.
func TestScopeReplicasPurgeExpiredAlerts(t *testing.T) {
	cfg := seedReplica(t)
	ctx := context.Background()
	car := store.Alert{ID: "CAR", Version: 1, Expires: time.Now().Add(1500 * time.Millisecond),
		Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "MAB1234", PlateCountry: "DE"}}}
	rep, err := store.Open(ctx, store.ScopePath(cfg.Store.Path, "road"), store.KeyFile{Path: cfg.Store.Key.File}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var d store.Digest
	d.Add(car.ID, car.Version)
	if err := rep.Apply(ctx, store.Change{Epoch: 1, Seq: 1, Hash: [32]byte{1}, Digest: d, Upserts: []store.Alert{car}}); err != nil {
		t.Fatal(err)
	}
	rep.Close()
	if err := writeAssignment(cfg.Store.Path, savedAssignment{Scopes: []string{"road"}}); err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	keyFile := filepath.Join(t.TempDir(), "central.pub")
	os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(pub)+"\n"), 0o600)
	cfg.Trust.CentralKeys = []string{keyFile}
	cfg.Sync.CentralHitKey = writeHitKey(t)
	cfg.MQTT.Broker = "tcp://127.0.0.1:1" // no central: the post works offline
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Store.PurgeEvery = 100 * time.Millisecond
	a, err := New(ctx, cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Purged, not merely hidden: the purge is in the scope's audit log.
		purged := false
		a.scopeMu.Lock()
		err := a.scopes["road"].rep.AuditRecords(ctx, func(r store.AuditRecord) error {
			purged = purged || r.Event == store.EventAlertExpired && r.Ref == "CAR"
			return nil
		})
		a.scopeMu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if purged {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the expired alert was not purged from the scope's replica")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
