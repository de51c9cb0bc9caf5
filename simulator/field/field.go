// Package field plays the scanners at a post: it posts plate and container
// reads to an agent's POST /v1/scans, a known set of which are planted to
// hit given alerts while the rest are noise that must not hit, and it
// checks the agent's answers against that plan.
//
// It talks to the agent over HTTP only, as a real device does, and it must
// never send traffic anywhere but the address it is given.
package field

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
	"github.com/borderpost/borderpost/devices/scan"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/store"
)

// Config says what to send.
type Config struct {
	URL         string // the agent's base URL, e.g. http://127.0.0.1:8443
	RunID       string // prefix of scan IDs, unique per run
	Scans       int    // how many reads in all
	Planted     int    // how many of them are planted to hit
	Concurrency int    // parallel senders; default 4
	// Rate limits reads per second across all senders; 0 sends as fast as
	// the agent answers.
	Rate   float64
	Seed   uint64
	Alerts []store.Alert // the watch list the agent holds
	Device string        // default "sim-gate"
	// OnHit, if set, is called for every hit the agent reports.
	OnHit func(scanID string, h devices.Hit)
	// Progress, if set, counts reads answered so far, for callers that
	// act at a point of the run.
	Progress *atomic.Int64
	// OnAnswer, if set, is called for every read the agent answered
	// without error, with how long the sender waited for the answer.
	OnAnswer func(wait time.Duration)
}

// Planted is a read that must hit AlertID.
type Planted struct {
	ScanID  string
	AlertID string
}

// Report is the outcome of a run.
type Report struct {
	Sent       int
	Refused    int // reads the agent answered with an error
	Hits       int // hits the agent reported
	Planted    []Planted
	Missed     []Planted // planted reads the agent did not report as hits
	Unexpected []string  // scan IDs of noise reads that hit
	Elapsed    time.Duration
}

// ScansPerSecond is the achieved rate.
func (r Report) ScansPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

type job struct {
	read   scan.Read
	alert  string    // planted alert ID, or ""
	queued time.Time // when the sender handed it on: the answer's wait counts from here
}

// Run sends the reads and returns the report. It stops early when ctx
// ends.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Device == "" {
		cfg.Device = "sim-gate"
	}
	next, err := planner(cfg)
	if err != nil {
		return Report{}, err
	}
	var rep Report
	// One kept connection per sender, as a lane's device keeps its own:
	// the default transport keeps two, so the other senders opened and
	// closed a connection per read, and the agent spent an eighth of its
	// CPU accepting and closing them.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.Concurrency
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: 30 * time.Second, Transport: tr}
	var mu sync.Mutex
	var wg sync.WaitGroup
	ch := make(chan job)
	start := time.Now()
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				res, err := post(ctx, client, cfg.URL, j.read)
				if err == nil && cfg.OnAnswer != nil {
					// From the hand-on, not from the post: a read that
					// waited for a free sender because the agent was slow
					// waited for the agent.
					cfg.OnAnswer(time.Since(j.queued))
				}
				if cfg.Progress != nil {
					cfg.Progress.Add(1)
				}
				mu.Lock()
				rep.Sent++
				if err != nil {
					rep.Refused++
					mu.Unlock()
					continue
				}
				rep.Hits += len(res.Hits)
				hitAlert := false
				for _, h := range res.Hits {
					if h.AlertID == j.alert {
						hitAlert = true
					}
				}
				switch {
				case j.alert != "" && !hitAlert:
					rep.Missed = append(rep.Missed, Planted{ScanID: j.read.ID, AlertID: j.alert})
				case j.alert == "" && len(res.Hits) > 0:
					rep.Unexpected = append(rep.Unexpected, j.read.ID)
				}
				mu.Unlock()
				if cfg.OnHit != nil {
					for _, h := range res.Hits {
						cfg.OnHit(j.read.ID, h)
					}
				}
			}
		}()
	}
	pace := newPacer(start, cfg.Rate)
send:
	for i := range cfg.Scans {
		j := next(i)
		if j.alert != "" {
			mu.Lock()
			rep.Planted = append(rep.Planted, Planted{ScanID: j.read.ID, AlertID: j.alert})
			mu.Unlock()
		}
		if err := pace.wait(ctx, i); err != nil {
			break send
		}
		j.queued = time.Now()
		select {
		case ch <- j:
		case <-ctx.Done():
			break send
		}
	}
	close(ch)
	wg.Wait()
	rep.Elapsed = time.Since(start)
	return rep, ctx.Err()
}

// planner returns a function that makes read i of the run: Planted of
// the Scans reads are taken from plate and container alerts (written the
// way cameras send them: lower case, separators), evenly spread; the rest
// are random values that no alert holds. Reads are made one at a time, so
// an endless run needs no memory for its plan.
func planner(cfg Config) (func(i int) job, error) {
	g := watchlist.NewGenerator(cfg.Seed, watchlist.DefaultMix)
	held := make(map[string]bool)
	var targets []store.Alert
	for _, a := range cfg.Alerts {
		switch a.Subject.Kind {
		case store.SubjectVehicle:
			if iso, p, err := ident.NormalizePlate(a.Subject.Vehicle.PlateCountry, a.Subject.Vehicle.Plate); err == nil {
				held["p"+iso+p] = true
				targets = append(targets, a)
			}
		case store.SubjectContainer:
			held["c"+a.Subject.Container.Number] = true
			targets = append(targets, a)
		}
	}
	if cfg.Planted > 0 && len(targets) == 0 {
		return nil, fmt.Errorf("no plate or container alerts to plant hits on")
	}
	if cfg.Planted > cfg.Scans {
		return nil, fmt.Errorf("planted %d > scans %d", cfg.Planted, cfg.Scans)
	}
	return func(i int) job {
		rd := scan.Read{ID: fmt.Sprintf("%s-%06d", cfg.RunID, i+1), Device: cfg.Device, Lane: fmt.Sprintf("%d", 1+i%4), Confidence: 0.9}
		// Read i is planted when i*P mod S < P: exactly P of S, evenly spread.
		if int64(i)*int64(cfg.Planted)%int64(cfg.Scans) < int64(cfg.Planted) {
			a := targets[g.Intn(len(targets))]
			if a.Subject.Kind == store.SubjectVehicle {
				rd.Kind, rd.Country = "plate", strings.ToLower(a.Subject.Vehicle.PlateCountry)
				rd.Value = spaced(strings.ToLower(a.Subject.Vehicle.Plate), "-")
			} else {
				rd.Kind, rd.Value = "container", spaced(a.Subject.Container.Number, " ")
			}
			return job{read: rd, alert: a.ID}
		}
		for {
			if g.Intn(2) == 0 {
				rd.Kind, rd.Country, rd.Value = "plate", g.Country(), g.Plate()
				if !held["p"+rd.Country+rd.Value] {
					return job{read: rd}
				}
			} else {
				rd.Kind, rd.Country, rd.Value = "container", "", g.Container()
				if !held["c"+rd.Value] {
					return job{read: rd}
				}
			}
		}
	}, nil
}

// spaced puts sep after the fourth character, as plates and containers are
// often printed.
func spaced(s, sep string) string {
	if len(s) < 6 {
		return s
	}
	return s[:4] + sep + s[4:]
}

func post(ctx context.Context, c *http.Client, base string, rd scan.Read) (devices.Result, error) {
	var res devices.Result
	body, _ := json.Marshal(rd)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/v1/scans", bytes.NewReader(body))
	if err != nil {
		return res, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return res, fmt.Errorf("agent answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return res, json.Unmarshal(b, &res)
}

// pacer spaces reads by a schedule: read i is due rate*i seconds after
// the start. A time.Ticker drops ticks its reader misses, so a sender
// delayed by a busy machine sent fewer reads than asked and the run
// reported the shortfall as the agent's; a read late on its schedule goes
// at once instead, and the rate holds on average.
type pacer struct {
	start time.Time
	every float64 // nanoseconds between reads; 0 for no pacing
	timer *time.Timer
}

// paceSlack is how far ahead of its time a read may go: sleeping for
// less than a timer's resolution would cost more than it keeps, so reads
// leave in small bursts of at most this span.
const paceSlack = time.Millisecond

func newPacer(start time.Time, rate float64) *pacer {
	p := &pacer{start: start}
	if rate > 0 {
		p.every = float64(time.Second) / rate
	}
	return p
}

// due is when read i is due.
func (p *pacer) due(i int) time.Time {
	return p.start.Add(time.Duration(float64(i) * p.every))
}

// wait returns when read i may go, or ctx's error.
func (p *pacer) wait(ctx context.Context, i int) error {
	if p.every == 0 {
		return ctx.Err()
	}
	d := time.Until(p.due(i))
	if d <= paceSlack {
		return ctx.Err()
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
