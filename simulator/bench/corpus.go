package bench

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
)

// WriteCorpus writes the benchmark's generated replica as alert JSON
// Lines (docs/alerts.md) to alerts, and queries names in the screening
// CSV form (ref,kind,name,birth_date,nationality) to queries: seven in ten
// are garbled names of alerts, the rest names not on the list.
func WriteCorpus(cfg Config, alerts, queriesOut io.Writer, queries int) error {
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5bd1e995))
	c := build(cfg, rng)
	bw := bufio.NewWriter(alerts)
	enc := json.NewEncoder(bw)
	for _, a := range c.alerts {
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if queriesOut == nil || queries == 0 {
		return nil
	}
	w := csv.NewWriter(queriesOut)
	w.Write([]string{"ref", "kind", "name", "birth_date", "nationality"})
	noise := nameNoise(cfg.Seed, queries)
	for i := range queries {
		q := nameQuery(rng, c.names, i, noise)
		it := q.items[0]
		if err := w.Write([]string{fmt.Sprintf("q%06d", i+1), string(it.Kind), it.Value, it.BirthDate, it.Nationality}); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}
