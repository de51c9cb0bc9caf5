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

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	db, key := filepath.Join(dir, "replica.db"), filepath.Join(dir, "data.key")
	store.WriteKeyFile(key)
	alerts := []store.Alert{
		{ID: "BOX", Version: 1, Action: "seize", Category: "art38-container", Subject: store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "TGHU3001121"}}},
		{ID: "CAR", Version: 1, Action: "discreet check", Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "MAB1234", PlateCountry: "DE"}}},
		{ID: "PER", Version: 1, Action: "arrest", Subject: store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Sokolov", Forenames: "Dmitri Alexandrovich"}}},
	}
	rep, err := store.Open(context.Background(), db, store.KeyFile{Path: key}, store.Options{})
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
	cfg := filepath.Join(dir, "agent.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("agent: {id: post-cli}\nstore: {path: %s, key: {file: %s}}\nmqtt: {broker: tcp://127.0.0.1:1}\ntrust: {central_keys: [x]}\nsync: {central_hit_key: x}\n", db, key)), 0o600)

	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"check", "container", "TGHU 3001I21"}, []string{"HIT alert BOX", "I->1", "derived"}},
		{[]string{"check", "plate", "m-ab 1234", "--country", "D"}, []string{"HIT alert CAR", "action: discreet check"}},
		{[]string{"check", "name", "SOKOLOV, Dmitrij"}, []string{"HIT alert PER", "action: arrest"}},
		{[]string{"check", "plate", "XY999", "--country", "F"}, []string{"no hit"}},
		{[]string{"check", "ens", "../devices/ens/testdata/ics2-maritime-f11.json"}, []string{"HIT alert BOX", "transport_equipment"}},
	} {
		out, err := runRoot(t, "", append(c.args, "--config", cfg)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", c.args, err, out)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", c.args, w, out)
			}
		}
	}
	// The check is the agent's: its configured name threshold applies.
	// A misspelt name that hits at the default threshold does not when
	// the post asks for near-exact names.
	strict := filepath.Join(dir, "strict.yaml")
	os.WriteFile(strict, []byte(fmt.Sprintf("agent: {id: post-cli}\nstore: {path: %s, key: {file: %s}}\nmqtt: {broker: tcp://127.0.0.1:1}\ntrust: {central_keys: [x]}\nsync: {central_hit_key: x}\nmatch: {name_threshold: 0.99}\n", db, key)), 0o600)
	if out, err := runRoot(t, "", "check", "name", "SOKOLOV, Dmitrij", "--config", strict); err != nil || !strings.Contains(out, "no hit") {
		t.Errorf("name_threshold 0.99 in the configuration was not applied: %v\n%s", err, out)
	}
	if _, err := runRoot(t, "", "check", "container", "CSQU3054384", "--config", cfg); err == nil || !strings.Contains(err.Error(), "check digit") {
		t.Errorf("a bad check digit was not refused: %v", err)
	}
	// Every technician check is in the audit log.
	rep, _ = store.Open(context.Background(), db, store.KeyFile{Path: key}, store.Options{})
	defer rep.Close()
	n := 0
	rep.AuditRecords(context.Background(), func(r store.AuditRecord) error {
		if r.Event == store.EventCheck && r.Device == "technician-cli" {
			n++
		}
		return nil
	})
	if n != 6 {
		t.Errorf("%d technician checks audited, want 6", n)
	}
}
