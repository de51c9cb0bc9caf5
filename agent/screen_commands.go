package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/borderpost/borderpost/agent/match"
	"github.com/borderpost/borderpost/agent/match/name"
	"github.com/borderpost/borderpost/agent/post"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ident"
	"github.com/borderpost/borderpost/store"
)

// screenHit is one hit of a screened name, as written to the output.
type screenHit struct {
	AlertID     string  `json:"alert_id"`
	Score       float64 `json:"score"`
	Explanation string  `json:"explanation"`
	// Namesakes are more alerts whose names match at or above the
	// threshold, past the hits given for the row, best first
	// (match.Candidate.Namesakes).
	Namesakes []string `json:"namesakes,omitempty"`
}

// screenResult is one output line: one per input row, in input order.
// A row with Error set was not screened; a row with Warnings was
// screened without the fields they name.
type screenResult struct {
	Line     int         `json:"line"`
	Ref      string      `json:"ref"`
	Hits     []screenHit `json:"hits"`
	Warnings []string    `json:"warnings,omitempty"`
	Error    string      `json:"error,omitempty"`
}

// screenSummary counts the rows of one screen.
type screenSummary struct {
	Rows, Warned, Failed int
}

// The ranges --top and --threshold accept. Under 0.5 a score says little
// (README of agent/match/name); above 100 hits a row is no longer read.
const (
	screenMinThreshold = 0.5
	screenMaxTop       = 100
)

func screenCmd() *cobra.Command {
	var cfgPath, alertsPath, input, output string
	var threshold float64
	var top int
	var allowErrors bool
	cmd := &cobra.Command{
		Use:   "screen",
		Short: "Screen a CSV of names (ref,kind,name,birth_date,nationality) against the replica; write one JSON line per row, best hits first",
		Long: `Screen a CSV of names against the replica or an alerts file and write one JSON line per
input row, in input order. A birth date that does not exist or a nationality that is not understood
is left out of that row's screen and reported in its "warnings"; a row that cannot be screened at all
(unknown kind, empty name, malformed CSV) is written with its "error", counted in the summary, and
makes the command fail unless --allow-errors is given.

While it loads an alerts file (--alerts), screen sets a soft memory limit of the file's size and a
quarter plus 128 MiB (raised if the names need more), below which the collector runs at GOGC=200, so
that memory stays near what the index needs: about 0.5 GB for a file of a million alerts, two thirds
of them persons and companies. A GOMEMLIMIT in the environment leaves both alone, a GOGC the pace.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !(threshold >= screenMinThreshold && threshold <= 1) {
				return fmt.Errorf("--threshold %v: want a score from %.1f to 1", threshold, screenMinThreshold)
			}
			if top < 1 || top > screenMaxTop {
				return fmt.Errorf("--top %d: want 1 to %d hits per name", top, screenMaxTop)
			}
			ctx := cmd.Context()
			ix, n, done, err := screenIndex(ctx, cfgPath, alertsPath)
			if err != nil {
				return err
			}
			defer done()
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
			sum, err := screen(in, out, ix, threshold, top)
			if err != nil {
				return err
			}
			el := time.Since(start)
			fmt.Fprintf(cmd.ErrOrStderr(), "screened %d of %d rows against %d alerts on persons and companies in %s (%.0f rows/s); %d screened without a field (see their warnings), %d not screened (see their error)\n",
				sum.Rows-sum.Failed, sum.Rows, n, el.Round(time.Millisecond), float64(sum.Rows)/el.Seconds(), sum.Warned, sum.Failed)
			if sum.Failed > 0 && !allowErrors {
				return fmt.Errorf("%d of %d rows could not be screened; each is in the output with its error: correct them, or pass --allow-errors to accept that", sum.Failed, sum.Rows)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "agent configuration: screen against its replica")
	cmd.Flags().StringVar(&alertsPath, "alerts", "", "screen against an alerts JSON Lines file, read as replica import reads it (docs/alerts.md)")
	cmd.Flags().StringVar(&input, "input", "", "CSV with header ref,kind,name,birth_date,nationality (UTF-8, a byte order mark is accepted)")
	cmd.Flags().StringVar(&output, "output", "-", "JSON Lines output (- for standard output)")
	cmd.Flags().Float64Var(&threshold, "threshold", name.DefaultThreshold, "lowest score that counts as a hit (0.5 to 1)")
	cmd.Flags().IntVar(&top, "top", 10, "hits per name at most (1 to 100)")
	cmd.Flags().BoolVar(&allowErrors, "allow-errors", false, "exit 0 even when some rows could not be screened")
	cmd.MarkFlagRequired("input")
	return cmd
}

// screenIndex loads the alerts to screen against: those on persons and
// companies, and returns how many, and what to call when the screen is
// done. From an alerts file the index keeps no alert (screen reports
// alert IDs, and the index reads nothing else); from the agent's replica
// it is loaded as the agent loads it (match.Load: the name index file
// when current), reading the alert behind a hit from the replica, which
// stays open until done. A replica of 100 million alerts is then not
// decrypted whole to screen against its two million names.
func screenIndex(ctx context.Context, cfgPath, alertsPath string) (*match.Index, int, func() error, error) {
	switch {
	case alertsPath != "":
		f, err := os.Open(alertsPath)
		if err != nil {
			return nil, 0, nil, err
		}
		defer f.Close()
		// readAlertsFile refuses a file that gives an ID twice: the index
		// is loaded in bulk.
		ix := match.NewBulkIndexOn(alertRefs{}, match.Options{}, 0)
		var size int64
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		lim := startLoadMemoryLimit(size)
		defer lim.stop()
		// Alerts are decoded and prepared (names normalised, keys hashed)
		// on every core while this goroutine puts the prepared ones in.
		if err := readAlertsFile(f, alertsPath, func(a store.Alert) (match.Prepared, bool) {
			if !match.HasName(&a) {
				return match.Prepared{}, false // identifiers would only take memory
			}
			return ix.Prepare(a), true
		}, func(ps []match.Prepared) { ix.PutPrepared(ps); lim.update() }); err != nil {
			return nil, 0, nil, err
		}
		ix.Seal()
		return ix, ix.Len(), func() error { return nil }, nil
	case cfgPath != "":
		cfg, err := loadConfig(cfgPath)
		if err != nil {
			return nil, 0, nil, err
		}
		kp, err := keyProvider(cfg, nil)
		if err != nil {
			return nil, 0, nil, err
		}
		rep, err := store.Open(ctx, cfg.Store.Path, kp, match.WithTerms(store.Options{}))
		if err != nil {
			return nil, 0, nil, err
		}
		ix, err := match.Load(ctx, rep, post.MatchOptions(cfg))
		if err != nil {
			rep.Close()
			return nil, 0, nil, fmt.Errorf("load the match index of %s: %w", cfg.Store.Path, err)
		}
		return ix, ix.Named(), rep.Close, nil
	}
	return nil, 0, nil, errors.New("name the alerts to screen against: --config (the agent's replica) or --alerts FILE")
}

// loadMemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit)
// that screen sets while it loads an alerts file, so that the garbage of
// decoding a million alerts does not double the memory the index needs;
// below the limit the collector runs at GOGC=200, half as often as by
// default. At 1 million alerts (650,000 names): RSS 0.48 GB instead of
// 0.63 without either, and a tenth less CPU than the limit alone. The
// limit is the file's size and a quarter plus 128 MiB (the index of a
// file two thirds persons and companies takes about its size), and never
// less than the heap live at the last collection and a quarter plus
// 32 MiB, so that a list larger than expected makes the collector run
// more often, never without pause. A GOMEMLIMIT given in the environment
// leaves both alone, a GOGC the collector's pace.
type loadMemoryLimit struct {
	on        bool
	floor     int64 // the limit from the file's size
	set       int64 // the limit set last
	before    int64 // the limit before the load, restored by stop
	gcBefore  int   // the GC percent before the load
	gcChanged bool
	live      []metrics.Sample
}

// loadGCPercent is the collector's pace below the limit while loading.
const loadGCPercent = 200

// startLoadMemoryLimit sets the limit for loading a file of size bytes.
func startLoadMemoryLimit(size int64) *loadMemoryLimit {
	if os.Getenv("GOMEMLIMIT") != "" || size <= 0 {
		return &loadMemoryLimit{}
	}
	l := &loadMemoryLimit{on: true, floor: size + size/4 + 128<<20,
		live: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	l.set = l.floor
	l.before = debug.SetMemoryLimit(l.set)
	if os.Getenv("GOGC") == "" {
		l.gcBefore, l.gcChanged = debug.SetGCPercent(loadGCPercent), true
	}
	return l
}

// update raises the limit when the heap live grows past what the file's
// size let expect.
func (l *loadMemoryLimit) update() {
	if !l.on {
		return
	}
	metrics.Read(l.live)
	if l.live[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	live := int64(l.live[0].Value.Uint64())
	if want := max(l.floor, live+live/4+32<<20); want > l.set {
		l.set = want
		debug.SetMemoryLimit(want)
	}
}

// stop restores the limit and pace the load found: screening allocates
// little.
func (l *loadMemoryLimit) stop() {
	if l.on {
		debug.SetMemoryLimit(l.before)
	}
	if l.gcChanged {
		debug.SetGCPercent(l.gcBefore)
	}
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

// maxAlertLine bounds one line of an alerts file, as replica import does.
const maxAlertLine = 1 << 20

// readAlertsFile reads an alerts file in the format of replica import
// (store.Import): an optional {"snapshot":{...}} header on the first line,
// then one alert per line, decoded strictly (unknown fields refused) and
// validated; blank lines are skipped. It also refuses an alert ID that an
// earlier line holds and a file without alerts. Lines are decoded, and
// given to prepare, on every core; the items prepare keeps are given to
// put in file order, a run of lines at a time, on one goroutine, while
// the next lines are decoded. put has returned for the last time when
// readAlertsFile returns. Errors name the file and the first bad line, never its content.
func readAlertsFile[T any](r io.Reader, path string, prepare func(store.Alert) (T, bool), put func([]T)) error {
	type chunk struct {
		first int    // line number of the first line
		buf   []byte // the lines, each ended at ends[i]
		ends  []int
		ids   []alertIDKey // the ID of each alert, for the duplicate check
		items []T
		// lineOf is the line of each alert.
		lineOf []int32
		err    error
	}
	const chunkLines = 4096
	workers := runtime.GOMAXPROCS(0)
	todo := make(chan *chunk, workers)
	done := make(chan *chunk, workers)
	order := make(chan *chunk, 2*workers) // chunks in file order, filled by the workers
	idKey := newAlertIDKeyer()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range todo {
				start := 0
				for i, end := range c.ends {
					b := c.buf[start:end]
					start = end
					line := c.first + i
					if len(bytes.TrimSpace(b)) == 0 {
						continue
					}
					h, a, err := store.ParseImportLine(b, line == 1)
					if err != nil {
						c.err = fmt.Errorf("%s: line %d: %w", path, line, err)
						break
					}
					if h != nil {
						continue // the snapshot header: screen needs none of it
					}
					c.ids = append(c.ids, idKey.of(a.ID))
					c.lineOf = append(c.lineOf, int32(line))
					if it, ok := prepare(*a); ok {
						c.items = append(c.items, it)
					}
				}
				c.buf, c.ends = nil, nil
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
		sc.Buffer(make([]byte, 64<<10), maxAlertLine)
		// One buffer per chunk, not one per line: a million lines would
		// otherwise be a million allocations for the collector to follow.
		bufSize := 1 << 20
		c := &chunk{first: 1, buf: make([]byte, 0, bufSize)}
		line := 0
		for sc.Scan() {
			line++
			c.buf = append(c.buf, sc.Bytes()...)
			c.ends = append(c.ends, len(c.buf))
			if len(c.ends) == chunkLines {
				order <- c
				todo <- c
				bufSize = min(max(bufSize, len(c.buf)+len(c.buf)/8), 8<<20) // lines of a megabyte must not size every chunk
				c = &chunk{first: line + 1, buf: make([]byte, 0, bufSize)}
			}
		}
		if readErr = sc.Err(); errors.Is(readErr, bufio.ErrTooLong) {
			readErr = fmt.Errorf("%s: %w: line %d: longer than %d bytes", path, store.ErrImportFormat, line+1, maxAlertLine)
		}
		if len(c.ends) > 0 {
			order <- c
			todo <- c
		}
	}()
	// put runs on its own goroutine, so that checking the IDs of a chunk
	// overlaps with putting the one before.
	puts := make(chan []T, 2)
	putDone := make(chan struct{})
	go func() {
		defer close(putDone)
		for items := range puts {
			put(items)
		}
	}()
	finished := map[*chunk]bool{}
	// seen maps each alert ID (by its 128-bit keyed hash: 20 bytes and no
	// pointer per alert, where the ID strings would take three times that
	// and be walked by every collection) to the line that gave it.
	seen := map[alertIDKey]int32{}
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
		if firstErr == nil {
			for i, id := range c.ids {
				if first, dup := seen[id]; dup {
					firstErr = fmt.Errorf("%s: %w: line %d: alert ID already given on line %d", path, store.ErrImportFormat, c.lineOf[i], first)
					break
				}
				seen[id] = c.lineOf[i]
			}
		}
		if firstErr == nil && c.err != nil {
			firstErr = c.err
		}
		if firstErr == nil {
			puts <- c.items
		}
		c.ids, c.items, c.lineOf = nil, nil, nil
	}
	close(puts)
	for range done { // drain, so no worker is left blocked
	}
	<-putDone
	switch {
	case firstErr != nil:
		return firstErr
	case readErr != nil:
		return readErr
	case len(seen) == 0:
		return fmt.Errorf("%s: %w: no alerts in the file: nothing to screen against", path, store.ErrImportFormat)
	}
	return nil
}

// alertIDKey is an alert ID hashed to 128 bits with a random key: two IDs
// of a file of 100 million alerts share it with a probability of about
// 10^-23, far below that of a disk returning a wrong byte; and if they
// did, the file would be refused as holding a duplicate it does not hold,
// never the other way round.
type alertIDKey [2]uint64

// alertIDKeyer hashes alert IDs to alertIDKeys, with keys random per
// file; safe for concurrent use.
type alertIDKeyer struct{ s0, s1 maphash.Seed }

func newAlertIDKeyer() alertIDKeyer {
	return alertIDKeyer{maphash.MakeSeed(), maphash.MakeSeed()}
}

func (k alertIDKeyer) of(id string) alertIDKey {
	return alertIDKey{maphash.String(k.s0, id), maphash.String(k.s1, id)}
}

// screenRow is one CSV row to screen, or the error that made it
// unreadable.
type screenRow struct {
	n, line int
	rec     []string
	err     error
}

// screen reads the CSV, checks the names on every core, and writes one
// result per row in input order. Only an unreadable header or an I/O
// error stops it; a malformed row is written with its error.
func screen(in io.Reader, out io.Writer, ix *match.Index, threshold float64, top int) (screenSummary, error) {
	var sum screenSummary
	br := bufio.NewReader(in)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3) // a UTF-8 byte order mark, as spreadsheet programs write
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return sum, fmt.Errorf("read CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	for _, need := range []string{"ref", "kind", "name"} {
		if _, ok := col[need]; !ok {
			return sum, fmt.Errorf("CSV header lacks column %q (want ref,kind,name,birth_date,nationality)", need)
		}
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	jobs := make(chan screenRow, 256)
	type done struct {
		n   int
		res screenResult
	}
	results := make(chan done, 256)
	now := time.Now()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res := screenResult{Line: j.line, Ref: field(j.rec, "ref"), Hits: []screenHit{}}
				if j.err != nil {
					res.Error = j.err.Error()
					results <- done{j.n, res}
					continue
				}
				it, warns, err := screenItem(field(j.rec, "kind"), field(j.rec, "name"), field(j.rec, "birth_date"), field(j.rec, "nationality"))
				res.Warnings = warns
				if err != nil {
					res.Error = err.Error()
				} else {
					cands, err := ix.LookupName(it, now, threshold, top)
					if err != nil {
						res.Error = err.Error()
					}
					for _, c := range cands {
						res.Hits = append(res.Hits, screenHit{AlertID: c.Alert.ID, Score: c.Score, Explanation: c.Explanation, Namesakes: c.Namesakes})
					}
				}
				results <- done{j.n, res}
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
			var pe *csv.ParseError
			switch {
			case errors.As(err, &pe):
				// The reader goes on after a malformed record; the row
				// is reported, not dropped.
				jobs <- screenRow{n: n, line: pe.StartLine, err: fmt.Errorf("malformed CSV row: %w", pe.Err)}
				continue
			case err != nil:
				readErr = err
				return
			}
			line, _ := r.FieldPos(0)
			jobs <- screenRow{n: n, line: line, rec: rec}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	pending := map[int]screenResult{}
	next := 0
	var writeErr error
	for d := range results {
		pending[d.n] = d.res
		for res, ok := pending[next]; ok; res, ok = pending[next] {
			if writeErr == nil {
				writeErr = enc.Encode(res)
			}
			sum.Rows++
			if res.Error != "" {
				sum.Failed++
			} else if len(res.Warnings) > 0 {
				sum.Warned++
			}
			delete(pending, next)
			next++
		}
	}
	if writeErr != nil {
		return sum, fmt.Errorf("write the results: %w", writeErr)
	}
	if err := w.Flush(); err != nil {
		return sum, fmt.Errorf("write the results: %w", err)
	}
	if readErr != nil {
		return sum, fmt.Errorf("read the CSV after row %d: %w", sum.Rows, readErr)
	}
	return sum, nil
}

// screenItem makes one CSV row into a name item. The kind and the name
// are required (err); a birth date that does not exist or a nationality
// not understood is left out and reported in warnings, since the name
// alone must still be screened.
func screenItem(kind, nm, birth, nationality string) (it devices.Item, warnings []string, err error) {
	it = devices.Item{Field: "name", Value: nm}
	switch strings.ToLower(kind) {
	case "person":
		it.Kind = devices.KindPerson
	case "company", "vessel":
		// A vessel's names are filed like a company's, as an ENS
		// checks the name of its means of transport.
		it.Kind = devices.KindCompany
	default:
		return it, nil, fmt.Errorf("kind %q: want person, company or vessel", kind)
	}
	if strings.TrimSpace(nm) == "" {
		return it, nil, errors.New("name is empty")
	}
	if nationality != "" {
		c, err := ident.ParseCountryName(nationality)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("nationality not screened: %v", err))
		} else {
			it.Nationality = c
		}
	}
	if birth != "" {
		if why := birthDateProblem(birth); why != "" {
			warnings = append(warnings, "birth_date not screened: "+why)
		} else {
			it.BirthDate = birth
		}
	}
	return it, warnings, nil
}

// birthDateProblem says why s is not a birth date the matcher can use, or
// "" when it is one: YYYY, YYYY-MM or YYYY-MM-DD of a day that exists.
func birthDateProblem(s string) string {
	parts := strings.Split(s, "-")
	num := func(p string, digits int) (int, bool) {
		if len(p) != digits {
			return 0, false
		}
		v := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	if len(parts) > 3 {
		return "not written YYYY, YYYY-MM or YYYY-MM-DD"
	}
	y, ok := num(parts[0], 4)
	if !ok {
		return "not written YYYY, YYYY-MM or YYYY-MM-DD"
	}
	if len(parts) == 1 {
		return ""
	}
	m, ok := num(parts[1], 2)
	if !ok {
		return "not written YYYY, YYYY-MM or YYYY-MM-DD"
	}
	if m < 1 || m > 12 {
		return fmt.Sprintf("there is no month %d", m)
	}
	if len(parts) == 2 {
		return ""
	}
	d, ok := num(parts[2], 2)
	if !ok {
		return "not written YYYY, YYYY-MM or YYYY-MM-DD"
	}
	if last := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day(); d < 1 || d > last {
		return fmt.Sprintf("%s %d has no day %d", time.Month(m), y, d)
	}
	return ""
}
