package store

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A format 1 file (one top-level alerts bucket with JSON values, one key
// check) is upgraded in place at open: its alerts stay readable, get an
// expiry index, and the digest is unchanged.
func TestUpgradeFromFormat1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	salt := make([]byte, 32)
	salt[0] = 7
	ring, err := newKeyring(testKey(1), salt, 1)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	alerts := []Alert{plate("A1", "OLD1", 1), person("A2", "Oldname", 2, now.Add(-time.Minute)), person("A3", "Keeps", 1, now.Add(time.Hour))}
	var d Digest
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bucketMeta)
		ab, _ := tx.CreateBucket(bucketAlerts)
		tx.CreateBucket(bucketOutbox)
		tx.CreateBucket(bucketAudit)
		for _, a := range alerts {
			k := ring.recordKey("alert", a.ID)
			plain, _ := json.Marshal(a)
			v, err := ring.seal(bucketAlerts, k, plain)
			if err != nil {
				return err
			}
			ab.Put(k, v)
			d.Add(a.ID, a.Version)
		}
		cur, _ := json.Marshal(Cursor{Epoch: 1, Seq: 5, Digest: d})
		for _, kv := range [][2][]byte{{metaFormat, u32(1)}, {metaSalt, salt}, {metaKeyGen, u32(1)}, {metaKeyCheck, ring.check()}, {metaCursor, cur}} {
			meta.Put(kv[0], kv[1])
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := openTerms(t, path, testKey(1), "v1") // and the term index is built
	defer r.Close()
	checkTermIndex(t, r, "after the upgrade")
	h := heldBy(t, r)
	if h.alerts != 3 || h.digest != d || h.cur.Digest != d || h.gens != 1 {
		t.Fatalf("after upgrade %+v", h)
	}
	if a, ok, err := r.Alert("A1"); err != nil || !ok || a.Subject.Vehicle.Plate != "OLD1" {
		t.Fatalf("format 1 alert unreadable: %v %v", ok, err)
	}
	if n, err := r.PurgeExpired(ctx, now); err != nil || n != 1 {
		t.Fatalf("expiry index not built: %d %v", n, err)
	}
	checkTermIndex(t, r, "after the upgrade and a purge")
	// The format 1 file was copied aside, whole, before the upgrade.
	if st, err := ReadStatus(ctx, BackupPath(path, 1), Options{}); err != nil || st.Format != 1 || st.Cursor.Seq != 5 {
		t.Fatalf("backup of the format 1 file: %+v %v", st, err)
	}
	if st, _ := ReadStatus(ctx, path+".missing", Options{}); st.Format != 0 {
		t.Fatal("status of a missing file")
	}
}
