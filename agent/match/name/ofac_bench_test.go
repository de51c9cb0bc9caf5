package name

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkSearchOFAC searches typo'd strong aliases against the whole SDN list.
func BenchmarkSearchOFAC(b *testing.B) {
	sdn := loadSDN(b)
	ix := NewIndex(Options{})
	var qs []Query
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range sdn {
		e := s.entry
		e.Names = append(append([]string{}, s.entry.Names...), s.aliases...)
		ix.Add(e)
		for _, a := range s.aliases {
			qs = append(qs, Query{Kind: s.entry.Kind, Name: typo(rng, a)})
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix.Search(qs[i%len(qs)], 0, 10)
	}
}
