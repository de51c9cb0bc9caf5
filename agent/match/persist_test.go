package match

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/borderpost/borderpost/agent/match/name"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// countingReplica counts the persons and companies a load decrypts.
type countingReplica struct {
	*store.Replica
	named int
}

func (c *countingReplica) EachAlertByTerm(ctx context.Context, terms []string, fn func(store.Alert) error) error {
	return c.Replica.EachAlertByTerm(ctx, terms, func(a store.Alert) error { c.named++; return fn(a) })
}

// load loads rep's index as the agent does, and reports how many alerts
// with names it decrypted.
func loadCounting(t *testing.T, rep *store.Replica) (*Index, int) {
	t.Helper()
	c := &countingReplica{Replica: rep}
	ix, err := loadByTerm(context.Background(), rep, c, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return ix, c.named
}

// seededReplica is a replica with generated persons and companies (with
// aliases, dates of birth, nationalities), plates and companies with an
// EORI, and the queries to ask it: names as listed and misspelt, the
// identifiers, and some that match nothing.
func seededReplica(t *testing.T) (*store.Replica, []devices.Item) {
	rep := openReplicaWith(t, WithTerms(store.Options{}))
	rng := rand.New(rand.NewPCG(16, 7))
	var ups []store.Alert
	var qs []devices.Item
	for i, e := range name.Generate(rng, 1500) {
		id := fmt.Sprintf("n%d", i)
		var a store.Alert
		kind := devices.KindPerson
		if e.Kind == name.KindCompany {
			kind = devices.KindCompany
			a = alert(id, store.Subject{Kind: store.SubjectCompany, Company: &store.Company{Name: e.Names[0], Aliases: e.Names[1:], EORI: fmt.Sprintf("DE%015d", i)}})
			if i%5 == 0 {
				qs = append(qs, devices.Item{Kind: devices.KindEORI, Value: fmt.Sprintf("DE%015d", i)})
			}
		} else {
			a = alert(id, store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: e.Names[0], Aliases: e.Names[1:], BirthDate: e.BirthDate, Nationalities: e.Nationalities, Sex: e.Sex}})
		}
		ups = append(ups, a)
		if i%3 == 0 {
			n := e.Names[len(e.Names)-1]
			if i%2 == 0 {
				n = misspelt(rng, n)
			}
			qs = append(qs, devices.Item{Kind: kind, Value: n, BirthDate: e.BirthDate})
		}
	}
	for i := range 300 {
		p := fmt.Sprintf("B%05d", i)
		ups = append(ups, alert("car"+p, store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: p, PlateCountry: "DE"}}))
		if i%10 == 0 {
			qs = append(qs, devices.Item{Kind: devices.KindPlate, Country: "DE", Value: p, Raw: p})
		}
	}
	qs = append(qs, devices.Item{Kind: devices.KindPerson, Value: "Nobody Atall Unknownson"}, devices.Item{Kind: devices.KindPlate, Country: "DE", Value: "ZZ999", Raw: "ZZ999"})
	applyChange(t, rep, 1, ups, nil)
	return rep, qs
}

// misspelt swaps two inner letters and changes another.
func misspelt(rng *rand.Rand, s string) string {
	b := []byte(s)
	if len(b) < 6 {
		return s
	}
	i := 1 + rng.IntN(len(b)-3)
	b[i], b[i+1] = b[i+1], b[i]
	if j := 1 + rng.IntN(len(b)-2); b[j] >= 'a' && b[j] <= 'y' {
		b[j]++
	}
	return string(b)
}

// answers is what ix answers to qs: per query, the IDs and scores of its
// hits, and the explanation of the first.
func answers(t *testing.T, ix *Index, qs []devices.Item) []string {
	t.Helper()
	var out []string
	hits := 0
	for _, q := range qs {
		cs, err := ix.Lookup(q, now)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s %q:", q.Kind, q.Value)
		for _, c := range cs {
			fmt.Fprintf(&b, " %s/%.4f", c.Alert.ID, c.Score)
		}
		if len(cs) > 0 {
			b.WriteString(" " + cs[0].Explanation)
		}
		hits += len(cs)
		out = append(out, b.String())
	}
	if hits < len(qs)/2 {
		t.Fatalf("%d hits for %d queries: the queries test nothing", hits, len(qs))
	}
	return out
}

func sameAnswers(t *testing.T, when string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("%s: %s\nwant %s", when, got[i], want[i])
			}
		}
		t.Fatalf("%s: %d answers, want %d", when, len(got), len(want))
	}
}

// A start whose name index file is the replica's current one decrypts no
// person or company, and answers every query (names as listed and
// misspelt, identifiers, names of nobody) as the index rebuilt from the
// alerts does.
func TestLoadFromNameIndexFile(t *testing.T) {
	rep, qs := seededReplica(t)
	built, n := loadCounting(t, rep)
	if n < 1500 {
		t.Fatalf("first start decrypted %d alerts with names, want the 1500", n)
	}
	want := answers(t, built, qs)
	if _, err := os.Stat(store.NameIndexPath(rep.Path())); err != nil {
		t.Fatalf("the first start saved no name index: %v", err)
	}
	loaded, n := loadCounting(t, rep)
	if n != 0 {
		t.Fatalf("a start with a current name index decrypted %d persons and companies, want none", n)
	}
	sameAnswers(t, "loaded from the file", answers(t, loaded, qs), want)
	if loaded.Len() != built.Len() || loaded.names.Len() != built.names.Len() {
		t.Fatalf("loaded %d alerts, %d names; built %d, %d", loaded.Len(), loaded.names.Len(), built.Len(), built.names.Len())
	}
}

// A name index file that is not the replica's current one, whole and
// under its key, is never trusted: altered, cut, another replica's (other
// key), or stale beside a current term table (an older copy put back):
// the persons and companies are read again and the answers are right.
func TestNameIndexFileRefusedUnlessCurrent(t *testing.T) {
	rep, qs := seededReplica(t)
	built, _ := loadCounting(t, rep)
	want := answers(t, built, qs)
	path := store.NameIndexPath(rep.Path())
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := seededReplica(t) // same alerts, another key and salt
	if _, n := loadCounting(t, other); n == 0 {
		t.Fatal("a fresh replica loaded a name index it never wrote")
	}
	otherFile, err := os.ReadFile(store.NameIndexPath(other.Path()))
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 4
	for _, c := range []struct {
		what string
		data []byte
	}{
		{"a byte altered", flipped},
		{"cut short", good[:len(good)-100]},
		{"another replica's, under another key", otherFile},
	} {
		if err := os.WriteFile(path, c.data, 0o600); err != nil {
			t.Fatal(err)
		}
		ix, n := loadCounting(t, rep)
		if n < 1500 {
			t.Fatalf("%s: trusted (decrypted %d)", c.what, n)
		}
		sameAnswers(t, c.what, answers(t, ix, qs), want)
		// The rebuild saved a good one again.
		if _, n := loadCounting(t, rep); n != 0 {
			t.Fatalf("%s: the rebuild saved no usable name index", c.what)
		}
	}

	// Stale: a delta adds a person and is persisted; the older name index
	// put back beside the current term table is refused.
	ix, _ := loadCounting(t, rep)
	newcomer := alert("late", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Forenames: "Oluwaseun", Surname: "Adeyemi-Bakare"}})
	applyChange(t, rep, 2, []store.Alert{newcomer}, nil)
	ix.Apply(changeOf(t, rep, []store.Alert{newcomer}))
	if ok, err := ix.Persist(context.Background()); !ok || err != nil {
		t.Fatalf("Persist: %v, %v", ok, err)
	}
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	again, n := loadCounting(t, rep)
	if n == 0 {
		t.Fatal("a stale name index was trusted beside a current term table")
	}
	if got := mustLookup(t, again, devices.Item{Kind: devices.KindPerson, Value: "Oluwaseun Adeyemi Bakare"}, now); len(got) == 0 || got[0].Alert.ID != "late" {
		t.Fatalf("the delta's person after a stale name index: %+v", got)
	}
}

// changeOf is the change applyChange just applied, as the index follows
// it: its cursor is the replica's.
func changeOf(t *testing.T, rep *store.Replica, ups []store.Alert, dels ...string) store.Change {
	t.Helper()
	cur, err := rep.Cursor()
	if err != nil {
		t.Fatal(err)
	}
	return store.Change{Epoch: cur.Epoch, Seq: cur.Seq, Hash: cur.Hash, Upserts: ups, Deletes: dels}
}

// After deltas, Persist writes the term table and the name index at the
// state the index holds; the next start loads both (no walk, no person
// decrypted) and sees the deltas: a new person, a misspelling of it, a
// new company's EORI, a new plate, and not a deleted person.
func TestPersistAfterDeltas(t *testing.T) {
	ctx := context.Background()
	rep, qs := seededReplica(t)
	ix, _ := loadCounting(t, rep)
	if ok, err := ix.Persist(ctx); ok || err != nil {
		t.Fatalf("nothing applied since the load: Persist wrote (%v, %v)", ok, err)
	}
	ups := []store.Alert{
		alert("late", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Forenames: "Oluwaseun", Surname: "Adeyemi-Bakare", BirthDate: "1971-04-05"}}),
		alert("lateco", store.Subject{Kind: store.SubjectCompany, Company: &store.Company{Name: "Vostochny Logistik OOO", EORI: "PL999888777666555"}}),
		alert("latecar", store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "XY 4242", PlateCountry: "DE"}}),
	}
	applyChange(t, rep, 2, ups, []string{"n1"})
	// Committed, not yet applied to the index: its state is not the
	// replica's, so nothing is written.
	if ok, err := ix.Persist(ctx); ok || err != nil {
		t.Fatalf("before any Apply: (%v, %v), want nothing to do", ok, err)
	}
	ix.Apply(changeOf(t, rep, ups, "n1"))
	applyChange(t, rep, 3, []store.Alert{alert("later", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Zbigniewska"}})}, nil)
	if ok, err := ix.Persist(ctx); ok || !errors.Is(err, ErrNotPersisted) {
		t.Fatalf("a change committed, not applied: (%v, %v), want ErrNotPersisted", ok, err)
	}
	ix.Apply(changeOf(t, rep, []store.Alert{alert("later", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Zbigniewska"}})}))
	if stale, _ := ix.Stale(); !stale {
		t.Fatal("changes applied, but the index does not say its files are stale")
	}
	if ok, err := ix.Persist(ctx); !ok || err != nil {
		t.Fatalf("Persist: (%v, %v)", ok, err)
	}
	if stale, _ := ix.Stale(); stale {
		t.Fatal("persisted, still stale")
	}
	var log bytes.Buffer
	c := &countingReplica{Replica: rep}
	next, err := loadByTerm(ctx, rep, c, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if c.named != 0 || strings.Contains(log.String(), "walking the term index") {
		t.Fatalf("the start after Persist decrypted %d persons or walked the term index:\n%s", c.named, log.String())
	}
	want := answers(t, ix, qs)
	sameAnswers(t, "after Persist", answers(t, next, qs), want)
	for _, q := range []struct {
		it   devices.Item
		want string
	}{
		{devices.Item{Kind: devices.KindPerson, Value: "Oluwaseun Adeyemi Bakare"}, "late"},
		{devices.Item{Kind: devices.KindPerson, Value: "Oluwasuen Adeyemi-Bakere"}, "late"},
		{devices.Item{Kind: devices.KindPerson, Value: "Zbigniewska"}, "later"},
		{devices.Item{Kind: devices.KindCompany, Value: "Vostochny Logistik"}, "lateco"},
		{devices.Item{Kind: devices.KindEORI, Value: "PL999888777666555"}, "lateco"},
		{devices.Item{Kind: devices.KindPlate, Country: "DE", Value: "XY4242", Raw: "XY4242"}, "latecar"},
	} {
		got := mustLookup(t, next, q.it, now)
		if len(got) == 0 || got[0].Alert.ID != q.want {
			t.Errorf("%s %q after Persist and a restart: %+v, want %s", q.it.Kind, q.it.Value, got, q.want)
		}
	}
	for _, q := range qs {
		for _, c := range mustLookup(t, next, q, now) {
			if c.Alert.ID == "n1" {
				t.Errorf("%q: the deleted alert n1 is a hit", q.Value)
			}
		}
	}
	// Put outside Apply: the index no longer knows its state.
	next.Put(alert("stray", store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: "Stray"}}))
	applyChange(t, rep, 4, nil, []string{"n2"})
	next.Apply(changeOf(t, rep, nil, "n2"))
	if ok, err := next.Persist(ctx); ok || !errors.Is(err, ErrNotPersisted) {
		t.Fatalf("after a Put outside Apply: (%v, %v), want ErrNotPersisted", ok, err)
	}
}

// Lookups go on while Persist writes the files, and a change applied
// meanwhile waits for the name index, then is taken by the next Persist
// (run with -race).
func TestPersistWhileCheckingAndApplying(t *testing.T) {
	ctx := context.Background()
	rep, qs := seededReplica(t)
	ix, _ := loadCounting(t, rep)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := ix.Lookup(qs[i%len(qs)], now); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for seq := uint64(2); seq < 6; seq++ {
		a := alert(fmt.Sprintf("d%d", seq), store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: fmt.Sprintf("Kowalczyk%c", 'a'+seq)}})
		applyChange(t, rep, seq, []store.Alert{a}, nil)
		ch := changeOf(t, rep, []store.Alert{a})
		done := make(chan struct{})
		go func() { defer close(done); ix.Apply(ch) }()
		if _, err := ix.Persist(ctx); err != nil && !errors.Is(err, ErrNotPersisted) {
			t.Fatal(err)
		}
		<-done
	}
	if ok, err := ix.Persist(ctx); err != nil || (!ok && func() bool { s, _ := ix.Stale(); return s }()) {
		t.Fatalf("last Persist: %v, %v", ok, err)
	}
	close(stop)
	wg.Wait()
	next, n := loadCounting(t, rep)
	if n != 0 {
		t.Fatalf("decrypted %d after the last Persist", n)
	}
	if got := mustLookup(t, next, devices.Item{Kind: devices.KindPerson, Value: "Kowalczykf"}, now); len(got) == 0 || got[0].Alert.ID != "d5" {
		t.Fatalf("the last change's person: %+v", got)
	}
}
