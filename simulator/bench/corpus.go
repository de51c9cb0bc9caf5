package bench

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/borderpost/borderpost/agent/match/name"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/store"
)

// The generated list is cut into blocks of blockSize alerts, each drawn
// from its own seeded source: alert i is always the same whatever else is
// generated, so the bench streams the list into the replica without
// holding it, and later regenerates only the blocks it draws planted
// checks from (also when it reuses a replica built by an earlier run).
const blockSize = 64

// Mix is a kind of generated list: the share of persons and companies,
// drawn from the name generator with their aliases, and the mix of the
// identifier alerts that make up the rest.
type Mix struct {
	Name      string
	NameShare float64
	Objects   watchlist.Mix
}

// Mixes are the lists the bench knows by name. "default" is the list of
// issue 3's bench (65 % names), kept so that figures stay comparable;
// "sis" is a SIS-like list (issue 16): 2 % persons and companies, the rest
// identifiers in SIS proportions (watchlist.SISObjectMix).
var Mixes = map[string]Mix{
	"default": {Name: "default", NameShare: 0.65, Objects: watchlist.Mix{Vehicle: 15, Container: 10, Document: 10}},
	"sis":     {Name: "sis", NameShare: 0.02, Objects: watchlist.SISObjectMix},
}

// LookupMix returns the mix of that name.
func LookupMix(n string) (Mix, error) {
	if n == "" {
		n = "default"
	}
	m, ok := Mixes[n]
	if !ok {
		names := make([]string, 0, len(Mixes))
		for k := range Mixes {
			names = append(names, k)
		}
		slices.Sort(names)
		return Mix{}, fmt.Errorf("%w: %q; use one of %s", ErrUnknownMix, n, strings.Join(names, ", "))
	}
	return m, nil
}

// blocks returns the number of blocks of a list of n alerts.
func blocks(n int) int { return (n + blockSize - 1) / blockSize }

// alertID names alert i of a generated list.
func alertID(i int) string { return fmt.Sprintf("G%010d", i) }

// block returns alerts b*blockSize up to the end of block b of a list of
// n alerts.
func (m Mix) block(seed uint64, b, n int) []store.Alert {
	rng := rand.New(rand.NewPCG(seed, uint64(b)*0x9e3779b97f4a7c15+1))
	count := min(blockSize, n-b*blockSize)
	isName := make([]bool, count)
	k := 0
	for i := range isName {
		if rng.Float64() < m.NameShare {
			isName[i] = true
			k++
		}
	}
	entries := name.Generate(rng, k)
	objects := watchlist.NewGenerator(rng.Uint64(), m.Objects)
	out := make([]store.Alert, count)
	for i := range out {
		if isName[i] {
			out[i] = nameAlert(entries[0])
			entries = entries[1:]
		} else {
			out[i] = objects.Alert()
		}
		out[i].ID = alertID(b*blockSize + i)
	}
	return out
}

// nameAlert turns a generated name entry into a person or company alert.
func nameAlert(e name.Entry) store.Alert {
	a := store.Alert{Version: 1, Source: "SIS", Action: "discreet check", Purposes: []string{"border"}}
	if e.Kind == name.KindCompany {
		a.Category = "economic-operator"
		a.Subject = store.Subject{Kind: store.SubjectCompany, Company: &store.Company{Name: e.Names[0], Aliases: e.Names[1:]}}
		if len(e.Nationalities) > 0 {
			a.Subject.Company.Country = e.Nationalities[0]
		}
		return a
	}
	a.Category = "art36-person"
	a.Subject = store.Subject{Kind: store.SubjectPerson, Person: &store.Person{Surname: e.Names[0], Aliases: e.Names[1:],
		BirthDate: e.BirthDate, Nationalities: e.Nationalities, Sex: e.Sex}}
	return a
}

// stream generates the whole list of n alerts in order, in batches of
// about batch alerts, and hands each batch to fn, which may keep it.
func (m Mix) stream(seed uint64, n, batch int, fn func([]store.Alert) error) error {
	var buf []store.Alert
	for b := range blocks(n) {
		buf = append(buf, m.block(seed, b, n)...)
		if len(buf) >= batch || b == blocks(n)-1 {
			if err := fn(buf); err != nil {
				return err
			}
			buf = nil
		}
	}
	return nil
}

// WriteCorpus writes the benchmark's generated list as alert JSON Lines
// (docs/alerts.md) to alerts, and queries names in the screening CSV form
// (ref,kind,name,birth_date,nationality) to queriesOut: seven in ten are
// names of alerts altered as one of the bench's name kinds, in turn; the
// rest are names on no alert (generated names whose normalised tokens no
// name of the list has).
func WriteCorpus(cfg Config, alerts, queriesOut io.Writer, queries int) error {
	m, err := LookupMix(cfg.Mix)
	if err != nil {
		return err
	}
	noise := newNoise(cfg.Seed, max(queries*3/10, 1))
	bw := bufio.NewWriter(alerts)
	enc := json.NewEncoder(bw)
	err = m.stream(cfg.Seed, cfg.Alerts, 10000, func(as []store.Alert) error {
		for i := range as {
			noise.drop(&as[i])
			if err := enc.Encode(as[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if queriesOut == nil || queries == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(cfg.Seed+3, 0x5bd1e995))
	s := drawSample(m, cfg.Seed, cfg.Alerts, max(queries, 1), rng)
	w := csv.NewWriter(queriesOut)
	w.Write([]string{"ref", "kind", "name", "birth_date", "nationality"})
	kept := noise.kept()
	for i := range queries {
		var it nameItem
		if i%10 < 7 || len(kept) == 0 {
			q, ok := plantName(rng, s.names, NameKinds[i%len(NameKinds)])
			if !ok {
				continue
			}
			it = q
		} else {
			it = kept[i%len(kept)]
		}
		if err := w.Write([]string{fmt.Sprintf("q%06d", i+1), string(it.kind), it.value, "", ""}); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}
