package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/agent/post"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// The agent's first start after `replica import` is like any other: it
// compacts nothing, walks no term index and decrypts no person or company
// (the import left the term table and the name index current), and finds
// the imported names and plates.
func TestFirstStartAfterImportLoadsTheFiles(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeDevFiles(t, dir, "")
	var lines bytes.Buffer
	for i := range 200 {
		a := store.Alert{ID: fmt.Sprintf("CAR%03d", i), Version: 1, Subject: store.Subject{Kind: store.SubjectVehicle,
			Vehicle: &store.Vehicle{Plate: fmt.Sprintf("MAB%04d", i), PlateCountry: "DE"}}}
		if i%4 == 0 {
			a = store.Alert{ID: fmt.Sprintf("P%03d", i), Version: 1, Subject: store.Subject{Kind: store.SubjectPerson,
				Person: &store.Person{Surname: fmt.Sprintf("Lindqvist%c%c", 'a'+i%26, 'a'+i/26), Forenames: "Sven"}}}
		}
		b, _ := json.Marshal(a)
		lines.Write(append(b, '\n'))
	}
	file := filepath.Join(dir, "alerts.jsonl")
	if err := os.WriteFile(file, lines.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// A first fill, then an import over it (whose old generation leaves
	// space the import compacts): after each the agent's start is a plain
	// one.
	var a *post.Agent
	for round := range 2 {
		out, err := runRoot(t, "", "replica", "import", "--config", cfgPath, "--file", file)
		if err != nil {
			t.Fatalf("import %d: %v\n%s", round, err, out)
		}
		var log bytes.Buffer
		if a, err = post.New(context.Background(), cfg, slog.New(slog.NewTextHandler(&log, nil))); err != nil {
			t.Fatal(err)
		}
		s := log.String()
		for _, bad := range []string{"replica compacted", "walking the term index", "reading the persons and companies"} {
			if strings.Contains(s, bad) {
				t.Errorf("the first start after import %d logged %q: it redid the import's work\n%s", round, bad, s)
			}
		}
		if !strings.Contains(s, "name index loaded") {
			t.Errorf("the first start after import %d did not load the name index file:\n%s", round, s)
		}
		if round == 0 {
			a.Close()
		}
	}
	defer a.Close()
	for i, q := range []struct {
		it   devices.Item
		want string
	}{
		{devices.Item{Kind: devices.KindPerson, Value: "Sven Lindqvistcb"}, "P028"},
		{devices.Item{Kind: devices.KindPlate, Country: "DE", Value: "MAB0007", Raw: "MAB0007"}, "CAR007"},
	} {
		res, err := a.Check(context.Background(), devices.Check{ID: fmt.Sprintf("c%d", i), Device: "test", Time: time.Now(), Items: []devices.Item{q.it}})
		if err != nil || len(res.Hits) == 0 || res.Hits[0].AlertID != q.want {
			t.Errorf("%s %q: %+v, %v; want %s", q.it.Kind, q.it.Value, res.Hits, err, q.want)
		}
	}
}
