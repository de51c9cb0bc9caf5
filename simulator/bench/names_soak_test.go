//go:build soak && linux

package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/agent/match/name"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/store"
	"golang.org/x/sys/unix"
)

// Development seeds of the name retrieval harness: never the bench's
// reported seed (Config.Seed, 1 by default), so that what is tuned here
// is reported on other queries.
const (
	devListSeed  = 991
	devQuerySeed = 5
)

// TestNameRetrievalAtScale indexes BENCH_NAMES generated names (default
// 2,000,000: the persons and companies of a 100-million SIS mix) and
// plants 1,000 queries of every NameKind, as the bench does, on a
// development list and query seed, and prints per kind the right entry's
// recall in the first 5 hits, the search's thread CPU p50 and p99, and
// each miss's stage: retrieval (never scored in full; "would hit" when a
// direct comparison reaches the threshold), scoring (under it), ranked
// out (above it, behind the limit; "tie" when nothing scored higher).
// BENCH_RULES_OFF lists rules to switch off (comma-separated names);
// BENCH_SHOW=N prints the first N misses of each kind; BENCH_BUDGET,
// BENCH_CANDIDATES and BENCH_TIES set Options.PostingBudget, Candidates
// and Ties; BENCH_EXPLAINED=N searches as the agent does, explaining the
// first N matches only (SearchNamesakes; the agent: 20).
//
//	go test -tags soak -count=1 -timeout 30m -run TestNameRetrievalAtScale -v ./simulator/bench
func TestNameRetrievalAtScale(t *testing.T) {
	n := 2_000_000
	if s := os.Getenv("BENCH_NAMES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			t.Fatalf("BENCH_NAMES=%q: want a count of names", s)
		}
	}
	show, _ := strconv.Atoi(os.Getenv("BENCH_SHOW"))
	var off name.RuleSet
	for _, r := range name.AllRules() {
		if strings.Contains(","+os.Getenv("BENCH_RULES_OFF")+",", ","+r.String()+",") {
			off = off.With(r)
		}
	}
	m := Mix{Name: "names", NameShare: 1, Objects: watchlist.SISObjectMix}
	var list []store.Alert
	for b := range blocks(n) {
		list = append(list, m.block(devListSeed, b, n)...)
	}
	t0 := time.Now()
	opts := name.Options{Disable: off}
	opts.PostingBudget, _ = strconv.Atoi(os.Getenv("BENCH_BUDGET"))
	opts.Candidates, _ = strconv.Atoi(os.Getenv("BENCH_CANDIDATES"))
	opts.Ties, _ = strconv.Atoi(os.Getenv("BENCH_TIES"))
	explained, _ := strconv.Atoi(os.Getenv("BENCH_EXPLAINED")) // 0: Search explains every match
	limit := 5
	if s := os.Getenv("BENCH_LIMIT"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	ix := name.NewIndex(opts)
	es := make([]name.Entry, len(list))
	idOf := map[string]uint32{}
	for i, a := range list {
		names, ik := alertNames(a)
		k := name.KindPerson
		if ik == devices.KindCompany {
			k = name.KindCompany
		}
		es[i] = name.Entry{ID: uint32(i), Kind: k, Names: names}
		idOf[a.ID] = uint32(i)
	}
	ix.AddAll(es)
	t.Logf("%d names indexed in %v; rules off: %v", n, time.Since(t0).Round(time.Millisecond), off)

	runtime.LockOSThread() // threadCPU times this thread
	defer runtime.UnlockOSThread()
	rng := rand.New(rand.NewPCG(devQuerySeed, devQuerySeed))
	var b strings.Builder
	b.WriteString("\n| kind | recall | CPU p50 / p99 µs | misses by stage |\n| --- | --- | --- | --- |\n")
	var all []time.Duration
	for _, kind := range NameKinds {
		stages := map[string]int{}
		var lat []time.Duration
		miss, planted, shown := 0, 0, 0
		for range 1000 {
			it, id, ok := plantNameOn(rng, list, kind)
			if !ok {
				continue
			}
			planted++
			k := name.KindPerson
			if it.kind == devices.KindCompany {
				k = name.KindCompany
			}
			q := name.Query{Kind: k, Name: it.value}
			c0 := threadCPU()
			var ms []name.Match
			if explained > 0 {
				ms = ix.SearchNamesakes(q, name.DefaultThreshold, limit, explained)
			} else {
				ms = ix.Search(q, name.DefaultThreshold, limit)
			}
			lat = append(lat, threadCPU()-c0)
			want := idOf[id]
			if slices.ContainsFunc(ms, func(m name.Match) bool { return m.ID == want }) {
				continue
			}
			miss++
			stage, score := missStage(ix, q, es[want])
			stages[stage]++
			if shown < show {
				shown++
				t.Logf("%s %s: %q for %q (%.3f)", kind, stage, it.value, es[want].Names, score)
			}
		}
		slices.Sort(lat)
		all = append(all, lat...)
		fmt.Fprintf(&b, "| %s | %.3f | %d / %d | %v |\n", kind, 1-float64(miss)/float64(planted), lat[len(lat)/2].Microseconds(), lat[len(lat)*99/100].Microseconds(), stages)
	}
	slices.Sort(all)
	fmt.Fprintf(&b, "| all | | %d / %d | |\n", all[len(all)/2].Microseconds(), all[len(all)*99/100].Microseconds())
	t.Log(b.String())
}

// missStage says where the entry e of a missed query was lost, and the
// score it had or would have had.
func missStage(ix *name.Index, q name.Query, e name.Entry) (string, float64) {
	all := ix.Search(q, 0, 1<<16)
	i := slices.IndexFunc(all, func(m name.Match) bool { return m.ID == e.ID })
	if i < 0 {
		s := ix.Compare(q, e).Score
		if s >= name.DefaultThreshold {
			return "retrieval (would hit)", s
		}
		return "retrieval", s
	}
	s := all[i].Score
	switch {
	case s < name.DefaultThreshold:
		return "scoring", s
	case all[0].Score > s:
		return "ranked out", s
	default:
		return "ranked out (tie)", s
	}
}

// threadCPU is the CPU time of the calling thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
