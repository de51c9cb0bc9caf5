package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/agent/match"
	"github.com/borderpost/borderpost/store"
)

// keys rotate re-encrypts every replica file of the post, the scope
// replicas included, so that the agent opens them all with the new key.
func TestKeysRotateCoversScopeReplicas(t *testing.T) {
	dir := t.TempDir()
	db, key, newKey := filepath.Join(dir, "replica.db"), filepath.Join(dir, "data.key"), filepath.Join(dir, "new.key")
	store.WriteKeyFile(key)
	store.WriteKeyFile(newKey)
	ctx := context.Background()
	plate := store.Alert{ID: "CAR", Version: 1, Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "MAB1234"}}}
	for _, path := range []string{db, store.ScopePath(db, "road")} {
		rep, err := store.Open(ctx, path, store.KeyFile{Path: key}, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var d store.Digest
		d.Add(plate.ID, plate.Version)
		if err := rep.Apply(ctx, store.Change{Epoch: 1, Seq: 1, Hash: [32]byte{1}, Digest: d, Upserts: []store.Alert{plate}}); err != nil {
			t.Fatal(err)
		}
		rep.Close()
	}
	cfg := filepath.Join(dir, "agent.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("agent: {id: post-cli}\nstore: {path: %s, key: {file: %s}}\nmqtt: {broker: tcp://127.0.0.1:1}\ntrust: {central_keys: [x]}\nsync: {central_hit_key: x}\n", db, key)), 0o600)
	want, _ := os.ReadFile(newKey)
	if out, err := runRoot(t, "", "keys", "rotate", "--new-key-file", newKey, "--config", cfg); err != nil {
		t.Fatalf("keys rotate: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(key); string(got) != string(want) {
		t.Fatal("the configured key file does not hold the new key")
	}
	for _, path := range []string{db, store.ScopePath(db, "road")} {
		// The command compacted each file and wrote its match index's
		// files under the new key: the agent's next start loads them.
		for _, side := range []string{store.TermTablePath(path), store.NameIndexPath(path)} {
			if _, err := os.Stat(side); err != nil {
				t.Errorf("%s: %v", filepath.Base(path), err)
			}
		}
		rep, err := store.Open(ctx, path, store.KeyFile{Path: key}, match.WithTerms(store.Options{}))
		if err != nil {
			t.Fatalf("%s does not open with the new key: %v", filepath.Base(path), err)
		}
		if due, err := rep.CompactDue(); due || err != nil {
			t.Errorf("%s: compaction still due after the rotation (%v)", filepath.Base(path), err)
		}
		if _, ok, err := rep.Alert("CAR"); !ok || err != nil {
			t.Errorf("%s lost its alert: %v", filepath.Base(path), err)
		}
		rep.Close()
	}
	out, err := runRoot(t, "", "audit", "verify", "--config", cfg)
	if err != nil || !strings.Contains(out, "(replica.db)") || !strings.Contains(out, "(replica.scope-road.db)") {
		t.Errorf("audit verify after the rotation: %v\n%s", err, out)
	}
}
