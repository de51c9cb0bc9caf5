package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/borderpost/borderpost/agent/match"
	"github.com/borderpost/borderpost/agent/match/name"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
	"github.com/borderpost/borderpost/store"
)

// screenHit is one hit of a screened name, as written to the output.
type screenHit struct {
	AlertID     string  `json:"alert_id"`
	Score       float64 `json:"score"`
	Explanation string  `json:"explanation"`
}

type screenResult struct {
	Ref   string      `json:"ref"`
	Hits  []screenHit `json:"hits"`
	Error string      `json:"error,omitempty"`
}

func screenCmd() *cobra.Command {
	var cfgPath, alertsPath, input, output string
	var threshold float64
	var top int
	cmd := &cobra.Command{
		Use:   "screen",
		Short: "Screen a CSV of names (ref,kind,name,birth_date,nationality) against the replica; write one JSON line per name, best hits first",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			ix, n, err := screenIndex(ctx, cfgPath, alertsPath)
			if err != nil {
				return err
			}
			in, err := os.Open(input)
			if err != nil {
				return err
			}
			defer in.Close()
			out := cmd.OutOrStdout()
			if output != "-" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			start := time.Now()
			count, err := screen(in, out, ix, threshold, top)
			if err != nil {
				return err
			}
			el := time.Since(start)
			fmt.Fprintf(cmd.ErrOrStderr(), "screened %d names against %d alerts on persons and companies in %s (%.0f names/s)\n", count, n, el.Round(time.Millisecond), float64(count)/el.Seconds())
			return nil
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "agent configuration: screen against its replica")
	cmd.Flags().StringVar(&alertsPath, "alerts", "", "screen against an alerts JSON Lines file (docs/alerts.md) instead of a replica")
	cmd.Flags().StringVar(&input, "input", "", "CSV with header ref,kind,name,birth_date,nationality")
	cmd.Flags().StringVar(&output, "output", "-", "JSON Lines output (- for standard output)")
	cmd.Flags().Float64Var(&threshold, "threshold", name.DefaultThreshold, "lowest score that counts as a hit")
	cmd.Flags().IntVar(&top, "top", 10, "hits per name at most")
	cmd.MarkFlagRequired("input")
	return cmd
}

// screenIndex loads the alerts to screen against: those on persons and
// companies, and returns how many. The index keeps no alert: screen
// reports alert IDs, and the index reads nothing else.
func screenIndex(ctx context.Context, cfgPath, alertsPath string) (*match.Index, int, error) {
	ix := match.NewIndexOn(alertRefs{}, match.Options{})
	switch {
	case alertsPath != "":
		f, err := os.Open(alertsPath)
		if err != nil {
			return nil, 0, err
		}
		defer f.Close()
		if err := readAlertsFile(f, alertsPath, func(a store.Alert) { putNamed(ix, a) }); err != nil {
			return nil, 0, err
		}
		return ix, ix.Len(), nil
	case cfgPath != "":
		cfg, err := loadConfig(cfgPath)
		if err != nil {
			return nil, 0, err
		}
		kp, err := keyProvider(cfg, nil)
		if err != nil {
			return nil, 0, err
		}
		rep, err := store.Open(ctx, cfg.Store.Path, kp, match.WithTerms(store.Options{}))
		if err != nil {
			return nil, 0, err
		}
		defer rep.Close()
		err = rep.Alerts(ctx, func(a store.Alert) error { putNamed(ix, a); return nil })
		return ix, ix.Len(), err
	}
	return nil, 0, errors.New("name the alerts to screen against: --config (the agent's replica) or --alerts FILE")
}

// alertRefs is the alert source of a screen: it answers each ID with an
// alert bearing only that ID, all screen writes of a hit.
type alertRefs struct{}

func (alertRefs) AlertsByID(ids []string) ([]store.Alert, error) {
	out := make([]store.Alert, len(ids))
	for i, id := range ids {
		out[i].ID = id
	}
	return out, nil
}

// readAlertsFile decodes and validates an alerts JSON Lines file on every
// core and calls put with each alert in file order. It fails on the
// first line (by number) that does not decode or validate.
func readAlertsFile(r io.Reader, path string, put func(store.Alert)) error {
	type chunk struct {
		first  int // line number of lines[0]
		lines  [][]byte
		alerts []store.Alert
		err    error
	}
	const chunkLines = 4096
	workers := runtime.GOMAXPROCS(0)
	todo := make(chan *chunk, workers)
	done := make(chan *chunk, workers)
	order := make(chan *chunk, 2*workers) // chunks in file order, filled by the workers
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range todo {
				for i, b := range c.lines {
					if len(bytes.TrimSpace(b)) == 0 {
						continue
					}
					var a store.Alert
					err := json.Unmarshal(b, &a)
					if err == nil {
						err = a.Validate()
					}
					if err != nil {
						c.err = fmt.Errorf("%s line %d: %w", path, c.first+i, err)
						break
					}
					c.alerts = append(c.alerts, a)
				}
				c.lines = nil
				done <- c
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	var readErr error
	go func() {
		defer close(todo)
		defer close(order)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		c := &chunk{first: 1}
		line := 0
		for sc.Scan() {
			line++
			c.lines = append(c.lines, bytes.Clone(sc.Bytes()))
			if len(c.lines) == chunkLines {
				order <- c
				todo <- c
				c = &chunk{first: line + 1}
			}
		}
		readErr = sc.Err()
		if len(c.lines) > 0 {
			order <- c
			todo <- c
		}
	}()
	finished := map[*chunk]bool{}
	var firstErr error
	for c := range order {
		for !finished[c] {
			d, ok := <-done
			if !ok {
				break
			}
			finished[d] = true
		}
		delete(finished, c)
		if firstErr == nil && c.err != nil {
			firstErr = c.err
		}
		if firstErr == nil {
			for _, a := range c.alerts {
				put(a)
			}
		}
		c.alerts = nil
	}
	for range done { // drain, so no worker is left blocked
	}
	if firstErr != nil {
		return firstErr
	}
	return readErr
}

// putNamed indexes the alerts screen can match, those on persons and
// companies: the identifiers (most of a watch list) would only take memory.
func putNamed(ix *match.Index, a store.Alert) {
	if a.Subject.Kind == store.SubjectPerson || a.Subject.Kind == store.SubjectCompany {
		ix.Put(a)
	}
}

// screen reads the CSV, checks the names on every core, and writes the
// results in input order.
func screen(in io.Reader, out io.Writer, ix *match.Index, threshold float64, top int) (int, error) {
	r := csv.NewReader(bufio.NewReader(in))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return 0, fmt.Errorf("read CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	for _, need := range []string{"ref", "kind", "name"} {
		if _, ok := col[need]; !ok {
			return 0, fmt.Errorf("CSV header lacks column %q (want ref,kind,name,birth_date,nationality)", need)
		}
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	type job struct {
		n   int
		rec []string
	}
	jobs := make(chan job, 256)
	results := make(chan struct {
		n   int
		res screenResult
	}, 256)
	now := time.Now()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res := screenResult{Ref: field(j.rec, "ref"), Hits: []screenHit{}}
				it, err := screenItem(field(j.rec, "kind"), field(j.rec, "name"), field(j.rec, "birth_date"), field(j.rec, "nationality"))
				if err != nil {
					res.Error = err.Error()
				} else {
					cands, err := ix.LookupName(it, now, threshold, top)
					if err != nil {
						res.Error = err.Error()
					}
					for _, c := range cands {
						res.Hits = append(res.Hits, screenHit{AlertID: c.Alert.ID, Score: c.Score, Explanation: c.Explanation})
					}
				}
				results <- struct {
					n   int
					res screenResult
				}{j.n, res}
			}
		}()
	}
	var readErr error
	go func() {
		defer close(jobs)
		for n := 0; ; n++ {
			rec, err := r.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				readErr = err
				return
			}
			jobs <- job{n, rec}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	pending := map[int]screenResult{}
	next := 0
	for r := range results {
		pending[r.n] = r.res
		for res, ok := pending[next]; ok; res, ok = pending[next] {
			if err := enc.Encode(res); err != nil {
				return next, err
			}
			delete(pending, next)
			next++
		}
	}
	if err := w.Flush(); err != nil {
		return next, err
	}
	return next, readErr
}

// screenItem validates one CSV row into a name item.
func screenItem(kind, nm, birth, nationality string) (devices.Item, error) {
	it := devices.Item{Field: "name", Value: nm, BirthDate: birth}
	switch strings.ToLower(kind) {
	case "person":
		it.Kind = devices.KindPerson
	case "company":
		it.Kind = devices.KindCompany
	default:
		return it, fmt.Errorf("kind %q: want person or company", kind)
	}
	if strings.TrimSpace(nm) == "" {
		return it, errors.New("name is empty")
	}
	if nationality != "" {
		c, err := ident.ParseCountry(nationality)
		if err != nil {
			return it, fmt.Errorf("nationality: %w", err)
		}
		it.Nationality = c
	}
	if birth != "" {
		ok := false
		for _, layout := range []string{"2006", "2006-01", "2006-01-02"} {
			if _, err := time.Parse(layout, birth); err == nil && len(birth) == len(layout) {
				ok = true
			}
		}
		if !ok {
			return it, fmt.Errorf("birth_date %q: want YYYY, YYYY-MM or YYYY-MM-DD", birth)
		}
	}
	return it, nil
}
