package match

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// After an import and PrepareFiles (what `borderpost replica import`
// ends with), the next load reads the term table and the name index: it
// decrypts no person or company and walks no term index, and answers as
// an index built from the alerts.
func TestPrepareFilesAfterImport(t *testing.T) {
	ctx := context.Background()
	rep := openReplicaWith(t, WithTerms(store.Options{}))
	var lines bytes.Buffer
	var qs []devices.Item
	for i := range 300 {
		a := alert(fmt.Sprintf("car%03d", i), store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: fmt.Sprintf("B%05d", i), PlateCountry: "DE"}})
		q := devices.Item{Kind: devices.KindPlate, Country: "DE", Value: fmt.Sprintf("B%05d", i), Raw: fmt.Sprintf("B%05d", i)}
		if i%3 == 0 {
			n := fmt.Sprintf("Okonkwo%c%c Adaeze", 'a'+i%26, 'a'+i/26)
			a = alert(fmt.Sprintf("p%03d", i), store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: n}})
			q = devices.Item{Kind: devices.KindPerson, Value: n}
		}
		b, _ := json.Marshal(a)
		lines.Write(append(b, '\n'))
		if i%10 == 0 {
			qs = append(qs, q)
		}
	}
	if _, err := store.Import(ctx, &lines, rep, nil); err != nil {
		t.Fatal(err)
	}
	if err := PrepareFiles(ctx, rep, Options{Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{store.TermTablePath(rep.Path()), store.NameIndexPath(rep.Path())} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("PrepareFiles left no %s: %v", f, err)
		}
	}
	if _, err := rep.LoadTermTable(ctx); err != nil {
		t.Fatalf("the term table PrepareFiles wrote is not the replica's current one: %v", err)
	}
	loaded, n := loadCounting(t, rep)
	if n != 0 {
		t.Fatalf("the load after PrepareFiles decrypted %d persons and companies, want none", n)
	}
	got := answers(t, loaded, qs)
	for _, f := range []string{store.TermTablePath(rep.Path()), store.NameIndexPath(rep.Path())} {
		os.Remove(f)
	}
	built, n := loadCounting(t, rep)
	if n != 100 {
		t.Fatalf("a load without the files decrypted %d persons, want the 100 imported", n)
	}
	sameAnswers(t, "loaded after PrepareFiles", got, answers(t, built, qs))
}

// PrepareFiles refuses a replica opened without the term function: no
// file written beside it could be trusted.
func TestPrepareFilesNeedsTheTermIndex(t *testing.T) {
	rep := openReplicaWith(t, store.Options{})
	applyChange(t, rep, 1, []store.Alert{alert("p1", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Okonkwo"}})}, nil)
	if err := PrepareFiles(context.Background(), rep, Options{}); err == nil {
		t.Fatal("PrepareFiles wrote files for a replica without a ready term index")
	}
}

// A load with DeferFiles writes nothing, reports itself stale with
// nothing to wait for, and Persist then writes both files for the state
// it was loaded in, though no change was applied: the next load decrypts
// no person or company.
func TestDeferredFilesPersistedInTheLoadedState(t *testing.T) {
	rep, qs := seededReplica(t)
	ix, err := Load(context.Background(), rep, Options{Logger: slog.New(slog.DiscardHandler), DeferFiles: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{store.TermTablePath(rep.Path()), store.NameIndexPath(rep.Path())} {
		if _, err := os.Stat(f); err == nil {
			t.Fatalf("a load with DeferFiles wrote %s", f)
		}
	}
	if stale, since := ix.Stale(); !stale || !since.IsZero() {
		t.Fatalf("Stale() = %v, %v; want stale since the zero time", stale, since)
	}
	written, err := ix.Persist(context.Background())
	if err != nil || !written {
		t.Fatalf("Persist of a deferred load: %v, %v", written, err)
	}
	if stale, _ := ix.Stale(); stale {
		t.Fatal("still stale after Persist")
	}
	loaded, n := loadCounting(t, rep)
	if n != 0 {
		t.Fatalf("the load after Persist decrypted %d persons and companies, want none", n)
	}
	sameAnswers(t, "loaded from the deferred files", answers(t, loaded, qs), answers(t, ix, qs))
}
