package store

import (
	"bytes"
	"context"
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

type staticKey []byte

func (k staticKey) DataKey(context.Context) ([]byte, error) { return bytes.Clone(k), nil }

func testKey(b byte) staticKey { return bytes.Repeat([]byte{b}, DataKeySize) }

func openTest(t *testing.T, path string, key KeyProvider) *Replica {
	t.Helper()
	r, err := Open(context.Background(), path, key, Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func plate(id, p string, v uint64) Alert {
	return Alert{ID: id, Version: v, Action: "seize", Subject: Subject{Kind: SubjectVehicle, Vehicle: &Vehicle{Plate: p, PlateCountry: "DE"}}}
}

// change builds the next change after cur holding the given operations, as
// central would, with the digest of the state that results.
func change(cur Cursor, have map[string]Alert, ups []Alert, dels []string) Change {
	d := cur.Digest
	for _, a := range ups {
		if old, ok := have[a.ID]; ok {
			d.Remove(old.ID, old.Version)
		}
		d.Add(a.ID, a.Version)
		have[a.ID] = a
	}
	for _, id := range dels {
		if old, ok := have[id]; ok {
			d.Remove(old.ID, old.Version)
			delete(have, id)
		}
	}
	epoch := cur.Epoch
	if epoch == 0 {
		epoch = 1
	}
	seq := cur.Seq + 1
	return Change{Epoch: epoch, Seq: seq, PrevHash: cur.Hash, Hash: [32]byte{byte(seq), 0xAB}, Digest: d, Upserts: ups, Deletes: dels}
}

func TestApplySequenceAndDigest(t *testing.T) {
	ctx := context.Background()
	r := openTest(t, filepath.Join(t.TempDir(), "r.db"), testKey(1))
	defer r.Close()
	have := map[string]Alert{}
	c0, _ := r.Cursor()
	ch1 := change(c0, have, []Alert{plate("A1", "MAB1234", 1), plate("A2", "BXY99", 1)}, nil)
	if err := r.Apply(ctx, ch1); err != nil {
		t.Fatal(err)
	}
	c1, _ := r.Cursor()
	if c1.Seq != 1 || c1.Digest != ch1.Digest {
		t.Fatalf("cursor after first change: %+v", c1)
	}
	// Replay, gap, wrong chain and wrong digest all leave the replica as it was.
	if err := r.Apply(ctx, ch1); !errors.Is(err, ErrReplay) {
		t.Errorf("replay: %v", err)
	}
	gap := change(c1, map[string]Alert{}, nil, nil)
	gap.Seq = 3
	if err := r.Apply(ctx, gap); !errors.Is(err, ErrGap) {
		t.Errorf("gap: %v", err)
	}
	chain := change(c1, map[string]Alert{}, nil, nil)
	chain.PrevHash = [32]byte{9}
	if err := r.Apply(ctx, chain); !errors.Is(err, ErrChain) {
		t.Errorf("chain: %v", err)
	}
	bad := change(c1, map[string]Alert{"A1": have["A1"], "A2": have["A2"]}, []Alert{plate("A3", "HH1", 1)}, []string{"A1"})
	bad.Digest = c1.Digest // lies about the result
	if err := r.Apply(ctx, bad); !errors.Is(err, ErrDigest) {
		t.Errorf("digest: %v", err)
	}
	if _, ok, _ := r.Alert("A3"); ok {
		t.Error("alert of a refused change was written")
	}
	if c, _ := r.Cursor(); c.Seq != 1 || c.Digest != c1.Digest {
		t.Errorf("cursor moved by refused changes: %+v", c)
	}
	// A proper second change: update, delete, insert.
	ch2 := change(c1, have, []Alert{plate("A1", "MAB1234", 2), plate("A3", "HH1", 1)}, []string{"A2"})
	if err := r.Apply(ctx, ch2); err != nil {
		t.Fatal(err)
	}
	n := 0
	r.Alerts(ctx, func(a Alert) error {
		n++
		if a.ID == "A1" && a.Version != 2 {
			t.Errorf("A1 version %d", a.Version)
		}
		return nil
	})
	if n != 2 {
		t.Errorf("%d alerts after second change, want 2", n)
	}
	// Refusals are audited, and the chain verifies.
	refused := 0
	r.AuditRecords(ctx, func(rec AuditRecord) error {
		if rec.Event == EventDeltaRefused {
			refused++
		}
		return nil
	})
	if refused != 4 {
		t.Errorf("%d refused changes audited, want 4", refused)
	}
	if _, err := r.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
}

func TestWrongKeyAndNoKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	openTest(t, path, testKey(1)).Close()
	if _, err := Open(context.Background(), path, testKey(2), Options{}); !errors.Is(err, ErrWrongKey) {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := Open(context.Background(), path, nil, Options{}); !errors.Is(err, ErrNoKey) {
		t.Errorf("no key provider: %v", err)
	}
	if _, err := Open(context.Background(), path, KeyFile{Path: filepath.Join(t.TempDir(), "missing.key")}, Options{}); !errors.Is(err, ErrNoKey) {
		t.Errorf("missing key file: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k")
	if err := WriteKeyFile(p); err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyFile(p); err == nil {
		t.Error("WriteKeyFile overwrote an existing key")
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", fi.Mode().Perm())
	}
	k, err := KeyFile{Path: p}.DataKey(context.Background())
	if err != nil || len(k) != DataKeySize {
		t.Fatalf("read back: %v", err)
	}
}

func TestNoPlaintextOnDisk(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(3))
	secrets := []string{"MAB1234", "CSQU3054383", "Kowalczykowa", "P0987654321", "Vesselname", "SN-554433", "someone@example.org",
		"Amberline Logistics", "DE998877665544", "+4930555123456", "DAIMQ", "WVWZZZ1JZXW000001", "Cheboksary Street 7"}
	ups := []Alert{
		plate("A1", secrets[0], 1),
		{ID: "A2", Version: 1, Subject: Subject{Kind: SubjectContainer, Container: &Container{Number: secrets[1]}}},
		{ID: "A3", Version: 1, Subject: Subject{Kind: SubjectPerson, Person: &Person{Surname: secrets[2]}}},
		{ID: "A4", Version: 1, Subject: Subject{Kind: SubjectDocument, Document: &Document{Number: secrets[3]}}},
		{ID: "A5", Version: 1, Subject: Subject{Kind: SubjectVessel, Vessel: &Vessel{IMO: "9074729", Name: secrets[4]}}},
		{ID: "A6", Version: 1, Subject: Subject{Kind: SubjectFirearm, Firearm: &Firearm{Serial: secrets[5]}}},
		{ID: "A7", Version: 1, Subject: Subject{Kind: SubjectEmail, Email: secrets[6]}},
		{ID: "A8", Version: 1, Subject: Subject{Kind: SubjectCompany, Company: &Company{Name: secrets[7], EORI: secrets[8], Address: secrets[12]}}},
		{ID: "A9", Version: 1, Subject: Subject{Kind: SubjectPhone, Phone: secrets[9]}},
		{ID: "A10", Version: 1, Subject: Subject{Kind: SubjectAircraft, Aircraft: &Aircraft{Registration: secrets[10]}}},
		{ID: "A11", Version: 1, Subject: Subject{Kind: SubjectVehicle, Vehicle: &Vehicle{VIN: secrets[11], PlateCountry: "DE"}}},
	}
	// Every subject kind is covered.
	kinds := map[SubjectKind]bool{}
	for _, a := range ups {
		kinds[a.Subject.Kind] = true
	}
	if len(kinds) != 10 {
		t.Fatalf("test covers %d subject kinds, want all 10", len(kinds))
	}
	c0, _ := r.Cursor()
	if err := r.Apply(ctx, change(c0, map[string]Alert{}, ups, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Record(ctx, CheckRecord{ID: "chk-1", Device: "gate", Items: 1},
		[]Hit{{ID: "hit-1", CheckID: "chk-1", Value: secrets[0], AlertID: "A1", Explanation: "plate " + secrets[0]}}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	raw, _ := os.ReadFile(path)
	journal, _ := os.ReadFile(JournalPath(path))
	if len(journal) == 0 {
		t.Fatal("no journal beside the replica")
	}
	for _, s := range secrets {
		if bytes.Contains(raw, []byte(s)) || bytes.Contains(journal, []byte(s)) {
			t.Errorf("%q found in clear in the replica file or its journal", s)
		}
	}
}

func TestCiphertextBoundToItsPlace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(4))
	c0, _ := r.Cursor()
	if err := r.Apply(ctx, change(c0, map[string]Alert{}, []Alert{plate("A1", "X1", 1), plate("A2", "X2", 1)}, nil)); err != nil {
		t.Fatal(err)
	}
	// Swap the two sealed values on disk: each must now fail to open.
	r.db.Update(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		b := st.gen.alerts
		k1, k2 := st.ring.recordKey("alert", "A1"), st.ring.recordKey("alert", "A2")
		v1, v2 := append([]byte(nil), b.Get(k1)...), append([]byte(nil), b.Get(k2)...)
		b.Put(k1, v2)
		return b.Put(k2, v1)
	})
	if _, _, err := r.Alert("A1"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("swapped value opened: %v", err)
	}
	r.Close()
}

func TestOutboxRecordAndAcknowledge(t *testing.T) {
	ctx := context.Background()
	r := openTest(t, filepath.Join(t.TempDir(), "r.db"), testKey(5))
	defer r.Close()
	for i := range 10 {
		hits := []Hit{{ID: fmt.Sprintf("h%d", i), AlertID: "A1", Time: time.Unix(int64(1000+i), 0).UTC()}}
		out, err := r.Record(ctx, CheckRecord{ID: fmt.Sprintf("c%d", i)}, hits)
		if err != nil || out[0].Seq != uint64(i+1) {
			t.Fatalf("record %d: seq %v err %v", i, out, err)
		}
	}
	st, _ := r.Outbox()
	if st.Depth != 10 || st.First != 1 || !st.Oldest.Equal(time.Unix(1000, 0)) {
		t.Fatalf("outbox %+v", st)
	}
	p, _ := r.Pending(3, 4)
	if len(p) != 4 || p[0].Seq != 4 || p[3].Seq != 7 {
		t.Fatalf("pending after 3: %+v", p)
	}
	if n, err := r.Acknowledge(6); n != 6 || err != nil {
		t.Fatalf("acknowledge 6: %d %v", n, err)
	}
	st, _ = r.Outbox()
	if st.Depth != 4 || st.First != 7 {
		t.Fatalf("outbox after ack %+v", st)
	}
}

func TestAuditTamperDetected(t *testing.T) {
	ctx := context.Background()
	for _, tamper := range []string{"edit", "remove", "reorder", "truncate"} {
		t.Run(tamper, func(t *testing.T) {
			r := openTest(t, filepath.Join(t.TempDir(), "r.db"), testKey(6))
			defer r.Close()
			for i := range 5 {
				r.Record(ctx, CheckRecord{ID: fmt.Sprintf("c%d", i)}, nil)
			}
			if n, err := r.VerifyAudit(ctx); err != nil || n != 5 {
				t.Fatalf("intact log: %d %v", n, err)
			}
			r.j.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket(bucketAudit)
				switch tamper {
				case "edit":
					var rec AuditRecord
					json.Unmarshal(b.Get(u64(3)), &rec)
					rec.Ref = "someone-else"
					v, _ := json.Marshal(rec)
					return b.Put(u64(3), v)
				case "remove":
					return b.Delete(u64(2))
				case "reorder":
					v2, v3 := append([]byte(nil), b.Get(u64(2))...), append([]byte(nil), b.Get(u64(3))...)
					b.Put(u64(2), v3)
					return b.Put(u64(3), v2)
				default:
					return b.Delete(u64(5))
				}
			})
			_, err := r.VerifyAudit(ctx)
			if !errors.Is(err, ErrAuditChain) {
				t.Fatalf("%s not detected: %v", tamper, err)
			}
			t.Log(err)
		})
	}
}

func TestDigestOrderIndependent(t *testing.T) {
	var a, b Digest
	a.Add("x", 1)
	a.Add("y", 2)
	a.Add("z", 3)
	b.Add("z", 3)
	b.Add("x", 1)
	b.Add("y", 2)
	if a != b {
		t.Fatal("digest depends on order")
	}
	b.Remove("y", 2)
	b.Add("y", 3)
	if a == b {
		t.Fatal("digest ignores versions")
	}
	b.Remove("y", 3)
	b.Add("y", 2)
	if a != b {
		t.Fatal("remove does not undo add")
	}
	if p, err := ParseDigest(a.String()); err != nil || p != a {
		t.Fatal("digest does not round-trip through String")
	}
}

func TestRecordOutcome(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(7))
	if _, err := r.Record(ctx, CheckRecord{ID: "c1", Device: "gate"}, []Hit{{ID: "h1", AlertID: "A1", Time: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	o := Outcome{ID: "o1", HitID: "h1", AlertID: "A1", Outcome: "confirmed", Remark: "driver Wojciechowski detained", Officer: "anna", Role: "officer", Time: time.Now().UTC()}
	if err := r.RecordOutcome(ctx, o); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordOutcome(ctx, Outcome{ID: "o2"}); err == nil {
		t.Error("an outcome without hit was recorded")
	}
	p, _ := r.Pending(0, 10)
	if len(p) != 2 || p[1].Outcome == nil || p[1].Outcome.HitID != "h1" || p[1].Seq != 2 {
		t.Fatalf("outbox: %+v", p)
	}
	found := false
	r.AuditRecords(ctx, func(rec AuditRecord) error {
		if rec.Event == EventOutcome && rec.Ref == "h1" && rec.Device == "anna" && rec.Detail == "confirmed" {
			found = true
			if strings.Contains(rec.Detail+rec.Ref, "Wojciechowski") {
				t.Error("the remark reached the audit log")
			}
		}
		return nil
	})
	if !found {
		t.Error("no audit record of the outcome")
	}
	r.Close()
	for _, p := range []string{path, JournalPath(path)} {
		raw, _ := os.ReadFile(p)
		if len(raw) == 0 || bytes.Contains(raw, []byte("Wojciechowski")) {
			t.Errorf("the remark is in clear in %s (or it is empty)", p)
		}
	}
}

// Remove takes the files the store keeps beside a replica with it: a
// dropped scope leaves nothing of its own on disk.
func TestRemoveTakesSideFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTest(t, path, testKey(1))
	r.Close()
	if _, err := os.Stat(JournalPath(path)); err != nil {
		t.Fatalf("no journal to remove: %v", err)
	}
	side := []string{JournalPath(path), TermTablePath(path), path + ".terms-3", path + ".snapshot-2", path + ".format2.bak"}
	for _, p := range side {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := Remove(path); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(side, path) {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still on disk after Remove (%v)", filepath.Base(p), err)
		}
	}
}
