package name

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// TestSearchDigest writes every result of the protocol's searches (the
// three lists' queries with and without evidence, their negatives) and of
// BenchmarkSearch's queries to $NAME_DIGEST_OUT, one line per search: the
// IDs, the scores' bits and a hash of each explanation. A change meant to
// be faster without changing any result is checked by diffing the file
// written before and after it (NAME_EVAL_BACKGROUND puts the lists inside
// that many generated alerts, as the protocol does). Without
// $NAME_DIGEST_OUT there is nothing to write, and the test is skipped.
func TestSearchDigest(t *testing.T) {
	out := os.Getenv("NAME_DIGEST_OUT")
	if out == "" {
		t.Skip("NAME_DIGEST_OUT not set: the digest is written on demand, to compare two builds")
	}
	background := evalBackground(t)
	f, err := os.Create(out)
	if err != nil {
		t.Fatalf("create the digest file: %v", err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	defer w.Flush()
	searches := 0
	write := func(tag string, i int, ms []Match) {
		searches++
		fmt.Fprintf(w, "%s %d:", tag, i)
		for _, m := range ms {
			h := fnv.New64a()
			h.Write([]byte(m.Explanation.String()))
			fmt.Fprintf(w, " %d/%x/%x", m.ID, math.Float64bits(m.Score), h.Sum64())
		}
		w.WriteString("\n")
	}
	for _, c := range loadEvalLists(t).sets() {
		ix := evalIndex(c.entries, c.seed, background, Options{})
		rng := rand.New(rand.NewPCG(c.seed, 0x9e))
		for i, le := range c.entries {
			q := evalQuery(rng, le)
			write(c.tag, i, ix.Search(q, DefaultThreshold, 10))
			write(c.tag+"-low", i, ix.Search(q, 0.5, 10))
			q.BirthDate, q.Nationality = "", ""
			write(c.tag+"-name", i, ix.Search(q, DefaultThreshold, 10))
		}
		for i, q := range evalNegativeSet(c.seed, c.entries, evalNegatives) {
			write(c.tag+"-neg", i, ix.Search(q, DefaultThreshold, 10))
		}
	}
	// BenchmarkSearch's index and queries, at 100,000 entries.
	rng := rand.New(rand.NewPCG(42, 42))
	entries := Generate(rng, 100_000)
	ix := NewIndex(Options{})
	for _, e := range entries {
		ix.Add(e)
	}
	for i := range 4096 {
		e := entries[rng.IntN(len(entries))]
		name := e.Names[rng.IntN(len(e.Names))]
		if rng.IntN(2) == 0 {
			name = typo(rng, name)
		}
		q := Query{Kind: e.Kind, Name: name}
		if rng.IntN(3) == 0 {
			q.BirthDate = e.BirthDate
		}
		write("bench", i, ix.Search(q, DefaultThreshold, 10))
		write("bench-all", i, ix.Search(q, 0, 10))
	}
	t.Logf("%d searches written to %s", searches, out)
}
