package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The term table saved beside the replica is read back only while it is
// the replica's current one: a delta that files a new term, another key,
// a chunk cut or altered, all make LoadTermTable refuse it, so that the
// caller walks the term index rather than miss an identifier. A purge
// (removals only) keeps it: a fingerprint left of a removed alert is
// confirmed against the replica and finds nothing.
func TestTermTableUsedOnlyWhenCurrent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTerms(t, path, testKey(1), "v1")
	defer func() { r.Close() }()
	if _, err := r.LoadTermTable(ctx); !errors.Is(err, ErrTermTable) {
		t.Fatalf("no table saved yet: %v, want ErrTermTable", err)
	}
	have := map[string]Alert{}
	seed(t, r, have, 48)
	walked, err := r.ReadTermTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var each []uint64
	if err := r.EachTermFingerprint(ctx, func(f uint64) { each = append(each, f) }); err != nil {
		t.Fatal(err)
	}
	if walked.Len() < len(each) || len(each) == 0 || !holdsAll(walked, each) {
		t.Fatalf("ReadTermTable gave %d entries, not holding the %d terms of the index", walked.Len(), len(each))
	}
	if err := r.SaveTermTable(walked); err != nil {
		t.Fatal(err)
	}
	got, err := r.LoadTermTable(ctx)
	if err != nil || !sameTable(got, walked) {
		t.Fatalf("current table: %v", err)
	}
	// Reopened (the agent's next start), it is still current.
	r.Close()
	r = openTerms(t, path, testKey(1), "v1")
	if got, err := r.LoadTermTable(ctx); err != nil || !sameTable(got, walked) {
		t.Fatalf("after a restart: %v", err)
	}

	// A purge only removes: the table stays usable.
	soon := plate("SOON", "SOONPLATE", 1)
	soon.Expires = time.Now().Add(time.Hour)
	cur, _ := r.Cursor()
	if err := r.Apply(ctx, change(cur, have, []Alert{soon}, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.LoadTermTable(ctx); !errors.Is(err, ErrTermTable) {
		t.Fatalf("a delta filed a new plate: the old table must be refused, got %v", err)
	}
	withSoon, err := r.ReadTermTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SaveTermTable(withSoon); err != nil {
		t.Fatal(err)
	}
	if n, err := r.PurgeExpired(ctx, time.Now().Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("purged %d, %v", n, err)
	}
	if got, err := r.LoadTermTable(ctx); err != nil || got.Len() != walked.Len()+1 {
		t.Fatalf("after a purge: %v; want the table (a superset) kept", err)
	}

	r.Close()
	// Another term function version: the index is rebuilt, the table refused.
	r = openTerms(t, path, testKey(1), "v2")
	if _, err := r.LoadTermTable(ctx); !errors.Is(err, ErrTermTable) {
		t.Fatalf("term function changed: %v, want ErrTermTable", err)
	}
	cur2, err := r.ReadTermTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SaveTermTable(cur2); err != nil {
		t.Fatal(err)
	}
	if _, err := r.LoadTermTable(ctx); err != nil {
		t.Fatalf("re-saved: %v", err)
	}

	// Tampered with: every byte flipped in turn past the header, or the
	// file cut, is refused; never a table with other fingerprints.
	data, err := os.ReadFile(TermTablePath(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, len(termTableMagic) + 5, len(data) / 2, len(data) - 1} {
		bad := slices.Clone(data)
		bad[i] ^= 0x40
		if err := os.WriteFile(TermTablePath(path), bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := r.LoadTermTable(ctx); !errors.Is(err, ErrTermTable) {
			t.Fatalf("byte %d of %d flipped: %v, want ErrTermTable", i, len(data), err)
		}
	}
	for _, n := range []int{len(data) - 1, len(data) / 2, 3} {
		if err := os.WriteFile(TermTablePath(path), data[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := r.LoadTermTable(ctx); !errors.Is(err, ErrTermTable) {
			t.Fatalf("cut to %d of %d bytes: %v, want ErrTermTable", n, len(data), err)
		}
	}
	if err := os.WriteFile(TermTablePath(path), append(slices.Clone(data), 0), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.LoadTermTable(ctx); !errors.Is(err, ErrTermTable) {
		t.Fatalf("trailing byte: %v, want ErrTermTable", err)
	}
}

// The table of another replica under the same key (a copy, then diverged)
// is refused: its revision differs.
func TestTermTableOfDivergedCopyRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := filepath.Join(dir, "a.db")
	r := openTerms(t, a, testKey(1), "v1")
	have := map[string]Alert{}
	seed(t, r, have, 20)
	r.Close()
	b := filepath.Join(dir, "b.db")
	copyTestFile(t, a, b)
	copyTestFile(t, JournalPath(a), JournalPath(b))
	ra := openTerms(t, a, testKey(1), "v1")
	defer ra.Close()
	rb := openTerms(t, b, testKey(1), "v1")
	defer rb.Close()
	// Both take a delta of the same sequence, with different alerts.
	for i, r := range []*Replica{ra, rb} {
		h := map[string]Alert{}
		for k, v := range have {
			h[k] = v
		}
		cur, _ := r.Cursor()
		if err := r.Apply(ctx, change(cur, h, []Alert{plate("X", []string{"ONE", "TWO"}[i], 1)}, nil)); err != nil {
			t.Fatal(err)
		}
	}
	tb, err := rb.ReadTermTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rb.SaveTermTable(tb); err != nil {
		t.Fatal(err)
	}
	copyTestFile(t, TermTablePath(b), TermTablePath(a))
	if _, err := ra.LoadTermTable(ctx); !errors.Is(err, ErrTermTable) {
		t.Fatalf("diverged copy's table: %v, want ErrTermTable", err)
	}
}

func copyTestFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// holdsAll reports whether t holds every fingerprint of fps.
func holdsAll(t *TermTable, fps []uint64) bool {
	for _, fp := range fps {
		if !t.Holds(fp) {
			return false
		}
	}
	return true
}

// sameTable reports whether a and b have the same entries and buckets.
func sameTable(a, b *TermTable) bool {
	return a.bits == b.bits && slices.Equal(a.entries, b.entries) && slices.Equal(a.offsets, b.offsets)
}

// recPrefix returns the record prefix of alert id as TermTable.Records
// gives it: the first 5 bytes of its record key, in the top of a uint64.
func recPrefix(r *Replica, id string) uint64 {
	return binary.BigEndian.Uint64(r.active.Load().recordKey("alert", id)) >> 24 << 24
}

// The term table keeps, with part of each fingerprint, the record prefix
// of the alert the index files under it, in 8 bytes. Read by it
// (AppendAlertsByRecord), a lookup gets the alert without the term
// index, and nothing once the replica has moved to another key or alert
// generation than the table's. A term of more alerts than
// termTableMaxRecords has one entry, of unknown prefix (read by term):
// the table has one entry a term, as many as the fingerprints alone.
// The entries survive a save and a load.
func TestTermTableRecordPrefixes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTerms(t, path, testKey(1), "v1")
	defer r.Close()
	have := map[string]Alert{}
	ups := []Alert{plate("A1", "SAME", 1), plate("A2", "SAME", 1), plate("B1", "OTHER", 1)}
	for i := range termTableMaxRecords + 1 {
		ups = append(ups, plate(fmt.Sprintf("M%d", i), "MANY", 1))
	}
	cur, _ := r.Cursor()
	if err := r.Apply(ctx, change(cur, have, ups, nil)); err != nil {
		t.Fatal(err)
	}
	tbl, err := r.ReadTermTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fps, err := r.TermFingerprints([]string{"plate\x00SAME", "plate\x00OTHER", "plate\x00MANY", "plate\x00NONE"})
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Len() != 3 {
		t.Fatalf("table of %d entries, want 3: one for SAME, OTHER and MANY each", tbl.Len())
	}
	keyGen, alertGen := tbl.Gens()
	for _, tb := range []*TermTable{tbl, nil} {
		if tb == nil {
			if err := r.SaveTermTable(tbl); err != nil {
				t.Fatal(err)
			}
			if tb, err = r.LoadTermTable(ctx); err != nil || !sameTable(tb, tbl) {
				t.Fatalf("loaded: %v", err)
			}
			if kg, ag := tb.Gens(); kg != keyGen || ag != alertGen {
				t.Fatalf("loaded generations %d/%d, want %d/%d", kg, ag, keyGen, alertGen)
			}
		}
		recs, held, complete := tb.Records(nil, fps[1])
		if !held || !complete || !slices.Equal(recs, []uint64{recPrefix(r, "B1")}) {
			t.Fatalf("plate OTHER: prefixes %x, held %v, complete %v; want B1's", recs, held, complete)
		}
		got, ok, err := r.AppendAlertsByRecord(nil, recs, keyGen, alertGen)
		if err != nil || !ok || !slices.Equal(ids(got), []string{"B1"}) {
			t.Fatalf("read by the prefix of plate OTHER: %v, %v, %v; want B1", ids(got), ok, err)
		}
		for i, p := range []string{"SAME", "MANY"} {
			if recs, held, complete := tb.Records(nil, fps[[]int{0, 2}[i]]); !held || complete || len(recs) != 0 {
				t.Fatalf("plate %s: prefixes %x, held %v, complete %v; want held, of unknown prefix", p, recs, held, complete)
			}
		}
		if _, held, _ := tb.Records(nil, fps[3]); held || tb.Holds(fps[3]) {
			t.Fatal("a plate on no alert is held")
		}
	}
	both := []uint64{recPrefix(r, "A1"), recPrefix(r, "A2")}
	if got, ok, err := r.AppendAlertsByRecord(nil, both, keyGen, alertGen); err != nil || !ok || !slices.Equal(ids(got), []string{"A1", "A2"}) {
		t.Fatalf("read by two prefixes: %v, %v, %v; want A1 and A2", ids(got), ok, err)
	}
	if got, ok, err := r.AppendAlertsByRecord(nil, []uint64{recPrefix(r, "A1")}, keyGen+1, alertGen); ok || len(got) != 0 || err != nil {
		t.Fatalf("another key generation: read %v, %v, %v; want nothing, false", ids(got), ok, err)
	}
	if got, ok, err := r.AppendAlertsByRecord(nil, []uint64{recPrefix(r, "A1")}, keyGen, alertGen+1); ok || len(got) != 0 || err != nil {
		t.Fatalf("another alert generation: read %v, %v, %v; want nothing, false", ids(got), ok, err)
	}
}

// A table of many entries spreads them over buckets: every term the
// index holds is held, with its alert's prefix, after a save and a load;
// terms on no alert are not (28 bits of fingerprint here: under this
// test key, none of these 3000 shares them with a held one).
func TestTermTableBuckets(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTerms(t, path, testKey(1), "v1")
	defer r.Close()
	have := map[string]Alert{}
	var ups []Alert
	var terms, absent []string
	for i := range 3000 {
		ups = append(ups, plate(fmt.Sprintf("P%d", i), fmt.Sprintf("HELD%d", i), 1))
		terms = append(terms, fmt.Sprintf("plate\x00HELD%d", i))
		absent = append(absent, fmt.Sprintf("plate\x00ABSENT%d", i))
	}
	cur, _ := r.Cursor()
	if err := r.Apply(ctx, change(cur, have, ups, nil)); err != nil {
		t.Fatal(err)
	}
	walked, err := r.ReadTermTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if walked.bits != termTableBits(3000) || walked.bits == 0 {
		t.Fatalf("%d bucket bits for 3000 alerts", walked.bits)
	}
	if err := r.SaveTermTable(walked); err != nil {
		t.Fatal(err)
	}
	tbl, err := r.LoadTermTable(ctx)
	if err != nil || !sameTable(tbl, walked) {
		t.Fatalf("loaded: %v", err)
	}
	fps, _ := r.TermFingerprints(terms)
	for i, fp := range fps {
		if recs, held, complete := tbl.Records(nil, fp); !held || !complete || !slices.Equal(recs, []uint64{recPrefix(r, ups[i].ID)}) {
			t.Fatalf("%s: %x, held %v, complete %v", ups[i].ID, recs, held, complete)
		}
	}
	fps, _ = r.TermFingerprints(absent)
	for i, fp := range fps {
		if tbl.Holds(fp) {
			t.Fatalf("%q on no alert is held", absent[i])
		}
	}
}

// A term table of the first format (BPTT1: fingerprints alone, no record
// prefixes), current and authentic otherwise, is refused: the caller
// walks the index and writes the table again, with its prefixes.
func TestTermTableOfFormerVersionRefused(t *testing.T) {
	ctx := context.Background()
	r, walked := walkedTermTable(t, 20)
	path := r.Path()
	var fps []uint64
	if err := r.EachTermFingerprint(ctx, func(f uint64) { fps = append(fps, f) }); err != nil {
		t.Fatal(err)
	}
	// The former writer: "BPTT1" ∥ u32 stamp length ∥ stamp ∥ one chunk
	// of the fingerprints, little-endian, bound to the stamp and its number.
	stamp := appendStampCount(walked.Stamp().prefix, len(fps))
	var plain []byte
	for _, f := range fps {
		plain = binary.LittleEndian.AppendUint64(plain, f)
	}
	sealed, err := r.active.Load().seal(termTableBucket, chunkAAD(stamp, 0), plain)
	if err != nil {
		t.Fatal(err)
	}
	old := append([]byte("BPTT1"), u32(uint32(len(stamp)))...)
	old = append(append(old, stamp...), u32(uint32(len(sealed)))...)
	old = append(old, sealed...)
	if err := os.WriteFile(TermTablePath(path), old, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.LoadTermTable(ctx); !errors.Is(err, ErrTermTable) {
		t.Fatalf("a table of the former format: %v, want ErrTermTable", err)
	}
	if err := r.SaveTermTable(walked); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(TermTablePath(path))
	if err != nil || !bytes.HasPrefix(data, []byte("BPTT2")) {
		t.Fatalf("the table written again is not of the current format: %v", err)
	}
	if got, err := r.LoadTermTable(ctx); err != nil || !sameTable(got, walked) {
		t.Fatalf("the table written again: %v", err)
	}
}

// walkedTermTable opens a replica with a term index, seeds it with n
// alerts, and walks its term table; the replica is closed with the test.
func walkedTermTable(t *testing.T, n int) (*Replica, *TermTable) {
	t.Helper()
	r := openTerms(t, filepath.Join(t.TempDir(), "r.db"), testKey(1), "v1")
	t.Cleanup(func() { r.Close() })
	seed(t, r, map[string]Alert{}, n)
	walked, err := r.ReadTermTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r, walked
}

var benchEntries = flag.Int("entries", 1<<24, "entries in the term table of BenchmarkTermTableRecords (100,000,000 at the issue's size: 800 MB)")

// tableOf returns a table of the (fingerprint, record key prefix) pairs
// es, ascending, packed as ReadTermTable packs the index's entries.
func tableOf(es [][2]uint64) *TermTable {
	b := termTableBits(len(es))
	t := &TermTable{entries: make([]uint64, len(es)), offsets: make([]uint32, 1<<b+1), bits: b}
	for i, e := range es {
		t.entries[i] = packTermEntry(e[0], e[1], b)
		t.offsets[termBucket(e[0], b)+1]++
	}
	for i := 1; i < len(t.offsets); i++ {
		t.offsets[i] += t.offsets[i-1]
	}
	for i := range len(t.offsets) - 1 {
		slices.Sort(t.entries[t.offsets[i]:t.offsets[i+1]])
	}
	return t
}

// BenchmarkTermTableRecords looks up held and new fingerprints in a term
// table of -entries, in random order, as identifier checks do: the
// bucket's offsets, then a bisection of its 128 to 256 entries (2 KiB).
// Compare with the fingerprints alone searched by interpolation
// (match's BenchmarkFingerprintSearch, same size, same probes' mix).
//
//	go test -run X -bench TermTableRecords ./store -args -entries 100000000
func BenchmarkTermTableRecords(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	es := make([][2]uint64, *benchEntries)
	for i := range es {
		es[i] = [2]uint64{rng.Uint64(), rng.Uint64()}
	}
	slices.SortFunc(es, func(x, y [2]uint64) int { return cmp.Compare(x[0], y[0]) })
	t := tableOf(es)
	probes := make([]uint64, 1<<16)
	for i := range probes {
		if i%2 == 0 {
			probes[i] = es[rng.IntN(len(es))][0]
		} else {
			probes[i] = rng.Uint64()
		}
	}
	es = nil
	found := 0
	recs := make([]uint64, 0, termTableReadMax)
	b.ResetTimer()
	for i := range b.N {
		var held bool
		if recs, held, _ = t.Records(recs[:0], probes[i&(len(probes)-1)]); held {
			found++
		}
	}
	if found == 0 {
		b.Fatal("no probe found")
	}
}
