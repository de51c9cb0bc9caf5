package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// testTerms stands in for match.Terms: a vehicle's plate and VIN, a
// document's number; persons have none. Plates "UPD" and "NEW" are shared
// by many alerts in the tests.
func testTerms(a *Alert) []string {
	switch s := a.Subject; s.Kind {
	case SubjectVehicle:
		ts := []string{"plate\x00" + s.Vehicle.Plate}
		if s.Vehicle.VIN != "" {
			ts = append(ts, "vin\x00"+s.Vehicle.VIN)
		}
		return ts
	case SubjectDocument:
		return []string{"doc\x00" + s.Document.Number}
	}
	return nil
}

func openTerms(t *testing.T, path string, key KeyProvider, version string) *Replica {
	t.Helper()
	r, err := Open(context.Background(), path, key, Options{LockTimeout: time.Second, Terms: testTerms, TermsVersion: version})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkTermIndex compares the active generation's term index with the one
// its alerts make, and wants it marked ready.
func checkTermIndex(t *testing.T, r *Replica, when string) {
	t.Helper()
	err := r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		want := map[string][]string{}
		c := st.gen.alerts.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			a, err := decodeAlert(st.ks, k, v)
			if err != nil {
				return err
			}
			for _, term := range testTerms(&a) {
				tk := string(st.ring.recordKey("term", term)[:termPrefix])
				if !slices.Contains(want[tk], string(k[:recordPrefix])) {
					want[tk] = append(want[tk], string(k[:recordPrefix]))
				}
			}
		}
		got := map[string][]string{}
		c = st.gen.terms.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != termEntryLen {
				continue
			}
			if len(v) != 0 {
				t.Errorf("%s: term entry with a value of %d bytes", when, len(v))
			}
			got[string(k[:termPrefix])] = append(got[string(k[:termPrefix])], string(k[termPrefix:]))
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d terms indexed, want %d", when, len(got), len(want))
		}
		if n := st.gen.alerts.Stats().KeyN; len(st.gen.terms.Get(termsCountKey)) != 8 || int(binary.BigEndian.Uint64(st.gen.terms.Get(termsCountKey))) != n {
			t.Errorf("%s: count kept with the index is %x, the generation holds %d", when, st.gen.terms.Get(termsCountKey), n)
		}
		for tk, ks := range want {
			g := got[tk]
			slices.Sort(g)
			slices.Sort(ks)
			if !slices.Equal(g, ks) {
				t.Errorf("%s: a term lists %d alerts, want %d", when, len(g), len(ks))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ready, err := r.TermsReady(); err != nil || !ready {
		t.Fatalf("%s: term index not ready: %v", when, err)
	}
}

func ids(as []Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	slices.Sort(out)
	return out
}

// The term index follows deltas (an alert re-issued with another plate,
// deletes, terms shared by many alerts) and expiry purges, and answers
// AlertsByTerm from it.
func TestTermIndexFollowsApplyAndPurge(t *testing.T) {
	ctx := context.Background()
	r := openTerms(t, filepath.Join(t.TempDir(), "r.db"), testKey(1), "v1")
	defer r.Close()
	have := map[string]Alert{}
	seed(t, r, have, 200)
	checkTermIndex(t, r, "seeded")
	car := plate("CAR", "UPD", 1)
	car.Subject.Vehicle.VIN = "WVW1"
	soon := plate("SOON", "UPD", 1)
	soon.Expires = time.Now().Add(time.Hour)
	cur, _ := r.Cursor()
	if err := r.Apply(ctx, change(cur, have, []Alert{car, soon, plate("S0001", "UPD", 2)}, []string{"S0002"})); err != nil {
		t.Fatal(err)
	}
	checkTermIndex(t, r, "after a delta")
	if got, err := r.AlertsByTerm("plate\x00UPD"); err != nil || !slices.Equal(ids(got), []string{"CAR", "S0001", "SOON"}) {
		t.Fatalf("plate UPD: %v, %v", ids(got), err)
	}
	if got, _ := r.AlertsByTerm("plate\x00PL00001"); len(got) != 0 {
		t.Fatalf("the re-issued alert's old plate still finds it: %v", ids(got))
	}
	if got, _ := r.AlertsByTerm("plate\x00PL00002"); len(got) != 0 {
		t.Fatal("a deleted alert's plate still finds it")
	}
	if got, _ := r.AlertsByTerm("vin\x00WVW1"); !slices.Equal(ids(got), []string{"CAR"}) {
		t.Fatalf("vin: %v", ids(got))
	}
	var each []Alert
	if err := r.EachAlertByTerm(ctx, []string{"vin\x00WVW1", "plate\x00NONE", "plate\x00PL00007"}, func(a Alert) error { each = append(each, a); return nil }); err != nil || !slices.Equal(ids(each), []string{"CAR", "S0007"}) {
		t.Fatalf("EachAlertByTerm: %v, %v", ids(each), err)
	}
	n, err := r.PurgeExpired(ctx, time.Now().Add(2*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v", n, err)
	}
	checkTermIndex(t, r, "after a purge")
	if got, _ := r.AlertsByTerm("plate\x00UPD"); !slices.Equal(ids(got), []string{"CAR", "S0001"}) {
		t.Fatalf("plate UPD after the purge: %v", ids(got))
	}
	fp, err := r.TermFingerprints([]string{"vin\x00WVW1"})
	if err != nil {
		t.Fatal(err)
	}
	var fps []uint64
	if err := r.EachTermFingerprint(ctx, func(f uint64) { fps = append(fps, f) }); err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(fps) || !slices.Contains(fps, fp[0]) || len(fps) != 200 {
		t.Fatalf("%d fingerprints (sorted %v, the VIN's in: %v), want 200", len(fps), slices.IsSorted(fps), slices.Contains(fps, fp[0]))
	}
	if n, err := r.AlertCount(); err != nil || n != 200 {
		t.Fatalf("AlertCount %d, %v; want 200", n, err)
	}
}

// A snapshot (the bulk path of imports too) writes the term index with
// its alerts, a term shared by many alerts as one list; the old
// generation's index goes with it.
func TestTermIndexSnapshot(t *testing.T) {
	ctx := context.Background()
	r := openTerms(t, filepath.Join(t.TempDir(), "r.db"), testKey(1), "v1")
	defer r.Close()
	seed(t, r, map[string]Alert{}, 50)
	s, err := r.BeginSnapshot(2, 1, [32]byte{9})
	if err != nil {
		t.Fatal(err)
	}
	var as []Alert
	for i := range 3000 {
		p := fmt.Sprintf("Q%05d", i)
		if i%10 == 0 {
			p = "UPD"
		}
		as = append(as, plate(fmt.Sprintf("T%05d", i), p, 1))
	}
	gone := plate("GONE", "UPD", 1)
	gone.Expires = time.Now().Add(-time.Hour)
	as = append(as, gone, Alert{ID: "P1", Version: 1, Action: "seize", Subject: Subject{Kind: SubjectPerson, Person: &Person{Surname: "Lindqvist"}}})
	if err := s.Add(ctx, as); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, s.Digest()); err != nil {
		t.Fatal(err)
	}
	checkTermIndex(t, r, "after a snapshot")
	if got, _ := r.AlertsByTerm("plate\x00UPD"); len(got) != 300 {
		t.Fatalf("plate UPD lists %d alerts, want 300 (the expired one left out)", len(got))
	}
	if got, _ := r.AlertsByTerm("plate\x00PL00001"); len(got) != 0 {
		t.Fatal("the old generation's plate still found")
	}
}

// A key rotation re-keys the term index, deltas that land during the copy
// included.
func TestTermIndexRotation(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTerms(t, path, testKey(1), "v1")
	defer r.Close()
	have := map[string]Alert{}
	seed(t, r, have, 300)
	chunks := 0
	err := r.Rotate(ctx, testKey(2), 40, func(done, total int) {
		if chunks++; chunks == 3 {
			cur, _ := r.Cursor()
			ups := []Alert{plate("S0299", "UPD", 2), plate("N1", "UPD", 1)}
			if err := r.Apply(ctx, change(cur, have, ups, []string{"S0010", "S0290"})); err != nil {
				t.Error(err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	checkTermIndex(t, r, "after the rotation")
	if got, _ := r.AlertsByTerm("plate\x00UPD"); !slices.Equal(ids(got), []string{"N1", "S0299"}) {
		t.Fatalf("plate UPD after the rotation: %v", ids(got))
	}
	// Fingerprints follow the new key.
	fp, err := r.TermFingerprints([]string{"plate\x00UPD"})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	if err := r.EachTermFingerprint(ctx, func(f uint64) { found = found || f == fp[0] }); err != nil || !found {
		t.Fatalf("the rotated index does not hold the fingerprint TermFingerprints gives: %v", err)
	}
}

// The index is trusted only as built by this term function: a replica
// written without one has it rebuilt at the next Open with one, a new
// version rebuilds it, and opening without one leaves it not ready.
func TestTermIndexRebuiltAtOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(1))
	have := map[string]Alert{}
	seed(t, r, have, 100)
	if ready, _ := r.TermsReady(); ready {
		t.Fatal("ready without a term function")
	}
	r.Close()
	r = openTerms(t, path, testKey(1), "v1")
	checkTermIndex(t, r, "rebuilt at open")
	r.Close()
	// Written without the function: the index falls behind and says so.
	r = openTest(t, path, testKey(1))
	cur, _ := r.Cursor()
	if err := r.Apply(ctx, change(cur, have, []Alert{plate("LATE", "UPD", 1)}, nil)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r = openTerms(t, path, testKey(1), "v1")
	checkTermIndex(t, r, "rebuilt after writes without the function")
	if got, _ := r.AlertsByTerm("plate\x00UPD"); !slices.Equal(ids(got), []string{"LATE"}) {
		t.Fatalf("plate UPD: %v", ids(got))
	}
	r.Close()
	other := func(a *Alert) []string { return append(testTerms(a), "any\x00"+a.ID) }
	r, err := Open(ctx, path, testKey(1), Options{Terms: other, TermsVersion: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.AlertsByTerm("any\x00LATE"); !slices.Equal(ids(got), []string{"LATE"}) {
		t.Fatalf("a new version did not rebuild the index: %v", ids(got))
	}
	r.Close()
	if _, err := Open(ctx, path, testKey(1), Options{Terms: testTerms}); err == nil {
		t.Fatal("a term function without a version was accepted")
	}
}

// A rebuild writes in transactions of bulkChunk entries; a term carried
// by more alerts than that straddles two of them and is still one whole
// list.
func TestTermIndexRebuildAcrossChunks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(1))
	var ups []Alert
	shared := 0
	for i := range bulkChunk + 6000 {
		p := fmt.Sprintf("PL%06d", i)
		if i%12 != 0 {
			p, shared = "UPD", shared+1
		}
		ups = append(ups, plate(fmt.Sprintf("S%06d", i), p, 1))
	}
	cur, _ := r.Cursor()
	if err := r.Apply(ctx, change(cur, map[string]Alert{}, ups, nil)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r = openTerms(t, path, testKey(1), "v1")
	defer r.Close()
	checkTermIndex(t, r, "rebuilt in chunks")
	if got, err := r.AlertsByTerm("plate\x00UPD"); err != nil || len(got) != shared || shared <= bulkChunk {
		t.Fatalf("plate UPD lists %d alerts, want %d (> %d): %v", len(got), shared, bulkChunk, err)
	}
}

// reopenOldTermIndex builds a replica with two alerts of one plate,
// rewrites its term index as an older layout kept it (entry gives the
// key and the value an alert of record key k adds under the term whose
// key is tk; values of one key are appended, as the first layout's
// lists were; version is what that layout stored), reopens it and
// checks that the rebuilt index files every alert and that lookups find
// the same alerts. It returns the replica reopened.
func reopenOldTermIndex(t *testing.T, entry func(tk, k []byte) (key, value []byte), version string) *Replica {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTerms(t, path, testKey(1), "v1")
	have := map[string]Alert{}
	seed(t, r, have, 40)
	cur, _ := r.Cursor()
	if err := r.Apply(context.Background(), change(cur, have, []Alert{plate("TWIN-A", "TWIN", 1), plate("TWIN-B", "TWIN", 1)}, nil)); err != nil {
		t.Fatal(err)
	}
	err := r.db.Update(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		entries := map[string][]byte{}
		c := st.gen.alerts.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			a, err := decodeAlert(st.ks, k, v)
			if err != nil {
				return err
			}
			for _, term := range testTerms(&a) {
				key, value := entry(st.ring.recordKey("term", term), k)
				entries[string(key)] = append(entries[string(key)], value...)
			}
		}
		parent := tx.Bucket(genName(st.gen.num))
		count := slices.Clone(st.gen.terms.Get(termsCountKey))
		if err := parent.DeleteBucket(bucketTerms); err != nil {
			return err
		}
		tb, err := parent.CreateBucket(bucketTerms)
		if err != nil {
			return err
		}
		for key, value := range entries {
			if err := tb.Put([]byte(key), append([]byte{}, value...)); err != nil {
				return err
			}
		}
		if err := tb.Put(termsCountKey, count); err != nil {
			return err
		}
		return tb.Put(termsVersionKey, []byte(version))
	})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	r = openTerms(t, path, testKey(1), "v1")
	t.Cleanup(func() { r.Close() })
	checkTermIndex(t, r, version+", reopened")
	if got, _ := r.AlertsByTerm("plate\x00TWIN"); !slices.Equal(ids(got), []string{"TWIN-A", "TWIN-B"}) {
		t.Fatalf("plate TWIN after the upgrade: %v", ids(got))
	}
	if got, _ := r.AlertsByTerm("plate\x00PL00007"); !slices.Equal(ids(got), []string{"S0007"}) {
		t.Fatalf("plate PL00007 after the upgrade: %v", ids(got))
	}
	return r
}

// An index in the first layout (HMAC(term) → record keys back to back,
// version without a layout) is rebuilt at Open into entries of 16 bytes
// with no value, and lookups find the same alerts: a replica written by an
// older agent upgrades in place.
func TestTermIndexFirstLayoutRebuilt(t *testing.T) {
	r := reopenOldTermIndex(t, func(tk, k []byte) ([]byte, []byte) { return tk, k }, "v1")
	var fps []uint64
	if err := r.EachTermFingerprint(context.Background(), func(fp uint64) { fps = append(fps, fp) }); err != nil {
		t.Fatal(err)
	}
	if len(fps) != 41 || !slices.IsSorted(fps) {
		t.Fatalf("%d fingerprints (sorted %v), want 41 terms once each", len(fps), slices.IsSorted(fps))
	}
}

// An index in layout 2 (16 bytes of the term's key, 16 of the record's)
// is rebuilt at Open into entries of 8 and 8: lookups find the same
// alerts, and no entry of the old width is left to take page space.
func TestTermIndexLayout2Rebuilt(t *testing.T) {
	r := reopenOldTermIndex(t, func(tk, k []byte) ([]byte, []byte) {
		return append(slices.Clone(tk[:16]), k[:16]...), nil
	}, "layout2/v1")
	err := r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		return st.gen.terms.ForEach(func(k, _ []byte) error {
			if len(k) > termEntryLen {
				t.Errorf("an entry of %d bytes is left after the rebuild", len(k))
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}
