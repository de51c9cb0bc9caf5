package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/simulator/watchlist"
)

func TestLoadList(t *testing.T) {
	gen, err := loadList(listSource{}, 25, 1)
	if err != nil || len(gen) != 25 {
		t.Fatalf("generated: %d %v", len(gen), err)
	}
	national, err := loadList(listSource{csv: "lists/testdata/national.csv"}, 0, 0)
	if err != nil || len(national) == 0 {
		t.Fatalf("national CSV: %d %v", len(national), err)
	}
	jsonl := filepath.Join(t.TempDir(), "alerts.jsonl")
	f, _ := os.Create(jsonl)
	enc := json.NewEncoder(f)
	for _, a := range watchlist.NewGenerator(2, watchlist.DefaultMix).Alerts(10) {
		enc.Encode(a)
	}
	f.Close()
	if got, err := loadList(listSource{jsonl: jsonl}, 0, 0); err != nil || len(got) != 10 {
		t.Fatalf("JSON Lines: %d %v", len(got), err)
	}
	os.WriteFile(jsonl, []byte(`{"id":"X","version":0}`+"\n"), 0o600)
	if _, err := loadList(listSource{jsonl: jsonl}, 0, 0); err == nil {
		t.Fatal("an invalid alert was accepted")
	}
	ofac, err := loadList(listSource{ofac: sharedData(t, "ofac/sdn_2021-07")}, 0, 0)
	if err != nil || len(ofac) != 8976 {
		t.Fatalf("OFAC 2021: %d %v", len(ofac), err)
	}
}

func TestCentralDiffCommand(t *testing.T) {
	old, cur := sharedData(t, "ofac/sdn_2019-01"), sharedData(t, "ofac/sdn_2021-07")
	out := filepath.Join(t.TempDir(), "delta.jsonl")
	cmd := diffCmd()
	var stdout strings.Builder
	cmd.SetOut(&stdout)
	cmd.SetArgs([]string{old, cur, "--out", out})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(stdout.String()))
	var then, now, added, removed, changed int
	if _, err := fmt.Sscanf(stdout.String(), "%d entries then, %d now: %d added, %d removed, %d changed", &then, &now, &added, &removed, &changed); err != nil {
		t.Fatalf("summary %q: %v", stdout.String(), err)
	}
	if now != 8976 || then-removed+added != now || added == 0 || removed == 0 || changed == 0 {
		t.Errorf("inconsistent diff: %s", stdout.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(b), "\n"); lines != added+removed+changed {
		t.Errorf("delta file has %d lines, want %d", lines, added+removed+changed)
	}
}
