package match

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/borderpost/borderpost/devices"
)

// MatchAll matches every item of one check and returns the candidates of
// each item at the same position. Identifiers cost microseconds and are
// looked up in turn; names cost up to a few hundred, so a check with
// several names (an ENS with its parties) spreads them over the cores. It
// fails with ErrUnreadable when the alert behind a match cannot be read:
// the check must then be refused, not answered "no hit".
func (ix *Index) MatchAll(items []devices.Item, now time.Time) ([][]Candidate, error) {
	out := make([][]Candidate, len(items))
	var names []int
	for i, it := range items {
		if it.Kind == devices.KindPerson || it.Kind == devices.KindCompany {
			names = append(names, i)
			continue
		}
		var err error
		if out[i], err = ix.Lookup(it, now); err != nil {
			return nil, err
		}
	}
	workers := min(len(names), runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for _, i := range names {
			var err error
			if out[i], err = ix.Lookup(items[i], now); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	var wg sync.WaitGroup
	errs := make([]error, len(items))
	next := make(chan int, len(names))
	for _, i := range names {
		next <- i
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = ix.Lookup(items[i], now)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Merge adds found, the candidates another alert set gave for the same
// items, to into (same positions) and keeps each item's candidates best
// first. An alert both sets hold (a post following overlapping scopes)
// is kept once, with its better match, so that one alert never makes two
// hits on the officer's screen.
func Merge(into, found [][]Candidate) {
	for i, more := range found {
		for _, c := range more {
			j := slices.IndexFunc(into[i], func(o Candidate) bool { return o.Alert.ID == c.Alert.ID })
			switch {
			case j < 0:
				into[i] = append(into[i], c)
			case c.Score > into[i][j].Score:
				into[i][j] = c
			}
		}
		slices.SortStableFunc(into[i], func(x, y Candidate) int { return cmp.Compare(y.Score, x.Score) })
	}
}
