package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/store"
)

// `audit events` counts records by event and lists one event's records by
// reference, never the device or user behind them.
func TestAuditEventsCountsAndLists(t *testing.T) {
	dir := t.TempDir()
	db, key := filepath.Join(dir, "replica.db"), filepath.Join(dir, "data.key")
	store.WriteKeyFile(key)
	ctx := context.Background()
	rep, err := store.Open(ctx, db, store.KeyFile{Path: key}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		rep.Record(ctx, store.CheckRecord{ID: fmt.Sprintf("chk-%d", i), Device: "terminal:anna"}, nil)
	}
	rep.Audit(ctx, store.AuditRecord{Event: store.EventHeadRefused, Ref: "bp/v1/agents/post-cli/scopes", Detail: "a head is not an assignment"})
	rep.Close()
	cfg := filepath.Join(dir, "agent.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("agent: {id: post-cli}\nstore: {path: %s, key: {file: %s}}\nmqtt: {broker: tcp://127.0.0.1:1}\ntrust: {central_keys: [x]}\nsync: {central_hit_key: x}\n", db, key)), 0o600)

	out, err := runRoot(t, "", "audit", "events", "--config", cfg)
	if err != nil {
		t.Fatalf("audit events: %v\n%s", err, out)
	}
	for _, want := range []string{"replica.db\t" + string(store.EventCheck) + "\t3\n", "replica.db\t" + string(store.EventHeadRefused) + "\t1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("counts lack %q:\n%s", want, out)
		}
	}
	out, err = runRoot(t, "", "audit", "events", "--config", cfg, "--event", string(store.EventHeadRefused))
	if err != nil || strings.Count(out, "replica.db\t") != 1 || !strings.Contains(out, "a head is not an assignment") {
		t.Errorf("listing head refusals: %v\n%s", err, out)
	}
	out, _ = runRoot(t, "", "audit", "events", "--config", cfg, "--event", string(store.EventCheck))
	if strings.Contains(out, "anna") {
		t.Errorf("the listing shows who was behind a record:\n%s", out)
	}
}
