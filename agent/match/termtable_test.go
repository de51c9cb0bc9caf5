package match

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// Load reads the term table saved beside the replica when it is the
// replica's current one, and walks the term index otherwise (none yet, a
// delta since, the file altered): a stale or damaged table never makes an
// identifier the replica holds a miss.
func TestLoadUsesTermTableOnlyWhenCurrent(t *testing.T) {
	rep := openReplicaWith(t, WithTerms(store.Options{}))
	applyChange(t, rep, 1, []store.Alert{carAlert}, nil)
	var log bytes.Buffer
	o := Options{Logger: slog.New(slog.NewTextHandler(&log, nil))}
	load := func(when string) (walked bool) {
		t.Helper()
		log.Reset()
		ix, err := Load(context.Background(), rep, o)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if got := mustLookup(t, ix, plateItem, now); len(got) != 1 || got[0].Alert.ID != "car" {
			t.Fatalf("%s: plate: %+v", when, got)
		}
		return strings.Contains(log.String(), "walking the term index")
	}
	if !load("first start") {
		t.Fatal("first start: no table yet, but the term index was not walked")
	}
	if _, err := os.Stat(store.TermTablePath(rep.Path())); err != nil {
		t.Fatalf("the first start saved no term table: %v", err)
	}
	if load("second start") {
		t.Fatalf("second start walked the term index although the saved table is current: %s", log.String())
	}
	// A delta while the agent was down: the table misses the container.
	box := alert("box", store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "CSQU3054383"}})
	applyChange(t, rep, 2, []store.Alert{box}, nil)
	if !load("after a delta") {
		t.Fatal("a stale table was used")
	}
	ix, err := Load(context.Background(), rep, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustLookup(t, ix, devices.Item{Kind: devices.KindContainer, Value: "CSQU3054383"}, now); len(got) != 1 || got[0].Alert.ID != "box" {
		t.Fatalf("container of the delta after the table: %+v", got)
	}
	// Altered: refused, walked, the answers right.
	path := store.TermTablePath(rep.Path())
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-3] ^= 1
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if !load("table altered") {
		t.Fatal("an altered table was used")
	}
	if load("table re-saved") {
		t.Fatal("the walk after an altered table did not save a good one")
	}
}
