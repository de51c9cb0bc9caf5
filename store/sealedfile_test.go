package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// readSealed reads the sealed file of kind whole, or fails.
func readSealed(r *Replica, kind, layout string) ([]byte, error) {
	rc, _, err := r.OpenSealedFile(kind, layout)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// A sealed file is read back, whole and as written, only at the state it
// was stamped with, under the layout and key it was written with: stale
// (a delta since), another layout, another key, any byte changed, cut
// after any chunk or with data after its last are refused with
// ErrSealedFile, never read as something else.
func TestSealedFileOnlyWhenCurrentAndWhole(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTerms(t, path, testKey(1), "v1")
	defer func() { r.Close() }()
	have := map[string]Alert{}
	seed(t, r, have, 20)
	if _, err := readSealed(r, "nameindex", "L1"); !errors.Is(err, ErrSealedFile) {
		t.Fatalf("none written: %v", err)
	}
	st, err := r.CurrentStamp()
	if err != nil {
		t.Fatal(err)
	}
	content := make([]byte, 2*sealedChunk+12345) // three chunks
	rand.Read(content)
	write := func(st Stamp) {
		t.Helper()
		if err := r.WriteSealedFile("nameindex", "L1", st, func(w io.Writer) error {
			_, err := w.Write(content)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	write(st)
	if got, err := readSealed(r, "nameindex", "L1"); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("current: %v (%d bytes of %d)", err, len(got), len(content))
	}
	if _, err := readSealed(r, "nameindex", "L2"); !errors.Is(err, ErrSealedFile) {
		t.Fatalf("another layout: %v", err)
	}
	data, err := os.ReadFile(NameIndexPath(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 9, len(data) / 3, len(data) / 2, len(data) - 1} {
		bad := slices.Clone(data)
		bad[i] ^= 0x10
		os.WriteFile(NameIndexPath(path), bad, 0o600)
		if _, err := readSealed(r, "nameindex", "L1"); !errors.Is(err, ErrSealedFile) {
			t.Fatalf("byte %d of %d flipped: %v", i, len(data), err)
		}
	}
	// Cut after the first chunk (a whole chunk, not the last), or anywhere.
	first := len(sealedFileMagic) + 4 + len(sealedStamp(st, "nameindex", "L1"))
	first += 4 + int(uint32(data[first])<<24|uint32(data[first+1])<<16|uint32(data[first+2])<<8|uint32(data[first+3]))
	for _, n := range []int{first, len(data) / 2, len(data) - 1} {
		os.WriteFile(NameIndexPath(path), data[:n], 0o600)
		if _, err := readSealed(r, "nameindex", "L1"); !errors.Is(err, ErrSealedFile) {
			t.Fatalf("cut to %d of %d: %v", n, len(data), err)
		}
	}
	os.WriteFile(NameIndexPath(path), append(slices.Clone(data), 1), 0o600)
	if _, err := readSealed(r, "nameindex", "L1"); !errors.Is(err, ErrSealedFile) {
		t.Fatalf("trailing byte: %v", err)
	}
	os.WriteFile(NameIndexPath(path), data, 0o600)

	// A delta: stale. A stamp taken before it and written after is stale too.
	cur, _ := r.Cursor()
	if err := r.Apply(ctx, change(cur, have, []Alert{plate("N", "NEWPLATE", 1)}, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := readSealed(r, "nameindex", "L1"); !errors.Is(err, ErrSealedFile) {
		t.Fatalf("after a delta: %v", err)
	}
	write(st)
	if _, err := readSealed(r, "nameindex", "L1"); !errors.Is(err, ErrSealedFile) {
		t.Fatalf("written at an old stamp: %v", err)
	}
	st2, err := r.CurrentStamp()
	if err != nil {
		t.Fatal(err)
	}
	if st2.Equal(st) || !st2.SameBase(st) {
		t.Fatalf("a delta must change the stamp and keep its base")
	}
	c2, _ := r.Cursor()
	if !st2.AtChange(c2.Epoch, c2.Seq, c2.Hash) || st.AtChange(c2.Epoch, c2.Seq, c2.Hash) {
		t.Fatal("AtChange does not follow the cursor")
	}
	write(st2)
	if _, err := readSealed(r, "nameindex", "L1"); err != nil {
		t.Fatalf("re-written at the current state: %v", err)
	}
	r.Close()
	// Another key: the replica does not open with it, and a file sealed
	// under another key is not this replica's: copy one in from another
	// replica whose stamp cannot match either.
	other := filepath.Join(t.TempDir(), "o.db")
	ro := openTerms(t, other, testKey(2), "v1")
	seed(t, ro, map[string]Alert{}, 20)
	sto, _ := ro.CurrentStamp()
	if err := ro.WriteSealedFile("nameindex", "L1", sto, func(w io.Writer) error { _, err := w.Write(content); return err }); err != nil {
		t.Fatal(err)
	}
	ro.Close()
	copyTestFile(t, NameIndexPath(other), NameIndexPath(path))
	r = openTerms(t, path, testKey(1), "v1")
	if _, err := readSealed(r, "nameindex", "L1"); !errors.Is(err, ErrSealedFile) {
		t.Fatalf("another replica's file: %v", err)
	}
	// Remove takes it with the replica.
	r.Close()
	if err := Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(NameIndexPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Remove left the name index: %v", err)
	}
	r = openTerms(t, path, testKey(1), "v1")
}

// A term table written with the fingerprints deltas added, at a stamp
// taken before, is read back when that stamp is current, the added ones
// held with an unknown record (read by term); added fingerprints not
// ascending leave the old table.
func TestSaveTermTableAt(t *testing.T) {
	ctx := context.Background()
	r, walked := walkedTermTable(t, 20)
	st, err := r.CurrentStamp()
	if err != nil || !walked.Stamp().Equal(st) || !walked.Stamp().SameBase(st) {
		t.Fatalf("a table's stamp is not the state it was read in: %v", err)
	}
	if c, _ := r.Cursor(); !walked.Stamp().AtChange(c.Epoch, c.Seq, c.Hash) || c.Seq == 0 {
		t.Fatalf("a table's stamp does not name the cursor %d/%d", c.Epoch, c.Seq)
	}
	added, err := r.TermFingerprints([]string{"plate\x00NOT FILED", "plate\x00NOR THIS"})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(added)
	if err := r.SaveTermTableAt(ctx, st, walked, added); err != nil {
		t.Fatal(err)
	}
	got, err := r.LoadTermTable(ctx)
	if err != nil || got.Len() != walked.Len()+len(added) {
		t.Fatalf("%v", err)
	}
	for _, fp := range added {
		// Held, of unknown record: read by term.
		if _, held, complete := got.Records(nil, fp); !held || complete {
			t.Fatalf("an added fingerprint: held %v, complete %v; want held, not complete", held, complete)
		}
	}
	down := []uint64{added[1], added[0]}
	if err := r.SaveTermTableAt(ctx, st, walked, down); !errors.Is(err, ErrTermTable) {
		t.Fatalf("not ascending: %v", err)
	}
	if again, err := r.LoadTermTable(ctx); err != nil || !sameTable(again, got) {
		t.Fatalf("a failed write replaced the table: %v", err)
	}
}
