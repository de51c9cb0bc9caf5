package match

import (
	"runtime"
	"sync"
	"time"

	"github.com/borderpost/borderpost/devices"
)

// LookupAll matches every item of one check and returns the candidates of
// each item at the same position. Identifiers cost microseconds and are
// looked up in turn; names cost up to a few hundred, so a check with
// several names (an ENS with its parties) spreads them over the cores.
func (ix *Index) LookupAll(items []devices.Item, now time.Time) [][]Candidate {
	out := make([][]Candidate, len(items))
	var names []int
	for i, it := range items {
		if it.Kind == devices.KindPerson || it.Kind == devices.KindCompany {
			names = append(names, i)
			continue
		}
		out[i] = ix.Lookup(it, now)
	}
	workers := min(len(names), runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for _, i := range names {
			out[i] = ix.Lookup(items[i], now)
		}
		return out
	}
	var wg sync.WaitGroup
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
				out[i] = ix.Lookup(items[i], now)
			}
		}()
	}
	wg.Wait()
	return out
}
