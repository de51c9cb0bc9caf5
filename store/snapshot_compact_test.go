package store

import (
	"context"
	"path/filepath"
	"testing"
)

// A snapshot into an empty replica (a first fill) drops an empty
// generation: nothing to reclaim, so the next open does not rewrite the
// whole file. A snapshot over alerts leaves their space to compact.
func TestSnapshotOverEmptySetWantsNoCompaction(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	fill := func(seq uint64) {
		t.Helper()
		r := openTest(t, path, testKey(1))
		defer r.Close()
		s, err := r.BeginSnapshot(1, seq, [32]byte{byte(seq)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Add(ctx, []Alert{plate("A1", "MAB1", seq), plate("A2", "MAB2", seq)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, s.Digest()); err != nil {
			t.Fatal(err)
		}
	}
	fill(1)
	st, err := ReadStatus(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.CompactDue {
		t.Error("the first fill of an empty replica asks for a compaction")
	}
	fill(2)
	if st, err = ReadStatus(ctx, path, Options{}); err != nil {
		t.Fatal(err)
	}
	if !st.CompactDue {
		t.Error("a snapshot over alerts leaves no compaction due")
	}
}
