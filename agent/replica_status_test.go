package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/store"
)

// `replica status` reads the file without a key and says where it is in
// central's stream; a delta a kill left applied in part is shown with its
// progress and what resolves it.
func TestReplicaStatusShowsThePendingDelta(t *testing.T) {
	dir := t.TempDir()
	cfg := writeDevFiles(t, dir, "")
	if out, err := runRoot(t, "", "replica", "status", "--config", cfg); err == nil {
		t.Fatalf("status of a replica that does not exist succeeded:\n%s", out)
	}
	alerts := filepath.Join(dir, "alerts.jsonl")
	lines := `{"snapshot":{"epoch":3,"seq":41,"count":1}}` + "\n" +
		`{"id":"CAR","version":1,"subject":{"kind":"vehicle","vehicle":{"plate":"MAB1234","plate_country":"DE"}}}` + "\n"
	if err := os.WriteFile(alerts, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runRoot(t, "", "replica", "import", "--config", cfg, "--file", alerts); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	out, err := runRoot(t, "", "replica", "status", "--config", cfg)
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	for _, want := range []string{"epoch 3, sequence 41", "delta pending:   none"} {
		if !strings.Contains(out, want) {
			t.Errorf("status does not say %q:\n%s", want, out)
		}
	}
	var b bytes.Buffer
	printReplicaStatus(&b, "r.db", store.Status{DeltaPending: &store.DeltaProgress{Epoch: 3, Seq: 42, Done: 15000, Total: 200000}})
	if s := b.String(); !strings.Contains(s, "delta pending:   epoch 3, sequence 42, 15000 of 200000 operations applied") || !strings.Contains(s, "resumes") {
		t.Errorf("a pending delta is shown as:\n%s", s)
	}
}
