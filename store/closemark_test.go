package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openLogged opens the replica at path and returns it with what Open
// logged.
func openLogged(t *testing.T, path string, key KeyProvider) (*Replica, string, error) {
	t.Helper()
	var log bytes.Buffer
	r, err := Open(context.Background(), path, key, Options{LockTimeout: time.Second, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	return r, log.String(), err
}

const (
	vouchedLog = "replica closed cleanly and unchanged since"
	walkedLog  = "replica file checked page by page"
)

// closedReplica makes a replica at path holding n plates, closed cleanly.
func closedReplica(t *testing.T, path string, key KeyProvider, n int) {
	t.Helper()
	r := openTest(t, path, key)
	seed(t, r, map[string]Alert{}, n)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// startLog opens the replica at path, closes it, and returns what Open
// logged.
func startLog(t *testing.T, path string, key KeyProvider) string {
	t.Helper()
	r, log, err := openLogged(t, path, key)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	return log
}

// A start after a clean close reads the meta pages only; the mark is gone
// while the replica is open, so a session that dies leaves none.
func TestCleanCloseSparesTheNextStartTheTreeCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replica.db")
	key := testKey(3)
	closedReplica(t, path, key, 300)
	if _, err := os.Stat(closeMarkPath(path)); err != nil {
		t.Fatalf("no close mark after a clean close: %v", err)
	}
	r, log, err := openLogged(t, path, key)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log, vouchedLog) || strings.Contains(log, walkedLog) {
		t.Errorf("start after a clean close: want the tree check skipped; log:\n%s", log)
	}
	if _, err := os.Stat(closeMarkPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("close mark still there while the replica is open (%v): a kill now would leave a file it vouches for", err)
	}
	n := 0
	if err := r.Alerts(context.Background(), func(Alert) error { n++; return nil }); err != nil || n != 300 {
		t.Errorf("alerts after the vouched start: %d, %v", n, err)
	}
	r.Close()

	// A start with no mark (the session before died) checks every page.
	if err := os.Remove(closeMarkPath(path)); err != nil {
		t.Fatal(err)
	}
	if log := startLog(t, path, key); !strings.Contains(log, walkedLog) || strings.Contains(log, vouchedLog) {
		t.Errorf("start with no close mark: want every page checked; log:\n%s", log)
	}
}

// The mark vouches for the file as it was closed, and for nothing else: a
// page damaged after the close (the meta pages and the size unchanged), an
// older mark put back, a mark made under another key.
func TestCloseMarkVouchesForNothingChanged(t *testing.T) {
	key := testKey(3)

	t.Run("page damaged after the close", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "replica.db")
		closedReplica(t, path, key, 300)
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		bf, err := openBoltFile(f, fi.Size())
		if err != nil {
			t.Fatal(err)
		}
		// The root bucket's page gets flags no bbolt page has: mapped
		// unchecked, bbolt would read it as whatever it finds.
		off := int64(bf.meta.root)*int64(bf.pageSize) + 8
		if _, err := f.WriteAt([]byte{0xff, 0xff}, off); err != nil {
			t.Fatal(err)
		}
		f.Close()
		r, log, err := openLogged(t, path, key)
		if err == nil {
			r.Close()
		}
		if !errors.Is(err, ErrDamaged) {
			t.Fatalf("damaged after a clean close: want ErrDamaged, got %v; log:\n%s", err, log)
		}
		if strings.Contains(log, vouchedLog) {
			t.Errorf("the mark vouched for a file written since its close; log:\n%s", log)
		}
	})

	t.Run("older mark put back", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "replica.db")
		closedReplica(t, path, key, 50)
		old, err := os.ReadFile(closeMarkPath(path))
		if err != nil {
			t.Fatal(err)
		}
		r := openTest(t, path, key)
		if _, err := r.Record(context.Background(), CheckRecord{ID: "chk-1", Device: "anpr-1", Items: 1}, nil); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if err := os.WriteFile(closeMarkPath(path), old, 0o600); err != nil {
			t.Fatal(err)
		}
		if log := startLog(t, path, key); strings.Contains(log, vouchedLog) || !strings.Contains(log, walkedLog) {
			t.Errorf("an older mark vouched for the file; log:\n%s", log)
		}
	})

	t.Run("mark under another key", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "replica.db")
		closedReplica(t, path, key, 50)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		bf, err := openBoltFile(f, fi.Size())
		if err != nil {
			t.Fatal(err)
		}
		forged, err := closeMarkMAC(closeMarkKey(testKey(4)), f, fi, bf.pageSize)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(closeMarkPath(path), append(bytes.Clone(closeMarkMagic), forged...), 0o600); err != nil {
			t.Fatal(err)
		}
		if log := startLog(t, path, key); strings.Contains(log, vouchedLog) || !strings.Contains(log, walkedLog) {
			t.Errorf("a mark made under another key vouched for the file; log:\n%s", log)
		}
	})
}

// After a key rotation the mark is made with the new key, the only one
// that opens the file: the next start is vouched for. Before, the mark was
// made with the old key, and the first start after a rotation at 100M
// read the whole file (31 s) before its compaction.
func TestCloseMarkAfterRotationUsesTheNewKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replica.db")
	closedReplica(t, path, testKey(3), 100)
	r := openTest(t, path, testKey(3))
	if err := r.Rotate(context.Background(), testKey(4), 40, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if log := startLog(t, path, testKey(4)); !strings.Contains(log, vouchedLog) {
		t.Errorf("first start after a rotation: want the tree check skipped; log:\n%s", log)
	}
}

// A status read with the key trusts the close mark as a start does (at
// 100M alerts it read every page, 15-45 s), checks the file whole without
// the key or with another, and leaves the mark for the agent's next start.
func TestStatusTrustsTheCloseMarkWithTheKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replica.db")
	key := testKey(3)
	closedReplica(t, path, key, 300)
	status := func(vouch KeyProvider) string {
		t.Helper()
		var log bytes.Buffer
		st, err := ReadStatus(context.Background(), path, Options{LockTimeout: time.Second, VouchKey: vouch, Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if st.FileBytes == 0 || st.Format == 0 {
			t.Fatalf("status %+v", st)
		}
		return log.String()
	}
	if log := status(key); !strings.Contains(log, vouchedLog) || strings.Contains(log, walkedLog) {
		t.Errorf("status with the key: want the tree check skipped; log:\n%s", log)
	}
	for _, kp := range []KeyProvider{nil, testKey(4)} {
		if log := status(kp); !strings.Contains(log, walkedLog) {
			t.Errorf("status without the key (%v): want every page checked; log:\n%s", kp, log)
		}
	}
	if log := startLog(t, path, key); !strings.Contains(log, vouchedLog) {
		t.Errorf("start after the status reads: want it still vouched for; log:\n%s", log)
	}
}
