package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Whoever can write the file can rewrite a record and recompute an
// unkeyed SHA-256 chain over the rest, head included: verification must
// still name the log as tampered.
func TestAuditRecomputedUnkeyedChainDetected(t *testing.T) {
	ctx := context.Background()
	r := openTest(t, filepath.Join(t.TempDir(), "r.db"), testKey(6))
	defer r.Close()
	for i := range 5 {
		if _, err := r.Record(ctx, CheckRecord{ID: fmt.Sprintf("c%d", i), Device: "lane-1"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var recs []AuditRecord
	if err := r.AuditRecords(ctx, func(rec AuditRecord) error { recs = append(recs, rec); return nil }); err != nil {
		t.Fatal(err)
	}
	recs[2].Device = "someone-else"
	err := r.j.Update(func(tx *bolt.Tx) error {
		prev := ""
		for _, rec := range recs {
			rec.Prev, rec.Hash = prev, ""
			b, _ := json.Marshal(rec)
			sum := sha256.Sum256(b)
			rec.Hash = hex.EncodeToString(sum[:])
			v, _ := json.Marshal(rec)
			if err := tx.Bucket(bucketAudit).Put(u64(rec.Seq), v); err != nil {
				return err
			}
			prev = rec.Hash
		}
		return tx.Bucket(bucketMeta).Put(metaAudit, []byte(prev))
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.VerifyAudit(ctx)
	if !errors.Is(err, ErrAuditChain) {
		t.Fatalf("a log rewritten with a recomputed unkeyed chain verifies: %v", err)
	}
	t.Log(err)

	// A sealed record copied over another keeps failing too: its chain
	// value covers its position and predecessor.
	r2 := openTest(t, filepath.Join(t.TempDir(), "r2.db"), testKey(6))
	defer r2.Close()
	for i := range 3 {
		r2.Record(ctx, CheckRecord{ID: fmt.Sprintf("c%d", i), Device: "lane-1"}, nil)
	}
	r2.j.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		return b.Put(u64(2), bytes.Clone(b.Get(u64(1))))
	})
	if _, err := r2.VerifyAudit(ctx); !errors.Is(err, ErrAuditChain) {
		t.Fatalf("record copied over another: %v", err)
	}
	// And so does a chain value edited in place.
	r3 := openTest(t, filepath.Join(t.TempDir(), "r3.db"), testKey(6))
	defer r3.Close()
	for i := range 3 {
		r3.Record(ctx, CheckRecord{ID: fmt.Sprintf("c%d", i), Device: "lane-1"}, nil)
	}
	r3.j.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		v := bytes.Clone(b.Get(u64(2)))
		v[len(v)-1] ^= 1
		return b.Put(u64(2), v)
	})
	if _, err := r3.VerifyAudit(ctx); !errors.Is(err, ErrAuditChain) || !strings.Contains(err.Error(), "record 2 does not follow") {
		t.Fatalf("chain value edited: %v", err)
	}
}

// User and device names in audit records are personal data: the file
// holds none of them in clear.
func TestAuditRecordsSealed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(6))
	secrets := []string{"terminal:jkowalczyk", "officer-mbrennan", "scanner-ABX-7731", "chk-5f1e3a"}
	if _, err := r.Record(ctx, CheckRecord{ID: secrets[3], Device: secrets[2], Items: 2}, []Hit{{ID: "hit-1", AlertID: "A1", Value: "X"}}); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordOutcome(ctx, Outcome{ID: "out-1", HitID: "hit-1", AlertID: "A1", Outcome: "confirmed", Officer: secrets[1]}); err != nil {
		t.Fatal(err)
	}
	if err := r.Audit(ctx, AuditRecord{Event: "terminal.login", Device: secrets[0]}); err != nil {
		t.Fatal(err)
	}
	var got []AuditRecord
	r.AuditRecords(ctx, func(rec AuditRecord) error { got = append(got, rec); return nil })
	if len(got) != 3 || got[0].Device != secrets[2] || got[0].Ref != secrets[3] || got[0].Hits[0] != "hit-1" ||
		got[1].Device != secrets[1] || got[2].Device != secrets[0] || got[2].Prev != got[1].Hash {
		t.Fatalf("records do not read back: %+v", got)
	}
	if n, err := r.VerifyAudit(ctx); err != nil || n != 3 {
		t.Fatalf("verify: %d %v", n, err)
	}
	r.Close()
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if bytes.Contains(file, []byte(s)) {
			t.Errorf("%q is in the replica file in clear", s)
		}
	}
}

// Records keep verifying and opening across key rotations, after the
// old keys are gone, and tampering with one written before a rotation is
// still caught.
func TestAuditAcrossRotations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(1))
	r.Record(ctx, CheckRecord{ID: "before", Device: "lane-1"}, nil)
	for i, k := range []staticKey{testKey(2), testKey(3)} {
		if err := r.Rotate(ctx, k, 10, nil); err != nil {
			t.Fatal(err)
		}
		r.Record(ctx, CheckRecord{ID: fmt.Sprintf("after-%d", i), Device: "lane-1"}, nil)
		if _, err := r.VerifyAudit(ctx); err != nil {
			t.Fatalf("verify after rotation %d, same process: %v", i+1, err)
		}
	}
	r.Close()
	r = openTest(t, path, testKey(3))
	defer r.Close()
	n, err := r.VerifyAudit(ctx)
	if err != nil || n != 7 { // (check, rotation started, rotated) twice, check
		t.Fatalf("verify after reopening with the last key only: %d %v", n, err)
	}
	var first AuditRecord
	r.AuditRecords(ctx, func(rec AuditRecord) error {
		if first.Seq == 0 {
			first = rec
		}
		return nil
	})
	if first.Ref != "before" || first.Device != "lane-1" {
		t.Fatalf("record of key generation 1 does not open: %+v", first)
	}
	// Flip one byte of the first record's sealed body.
	r.j.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		v := bytes.Clone(b.Get(u64(1)))
		v[len(v)-auditMACSize-3] ^= 1
		return b.Put(u64(1), v)
	})
	if _, err := r.VerifyAudit(ctx); !errors.Is(err, ErrAuditChain) || !strings.Contains(err.Error(), "record 1 ") {
		t.Fatalf("edit of a record from before two rotations: %v", err)
	}
}

// Records removed from the end across a rotation are caught even when the
// head is set to the last record kept.
func TestAuditTruncationAcrossRotation(t *testing.T) {
	ctx := context.Background()
	r := openTest(t, filepath.Join(t.TempDir(), "r.db"), testKey(1))
	defer r.Close()
	r.Record(ctx, CheckRecord{ID: "c1"}, nil)
	if err := r.Rotate(ctx, testKey(2), 10, nil); err != nil {
		t.Fatal(err)
	}
	var recs []AuditRecord
	r.AuditRecords(ctx, func(rec AuditRecord) error { recs = append(recs, rec); return nil })
	r.j.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		keep := recs[len(recs)-2]
		b.Delete(u64(recs[len(recs)-1].Seq))
		return tx.Bucket(bucketMeta).Put(metaAudit, []byte(keep.Hash))
	})
	if _, err := r.VerifyAudit(ctx); !errors.Is(err, ErrAuditChain) {
		t.Fatalf("key.rotated record removed and head moved back: %v", err)
	}
}

// Records removed from either end are caught even when the head, or the
// anchor retention leaves, is moved to match: both carry a tag under the
// audit key.
func TestAuditEndsCannotBeMoved(t *testing.T) {
	ctx := context.Background()
	for _, end := range []string{"head", "anchor"} {
		t.Run(end, func(t *testing.T) {
			clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			r, err := Open(ctx, filepath.Join(t.TempDir(), "r.db"), testKey(1), Options{Now: func() time.Time { return clock }})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for i := range 6 {
				clock = clock.Add(24 * time.Hour)
				r.Record(ctx, CheckRecord{ID: fmt.Sprintf("c%d", i)}, nil)
			}
			if end == "anchor" {
				if _, err := r.PurgeRetention(ctx, time.Date(2026, 1, 3, 12, 0, 0, 0, time.UTC)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := r.VerifyAudit(ctx); err != nil {
				t.Fatalf("intact log: %v", err)
			}
			var recs []AuditRecord
			r.AuditRecords(ctx, func(rec AuditRecord) error { recs = append(recs, rec); return nil })
			r.j.Update(func(tx *bolt.Tx) error {
				b, meta := tx.Bucket(bucketAudit), tx.Bucket(bucketMeta)
				if end == "head" {
					last := recs[len(recs)-1]
					b.Delete(u64(last.Seq))
					return meta.Put(metaAudit, []byte(last.Prev))
				}
				first := recs[0]
				b.Delete(u64(first.Seq))
				a, _ := json.Marshal(auditAnchor{Seq: first.Seq, Hash: first.Hash})
				return meta.Put(metaAuditAnchor, a)
			})
			_, err = r.VerifyAudit(ctx)
			if !errors.Is(err, ErrAuditChain) {
				t.Fatalf("record removed from the %s's end with the %s moved: %v", end, end, err)
			}
			t.Log(err)
		})
	}
}

// A log written before records were sealed (format 2) is sealed once,
// when the replica is opened, and says whether its unkeyed chain was
// intact.
func TestAuditLegacyLogSealed(t *testing.T) {
	ctx := context.Background()
	for _, broken := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "r.db")
		r := openTest(t, path, testKey(1))
		r.Close()
		singleFile(t, path, func(tx *bolt.Tx) error {
			tx.Bucket(bucketMeta).Delete(metaAuditKeyed)
			tx.Bucket(bucketMeta).Put(metaFormat, u32(2))
			b := tx.Bucket(bucketAudit)
			prev := ""
			for i := uint64(1); i <= 3; i++ {
				seq, _ := b.NextSequence()
				rec := AuditRecord{Seq: seq, Time: time.Date(2026, 1, int(i), 0, 0, 0, 0, time.UTC), Event: EventCheck, Ref: fmt.Sprint("c", i), Device: "officer-legacy", Prev: prev}
				rec.Hash, _ = legacyAuditHash(rec)
				if broken && i == 2 {
					rec.Ref = "edited"
				}
				v, _ := json.Marshal(rec)
				b.Put(u64(seq), v)
				prev = rec.Hash
			}
			return tx.Bucket(bucketMeta).Put(metaAudit, []byte(prev))
		})
		r = openTest(t, path, testKey(1))
		n, err := r.VerifyAudit(ctx)
		if err != nil || n != 4 {
			t.Fatalf("sealed legacy log: %d %v", n, err)
		}
		var recs []AuditRecord
		r.AuditRecords(ctx, func(rec AuditRecord) error { recs = append(recs, rec); return nil })
		last := recs[3]
		want := "unkeyed chain intact"
		if broken {
			want = "broken at record 2"
		}
		if recs[0].Ref != "c1" || recs[0].Time.Day() != 1 || last.Event != EventAuditSealed || !strings.Contains(last.Detail, want) {
			t.Fatalf("broken=%v: records after sealing %+v", broken, recs)
		}
		r.Close()
		if st, err := ReadStatus(ctx, path, Options{}); err != nil || st.Format != FormatVersion {
			t.Fatalf("format after sealing: %+v %v", st, err)
		}
		// Sealing happens once: legacy records planted later stay tampered.
		r = openTest(t, path, testKey(1))
		r.j.Update(func(tx *bolt.Tx) error {
			v, _ := json.Marshal(AuditRecord{Seq: 2, Event: EventCheck, Ref: "planted"})
			return tx.Bucket(bucketAudit).Put(u64(2), v)
		})
		r.Close()
		r = openTest(t, path, testKey(1))
		if _, err := r.VerifyAudit(ctx); !errors.Is(err, ErrAuditChain) {
			t.Fatalf("legacy record planted after sealing: %v", err)
		}
		r.Close()
	}
}

// The records of an unsealed log linger in freed pages once sealed; the
// compaction that sealing asks for at the next start removes them.
func TestAuditLegacyNamesGoneAfterCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(1))
	r.Close()
	singleFile(t, path, func(tx *bolt.Tx) error {
		// A format 2 file: its log in clear, never sealed.
		tx.Bucket(bucketMeta).Delete(metaAuditKeyed)
		tx.Bucket(bucketMeta).Put(metaFormat, u32(2))
		b := tx.Bucket(bucketAudit)
		prev := ""
		for i := 1; i <= 2000; i++ {
			seq, _ := b.NextSequence()
			rec := AuditRecord{Seq: seq, Event: EventCheck, Ref: fmt.Sprint("c", i), Device: fmt.Sprintf("officer-legacy-%d", i), Prev: prev}
			rec.Hash, _ = legacyAuditHash(rec)
			v, _ := json.Marshal(rec)
			b.Put(u64(seq), v)
			prev = rec.Hash
		}
		return tx.Bucket(bucketMeta).Put(metaAudit, []byte(prev))
	})
	r = openTest(t, path, testKey(1)) // seals the log
	r.Close()
	if b, _ := os.ReadFile(path); !bytes.Contains(b, []byte("officer-legacy")) {
		t.Fatal("no trace of the unsealed log before compaction: the test would prove nothing")
	}
	r, err := Open(context.Background(), path, testKey(1), Options{Compact: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("officer-legacy")) {
		t.Error("a name of the unsealed log is still in the file after the compaction")
	}
	if n, err := r.VerifyAudit(context.Background()); err != nil || n != 2001 {
		t.Fatalf("verify after compaction: %d %v", n, err)
	}
}

// The on-disk size of the audit record of a check, which a post writes
// for every arrival: with one hit it stays under 150 bytes, sealed, and
// it reads back with the references it was given.
func TestAuditRecordSize(t *testing.T) {
	ctx := context.Background()
	r := openTest(t, filepath.Join(t.TempDir(), "r.db"), testKey(1))
	defer r.Close()
	r.Record(ctx, CheckRecord{ID: "chk-0123456789abcdef01234567", Device: "lane-3-ocr", Items: 2}, nil)
	r.Record(ctx, CheckRecord{ID: "chk-0123456789abcdef01234568", Device: "lane-3-ocr", Items: 2},
		[]Hit{{ID: "hit-0123456789abcdef01234567", AlertID: "AL-2026-000123"}})
	r.j.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		none, one := len(b.Get(u64(1))), len(b.Get(u64(2)))
		t.Logf("audit record of a check: %d bytes without hits, %d with one hit", none, one)
		if none > 120 {
			t.Errorf("a check without hits takes %d bytes in the audit log", none)
		}
		if one > 150 {
			t.Errorf("a check with one hit takes %d bytes in the audit log, want at most 150", one)
		}
		return nil
	})
	var got []AuditRecord
	r.AuditRecords(ctx, func(rec AuditRecord) error { got = append(got, rec); return nil })
	if len(got) != 2 || got[1].Ref != "chk-0123456789abcdef01234568" || got[1].Event != EventCheck ||
		len(got[1].Hits) != 1 || got[1].Hits[0] != "hit-0123456789abcdef01234567" || got[1].Alerts[0] != "AL-2026-000123" {
		t.Fatalf("compact records do not read back: %+v", got)
	}
}

// Records of the first sealed form (0xa1, long body) written before the
// compact one keep opening and verifying, chained with compact records
// after them; every field of both forms reads back as written.
func TestAuditCompactAfterLongForm(t *testing.T) {
	ctx := context.Background()
	r := openTest(t, filepath.Join(t.TempDir(), "r.db"), testKey(1))
	defer r.Close()
	recs := []AuditRecord{
		{Event: "terminal.login", Device: "terminal:someone", Detail: "officer"},
		{Event: EventCheck, Ref: "chk-0123456789ABCDEF01234567", Device: "x-0123456789abcdef0123456", Detail: "1 items",
			Hits: []string{"hit-0123456789abcdef01234567", "h"}, Alerts: []string{"A1", ""}},
		{Event: EventDeltaApplied, Ref: "3/7"},
	}
	// The first record in the long form, as the code before wrote it.
	err := r.jupdate(func(tx *bolt.Tx) error {
		ring := r.journalRing()
		rec := recs[0]
		rec.Seq, _ = tx.Bucket(bucketAudit).NextSequence()
		rec.Time = r.now().UTC()
		v, h, err := ring.audit.sealAudit(rec, "")
		if err != nil {
			return err
		}
		// Rewrite it as version 1: long body, same header otherwise.
		sa, _ := parseAudit(v)
		long := append([]byte{auditSealed}, sa.header[1:]...)
		long = append(long, sa.nonce...)
		long = ring.audit.aead.Seal(long, sa.nonce, encodeAuditBody(rec), long[:len(sa.header)])
		mac := ring.audit.chainMAC("", long)
		h = hex.EncodeToString(mac)
		long = append(long, mac...)
		if err := tx.Bucket(bucketAudit).Put(u64(rec.Seq), long); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(metaAuditHeadTag, []byte(ring.audit.positionTag("head", rec.Seq, h))); err != nil {
			return err
		}
		return meta.Put(metaAudit, []byte(h))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs[1:] {
		if err := r.Audit(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := r.VerifyAudit(ctx); err != nil || n != 3 {
		t.Fatalf("verify: %d %v", n, err)
	}
	var got []AuditRecord
	r.AuditRecords(ctx, func(rec AuditRecord) error { got = append(got, rec); return nil })
	for i := range recs {
		g := got[i]
		if g.Event != recs[i].Event || g.Ref != recs[i].Ref || g.Device != recs[i].Device || g.Detail != recs[i].Detail ||
			fmt.Sprint(g.Hits) != fmt.Sprint(recs[i].Hits) || fmt.Sprint(g.Alerts) != fmt.Sprint(recs[i].Alerts) {
			t.Errorf("record %d reads back as %+v, written %+v", i+1, g, recs[i])
		}
	}
	r.j.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketAudit).Get(u64(1)); v[0] != auditSealed {
			t.Errorf("first record is not of the long form")
		}
		if v := tx.Bucket(bucketAudit).Get(u64(2)); v[0] != auditSealed2 {
			t.Errorf("second record is not of the compact form")
		}
		return nil
	})
}

// BenchmarkAuditSeal: what sealing and chaining adds to every audit
// record (a check's), in memory, without the disk write.
func BenchmarkAuditSeal(b *testing.B) {
	ring, _ := newKeyring(testKey(1), make([]byte, 32), 1)
	rec := AuditRecord{Seq: 42, Time: time.Now(), Event: EventCheck, Ref: "chk-0123456789abcdef01234567", Device: "lane-3-ocr", Detail: "2 items"}
	prev := strings.Repeat("ab", auditMACSize)
	for b.Loop() {
		if _, _, err := ring.audit.sealAudit(rec, prev); err != nil {
			b.Fatal(err)
		}
	}
}

// A current-format file whose seal mark is gone was damaged or tampered
// with: its log is not converted (which would trust it), the file is
// refused with the remedy.
func TestAuditSealMarkRemovedRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(1))
	r.j.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(metaAuditKeyed) })
	r.Close()
	_, err := Open(context.Background(), path, testKey(1), Options{})
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "replica rebuild") {
		t.Fatalf("open without the audit seal mark: %v; want ErrDamaged with the remedy", err)
	}
}
