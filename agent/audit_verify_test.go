package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/store"
	bolt "go.etcd.io/bbolt"
)

// Whoever can write the replica file can rewrite the audit log and
// recompute an unkeyed SHA-256 chain over it, head included; `audit
// verify` names the log as tampered.
func TestAuditVerifyNamesRecomputedChain(t *testing.T) {
	dir := t.TempDir()
	db, key := filepath.Join(dir, "replica.db"), filepath.Join(dir, "data.key")
	store.WriteKeyFile(key)
	ctx := context.Background()
	rep, err := store.Open(ctx, db, store.KeyFile{Path: key}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		rep.Record(ctx, store.CheckRecord{ID: fmt.Sprintf("chk-%d", i), Device: "terminal:anna"}, nil)
	}
	var recs []store.AuditRecord
	rep.AuditRecords(ctx, func(r store.AuditRecord) error { recs = append(recs, r); return nil })
	rep.Close()
	cfg := filepath.Join(dir, "agent.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("agent: {id: post-cli}\nstore: {path: %s, key: {file: %s}}\nmqtt: {broker: tcp://127.0.0.1:1}\ntrust: {central_keys: [x]}\nsync: {central_hit_key: x}\n", db, key)), 0o600)
	if out, err := runRoot(t, "", "audit", "verify", "--config", cfg); err != nil || !strings.Contains(out, "4 records") {
		t.Fatalf("intact log: %v\n%s", err, out)
	}

	recs[1].Device = "terminal:someone-else"
	b, err := bolt.Open(store.JournalPath(db), 0o600, nil) // the audit log is in the journal
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		prev := ""
		for _, r := range recs {
			r.Prev, r.Hash = prev, ""
			v, _ := json.Marshal(r)
			sum := sha256.Sum256(v)
			r.Hash = hex.EncodeToString(sum[:])
			v, _ = json.Marshal(r)
			if err := tx.Bucket([]byte("audit")).Put(binary.BigEndian.AppendUint64(nil, r.Seq), v); err != nil {
				return err
			}
			prev = r.Hash
		}
		return tx.Bucket([]byte("meta")).Put([]byte("audit_head"), []byte(prev))
	})
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err := runRoot(t, "", "audit", "verify", "--config", cfg)
	if err == nil || !strings.Contains(err.Error()+out, "tampered") {
		t.Fatalf("audit verify passed a recomputed chain: %v\n%s", err, out)
	}
	t.Log(err)
}
