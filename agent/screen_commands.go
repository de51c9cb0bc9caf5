package main

import (
	"bufio"
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
			fmt.Fprintf(cmd.ErrOrStderr(), "screened %d names against %d alerts in %s (%.0f names/s)\n", count, n, el.Round(time.Millisecond), float64(count)/el.Seconds())
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

// screenIndex loads the alerts to screen against.
func screenIndex(ctx context.Context, cfgPath, alertsPath string) (*match.Index, int, error) {
	ix := match.NewIndex()
	switch {
	case alertsPath != "":
		f, err := os.Open(alertsPath)
		if err != nil {
			return nil, 0, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		line := 0
		for sc.Scan() {
			line++
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			var a store.Alert
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				return nil, 0, fmt.Errorf("%s line %d: %w", alertsPath, line, err)
			}
			if err := a.Validate(); err != nil {
				return nil, 0, fmt.Errorf("%s line %d: %w", alertsPath, line, err)
			}
			ix.Put(a)
		}
		return ix, ix.Len(), sc.Err()
	case cfgPath != "":
		cfg, err := loadConfig(cfgPath)
		if err != nil {
			return nil, 0, err
		}
		kp, err := keyProvider(cfg, nil)
		if err != nil {
			return nil, 0, err
		}
		rep, err := store.Open(ctx, cfg.Store.Path, kp, store.Options{})
		if err != nil {
			return nil, 0, err
		}
		defer rep.Close()
		err = rep.Alerts(ctx, func(a store.Alert) error { ix.Put(a); return nil })
		return ix, ix.Len(), err
	}
	return nil, 0, errors.New("name the alerts to screen against: --config (the agent's replica) or --alerts FILE")
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
					for _, c := range ix.LookupName(it, now, threshold, top) {
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
