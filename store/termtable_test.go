package store

import (
	"context"
	"errors"
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
	seed(t, r, have, 3*termTableChunk/(1<<16)) // a few alerts; chunks tested below with a small table
	walked, err := r.ReadTermTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var each []uint64
	if err := r.EachTermFingerprint(ctx, func(f uint64) { each = append(each, f) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(walked.Fingerprints, each) || len(each) == 0 {
		t.Fatalf("ReadTermTable gave %d fingerprints, the index holds %d", len(walked.Fingerprints), len(each))
	}
	if err := r.SaveTermTable(walked); err != nil {
		t.Fatal(err)
	}
	got, err := r.LoadTermTable(ctx)
	if err != nil || !slices.Equal(got.Fingerprints, each) {
		t.Fatalf("current table: %v (%d fingerprints, want %d)", err, len(got.Fingerprints), len(each))
	}
	// Reopened (the agent's next start), it is still current.
	r.Close()
	r = openTerms(t, path, testKey(1), "v1")
	if got, err := r.LoadTermTable(ctx); err != nil || !slices.Equal(got.Fingerprints, each) {
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
	if got, err := r.LoadTermTable(ctx); err != nil || len(got.Fingerprints) != len(each)+1 {
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
