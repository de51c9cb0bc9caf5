package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/agent/post"
	"github.com/borderpost/borderpost/store"
)

// TestDamagedReplicaCommands: a replica file cut short (a backup copied
// back incompletely) makes `run` and `audit verify` refuse with the file
// and the remedy instead of dying inside bbolt; `replica verify` names the
// damage; `replica rebuild` moves it aside, keeps the unsent hit, and
// leaves a replica the agent starts with.
func TestDamagedReplicaCommands(t *testing.T) {
	dir := t.TempDir()
	db, key := filepath.Join(dir, "replica.db"), filepath.Join(dir, "data.key")
	store.WriteKeyFile(key)
	rep, err := store.Open(context.Background(), db, store.KeyFile{Path: key}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var alerts []store.Alert
	var d store.Digest
	for i := range 300 {
		a := store.Alert{ID: fmt.Sprintf("CAR-%03d", i), Version: 1, Action: "seize", Subject: store.Subject{Kind: store.SubjectVehicle,
			Vehicle: &store.Vehicle{Plate: fmt.Sprintf("MAB%04d", i), PlateCountry: "DE"}}}
		alerts = append(alerts, a)
		d.Add(a.ID, a.Version)
	}
	if err := rep.Apply(context.Background(), store.Change{Epoch: 1, Seq: 1, Hash: [32]byte{1}, Digest: d, Upserts: alerts}); err != nil {
		t.Fatal(err)
	}
	if _, err := rep.Record(context.Background(), store.CheckRecord{ID: "chk-1", Device: "anpr-1", Items: 1},
		[]store.Hit{{ID: "hit-unsent", CheckID: "chk-1", AlertID: "CAR-007", AlertVersion: 1, Field: "plate", Match: "exact", Score: 1}}); err != nil {
		t.Fatal(err)
	}
	rep.Close()
	// Cut the file to half of what it uses.
	data, _ := os.ReadFile(db)
	used := len(data)
	for used > 0 && data[used-1] == 0 {
		used--
	}
	if err := os.WriteFile(db, data[:used/2], 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "agent.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("agent: {id: post-cli}\nstore: {path: %s, key: {file: %s}}\nmqtt: {broker: tcp://127.0.0.1:1}\ntrust: {central_keys: [x]}\nsync: {central_hit_key: x}\n", db, key)), 0o600)
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}

	remedy := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), db) || !strings.Contains(err.Error(), "borderpost replica rebuild") {
			t.Errorf("%s on a damaged replica: %v; want the file and the remedy", what, err)
		}
	}
	_, err = runRoot(t, "", "audit", "verify", "--config", cfgPath)
	remedy("audit verify", err)
	_, err = runRoot(t, "", "replica", "verify", "--config", cfgPath)
	remedy("replica verify", err)
	_, err = post.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	remedy("run", err)

	out, err := runRoot(t, "", "replica", "rebuild", "--config", cfgPath)
	if err != nil {
		t.Fatalf("replica rebuild: %v\n%s", err, out)
	}
	if !strings.Contains(out, "moved to "+db+".damaged-") || !strings.Contains(out, "fetches the watch list") {
		t.Errorf("rebuild output: %s", out)
	}
	if out, err := runRoot(t, "", "replica", "verify", "--config", cfgPath); err != nil || !strings.Contains(out, "intact") {
		t.Errorf("replica verify after rebuild: %v %s", err, out)
	}
	if out, err := runRoot(t, "", "audit", "verify", "--config", cfgPath); err != nil {
		t.Errorf("audit verify after rebuild: %v %s", err, out)
	}
	a, err := post.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("agent on the rebuilt replica: %v", err)
	}
	a.Close()
	rep, err = store.Open(context.Background(), db, store.KeyFile{Path: key}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	hits, _ := rep.Pending(0, 100)
	kept := false
	for _, h := range hits {
		kept = kept || h.ID == "hit-unsent"
	}
	t.Logf("rebuild: %s; outbox now %d entries", strings.TrimSpace(out), len(hits))
	if !kept {
		t.Error("the unsent hit was not recovered")
	}
}
