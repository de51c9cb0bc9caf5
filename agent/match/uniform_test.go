package match

import (
	"flag"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

var benchFingerprints = flag.Int("fingerprints", 1<<24, "fingerprints in the set of BenchmarkFingerprintSearch (100,000,000 at the issue's size: 800 MB)")

// TestSearchUniformFindsWhatBisectionFinds compares searchUniform with
// slices.BinarySearch on keyed-hash-like keys, on keys with runs of equal
// values (hashSlots files several slots under one hash), on keys bunched
// at one end (which interpolation guesses badly: it must still answer
// right), and at the edges: an empty set, keys below, above and equal to
// the first and last.
func TestSearchUniformFindsWhatBisectionFinds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sets := map[string][]uint64{"empty": nil, "one": {42}, "ends": {0, math.MaxUint64}}
	for _, n := range []int{2, 9, 10, 17, 100, 1000, 100000} {
		uniform := make([]uint64, n)
		for i := range uniform {
			uniform[i] = rng.Uint64()
		}
		slices.Sort(uniform)
		sets["uniform"+strconv.Itoa(n)] = uniform
		runs := make([]uint64, n)
		for i := range runs {
			runs[i] = rng.Uint64N(uint64(n/3 + 1))
		}
		slices.Sort(runs)
		sets["runs"+strconv.Itoa(n)] = runs
		bunched := make([]uint64, n)
		for i := range bunched {
			bunched[i] = uint64(i) * uint64(i) * uint64(i) // cubes: nearly all near the low end
			if i == n-1 {
				bunched[i] = math.MaxUint64
			}
		}
		sets["bunched"+strconv.Itoa(n)] = bunched
	}
	for name, a := range sets {
		probes := []uint64{0, 1, math.MaxUint64, math.MaxUint64 - 1}
		for _, v := range a {
			probes = append(probes, v, v-1, v+1)
		}
		for range 1000 {
			probes = append(probes, rng.Uint64())
		}
		for _, k := range probes {
			want, _ := slices.BinarySearch(a, k)
			if got := searchUniform(a, k); got != want {
				t.Fatalf("%s: searchUniform(%#x) = %d, bisection finds %d", name, k, got, want)
			}
		}
	}
}

// BenchmarkFingerprintSearch looks up held and new fingerprints in a set
// of -fingerprints keyed hashes in random order, as identifier checks
// do, by bisection (before) and by searchUniform. The set is far larger
// than the caches: what is measured is the memory touched per lookup.
//
//	go test -run X -bench FingerprintSearch ./agent/match -args -fingerprints 100000000
func BenchmarkFingerprintSearch(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := make([]uint64, *benchFingerprints)
	for i := range a {
		a[i] = rng.Uint64()
	}
	slices.Sort(a)
	probes := make([]uint64, 1<<16)
	for i := range probes {
		if i%2 == 0 {
			probes[i] = a[rng.IntN(len(a))]
		} else {
			probes[i] = rng.Uint64()
		}
	}
	found := 0
	b.Run("bisection", func(b *testing.B) {
		for i := range b.N {
			if _, ok := slices.BinarySearch(a, probes[i&(len(probes)-1)]); ok {
				found++
			}
		}
	})
	b.Run("uniform", func(b *testing.B) {
		for i := range b.N {
			k := probes[i&(len(probes)-1)]
			if j := searchUniform(a, k); j < len(a) && a[j] == k {
				found++
			}
		}
	})
	if found == 0 {
		b.Fatal("no probe found")
	}
}
