package post

import (
	"context"
	"net/http/httptest"
	"os"
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
