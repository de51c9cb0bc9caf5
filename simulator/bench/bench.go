// Package bench measures the matching engine the way issue 3 asks: a
// replica of N generated alerts of realistic mix, checks with planted true
// matches and realistic noise, latency per kind of check at p50 and p99,
// build time, heap, and the share of planted matches found.
//
// It drives agent/match, the agent's matching library, in process; it
// never starts the agent itself and never touches the network.
package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/borderpost/borderpost/agent/match"
	"github.com/borderpost/borderpost/agent/match/name"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/store"
)

// Config describes a run.
type Config struct {
	Alerts  int    // replica size
	Queries int    // checks per kind; declarations get a tenth
	Seed    uint64 // same seed, same run
	Out     io.Writer
}

// Latency is the distribution of one kind of check.
type Latency struct {
	N     int     `json:"n"`
	P50us float64 `json:"p50_us"`
	P99us float64 `json:"p99_us"`
}

// Report is the outcome of a run, in the form the issue specifies.
type Report struct {
	Alerts       int     `json:"alerts"`
	Gomaxprocs   int     `json:"gomaxprocs"`
	BuildSeconds float64 `json:"build_seconds"`
	HeapBytes    uint64  `json:"heap_bytes"` // the match index alone
	// CorpusBytes is the heap of the generated alerts the run keeps to
	// draw its queries from; it is not part of the engine.
	CorpusBytes uint64             `json:"corpus_heap_bytes"`
	Checks      map[string]Latency `json:"checks"`
	Recall      float64            `json:"recall"`
	// FalseHitRate is the share of noise checks (nothing planted) that
	// produced a hit.
	FalseHitRate float64 `json:"false_hit_rate"`
}

// corpus is the generated replica and what the queries draw on.
type corpus struct {
	alerts                   []store.Alert
	names                    []store.Alert // persons and companies
	plates, boxes, documents []store.Alert
}

func build(cfg Config, rng *rand.Rand) corpus {
	var c corpus
	nNames := cfg.Alerts * 65 / 100
	for i, e := range name.Generate(rng, nNames) {
		a := store.Alert{ID: fmt.Sprintf("N%08d", i+1), Version: 1, Action: "discreet check", Purposes: []string{"border"}}
		if e.Kind == name.KindCompany {
			a.Subject = store.Subject{Kind: store.SubjectCompany, Company: &store.Company{Name: e.Names[0], Aliases: e.Names[1:]}}
			if len(e.Nationalities) > 0 {
				a.Subject.Company.Country = e.Nationalities[0]
			}
		} else {
			a.Subject = store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: e.Names[0], Aliases: e.Names[1:],
				BirthDate: e.BirthDate, Nationalities: e.Nationalities, Sex: e.Sex}}
		}
		c.alerts = append(c.alerts, a)
		c.names = append(c.names, a)
	}
	g := watchlist.NewGenerator(cfg.Seed, watchlist.Mix{Vehicle: 15, Container: 10, Document: 10})
	for len(c.alerts) < cfg.Alerts {
		a := g.Alert()
		c.alerts = append(c.alerts, a)
		switch a.Subject.Kind {
		case store.SubjectVehicle:
			c.plates = append(c.plates, a)
		case store.SubjectContainer:
			c.boxes = append(c.boxes, a)
		case store.SubjectDocument:
			c.documents = append(c.documents, a)
		}
	}
	return c
}

// query is one check with the alert planted in it, if any.
type query struct {
	items []devices.Item
	want  string // planted alert ID, "" for noise
}

// Run builds the replica and runs the checks.
func Run(cfg Config) (Report, error) {
	if cfg.Queries <= 0 {
		cfg.Queries = 2000
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5bd1e995))
	say := func(format string, a ...any) {
		if cfg.Out != nil {
			fmt.Fprintf(cfg.Out, format+"\n", a...)
		}
	}
	c := build(cfg, rng)
	say("generated %d alerts: %d names, %d plates, %d containers, %d documents", len(c.alerts), len(c.names), len(c.plates), len(c.boxes), len(c.documents))

	heapNow := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	corpus := heapNow()
	start := time.Now()
	ix := match.NewIndex()
	for _, a := range c.alerts {
		ix.Put(a)
	}
	rep := Report{Alerts: cfg.Alerts, Gomaxprocs: runtime.GOMAXPROCS(0), BuildSeconds: time.Since(start).Seconds(), Checks: map[string]Latency{}}
	rep.HeapBytes, rep.CorpusBytes = heapNow()-corpus, corpus
	say("index built in %.1fs, index heap %.0f MiB (generated corpus %.0f MiB)", rep.BuildSeconds, float64(rep.HeapBytes)/(1<<20), float64(corpus)/(1<<20))

	noise := watchlist.NewGenerator(cfg.Seed+1, watchlist.DefaultMix)
	noiseNames := nameNoise(cfg.Seed, cfg.Queries)
	kinds := []struct {
		kind string
		make func(i int) query
	}{
		{"plate", func(i int) query {
			return identQuery(rng, c.plates, i, func() store.Alert { return noise.Alert() }, plateItem)
		}},
		{"container", func(i int) query { return identQuery(rng, c.boxes, i, noise.Alert, containerItem) }},
		{"document", func(i int) query { return identQuery(rng, c.documents, i, noise.Alert, documentItem) }},
		{"name", func(i int) query { return nameQuery(rng, c.names, i, noiseNames) }},
		{"ens", func(i int) query { return ensQuery(rng, c, noise, noiseNames, i) }},
	}
	var planted, found, noiseChecks, falseHits int
	now := time.Now()
	for _, k := range kinds {
		n := cfg.Queries
		if k.kind == "ens" {
			n = max(cfg.Queries/10, 10)
		}
		qs := make([]query, n)
		for i := range qs {
			qs[i] = k.make(i)
		}
		lat := make([]time.Duration, n)
		for i, q := range qs {
			t0 := time.Now()
			got := ix.LookupAll(q.items, now)
			lat[i] = time.Since(t0)
			hit := false
			any := false
			for _, cs := range got {
				for _, cand := range cs {
					any = true
					if cand.Alert.ID == q.want {
						hit = true
					}
				}
			}
			if q.want != "" {
				planted++
				if hit {
					found++
				}
			} else {
				noiseChecks++
				if any {
					falseHits++
				}
			}
		}
		slices.Sort(lat)
		rep.Checks[k.kind] = Latency{N: n, P50us: us(lat[n/2]), P99us: us(lat[n*99/100])}
		say("%-9s n=%5d p50 %7.1f µs p99 %7.1f µs", k.kind, n, us(lat[n/2]), us(lat[n*99/100]))
	}
	if planted > 0 {
		rep.Recall = float64(found) / float64(planted)
	}
	if noiseChecks > 0 {
		rep.FalseHitRate = float64(falseHits) / float64(noiseChecks)
	}
	return rep, nil
}

// nameNoise generates names that are not on the list: same generator,
// another seed.
func nameNoise(seed uint64, n int) []name.Entry {
	return name.Generate(rand.New(rand.NewPCG(seed+2, 7)), max(n, 1))
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// identQuery plants every other query on an alert of the list, written as
// a device sends it; the rest are identifiers of fresh alerts not in the
// replica.
func identQuery(rng *rand.Rand, list []store.Alert, i int, fresh func() store.Alert, item func(store.Alert) (devices.Item, bool)) query {
	if i%2 == 0 && len(list) > 0 {
		a := list[rng.IntN(len(list))]
		if it, ok := item(a); ok {
			return query{items: []devices.Item{it}, want: a.ID}
		}
	}
	for {
		if it, ok := item(fresh()); ok {
			return query{items: []devices.Item{it}}
		}
	}
}

func plateItem(a store.Alert) (devices.Item, bool) {
	if a.Subject.Kind != store.SubjectVehicle {
		return devices.Item{}, false
	}
	raw := strings.ToLower(a.Subject.Vehicle.Plate)
	iso, p, err := ident.NormalizePlate(a.Subject.Vehicle.PlateCountry, raw)
	return devices.Item{Kind: devices.KindPlate, Raw: raw, Value: p, Country: iso}, err == nil
}

func containerItem(a store.Alert) (devices.Item, bool) {
	if a.Subject.Kind != store.SubjectContainer {
		return devices.Item{}, false
	}
	v, err := ident.ParseContainer(a.Subject.Container.Number)
	return devices.Item{Kind: devices.KindContainer, Raw: a.Subject.Container.Number, Value: v}, err == nil
}

func documentItem(a store.Alert) (devices.Item, bool) {
	if a.Subject.Kind != store.SubjectDocument {
		return devices.Item{}, false
	}
	v, err := ident.NormalizeSimple(a.Subject.Document.Number)
	return devices.Item{Kind: devices.KindDocument, Raw: a.Subject.Document.Number, Value: v, Country: a.Subject.Document.Country}, err == nil
}

// nameQuery plants seven queries in ten on a person or company of the
// replica, with the noise of cargo data: another of its names, tokens
// reordered, one typo in a longer name, case lost. The rest are names of
// people and companies not in the replica.
func nameQuery(rng *rand.Rand, list []store.Alert, i int, noise []name.Entry) query {
	if i%10 < 7 {
		a := list[rng.IntN(len(list))]
		names, kind := alertNames(a)
		n := names[rng.IntN(len(names))]
		return query{items: []devices.Item{{Kind: kind, Value: garble(rng, n)}}, want: a.ID}
	}
	e := noise[i%len(noise)]
	kind := devices.KindPerson
	if e.Kind == name.KindCompany {
		kind = devices.KindCompany
	}
	return query{items: []devices.Item{{Kind: kind, Value: e.Names[0]}}}
}

func alertNames(a store.Alert) ([]string, devices.Kind) {
	if p := a.Subject.Person; p != nil {
		return append([]string{strings.TrimSpace(p.Forenames + " " + p.Surname)}, p.Aliases...), devices.KindPerson
	}
	c := a.Subject.Company
	return append([]string{c.Name}, c.Aliases...), devices.KindCompany
}

// garble applies the noise of a cargo declaration to a name.
func garble(rng *rand.Rand, n string) string {
	toks := strings.Fields(n)
	if len(toks) > 1 && rng.IntN(10) < 3 {
		toks[0], toks[len(toks)-1] = toks[len(toks)-1], toks[0]
	}
	if rng.IntN(2) == 0 {
		j := rng.IntN(len(toks))
		if r := []rune(toks[j]); len(r) >= 6 && isLatin(r) {
			p := 1 + rng.IntN(len(r)-2)
			switch rng.IntN(4) {
			case 0: // substitution
				r[p] = rune('a' + rng.IntN(26))
			case 1: // deletion
				r = append(r[:p], r[p+1:]...)
			case 2: // insertion
				r = append(r[:p], append([]rune{rune('a' + rng.IntN(26))}, r[p:]...)...)
			default: // transposition
				r[p], r[p-1] = r[p-1], r[p]
			}
			toks[j] = string(r)
		}
	}
	out := strings.Join(toks, " ")
	if rng.IntN(2) == 0 {
		out = strings.ToUpper(out)
	}
	return out
}

func isLatin(r []rune) bool {
	for _, c := range r {
		if c > 0x24F {
			return false
		}
	}
	return true
}

// ensQuery is a declaration of 10 parties, 4 containers and a vessel, one
// party and one container planted on the replica in half of them.
func ensQuery(rng *rand.Rand, c corpus, noise *watchlist.Generator, noiseNames []name.Entry, i int) query {
	var q query
	plant := i%2 == 0
	for p := range 10 {
		if plant && p == 3 {
			nq := nameQuery(rng, c.names, 0, noiseNames)
			q.items = append(q.items, nq.items...)
			q.want = nq.want
			continue
		}
		e := noiseNames[rng.IntN(len(noiseNames))]
		kind := devices.KindPerson
		if e.Kind == name.KindCompany {
			kind = devices.KindCompany
		}
		q.items = append(q.items, devices.Item{Kind: kind, Value: e.Names[0]})
	}
	for b := range 4 {
		if plant && b == 0 && len(c.boxes) > 0 {
			it, _ := containerItem(c.boxes[rng.IntN(len(c.boxes))])
			q.items = append(q.items, it)
			continue
		}
		q.items = append(q.items, devices.Item{Kind: devices.KindContainer, Value: noise.Container()})
	}
	q.items = append(q.items, devices.Item{Kind: devices.KindIMO, Value: "9074729"})
	return q
}
