package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRetentionKeepsJournalFlat: under a steady stream of checks whose
// records are purged after a retention period, the journal stops growing
// once the first records are purged: the pages the purge frees hold the
// records that follow. (Measured at 300,000 checks a "minute" for eight:
// 48 MB after the first, 80 MB from the second to the last.)
func TestRetentionKeepsJournalFlat(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "data.key")
	WriteKeyFile(key)
	path := filepath.Join(dir, "replica.db")
	r := openTest(t, path, KeyFile{Path: key})
	var clock atomic.Int64
	start := time.Now()
	r.now = func() time.Time { return start.Add(time.Duration(clock.Load())) }
	ctx := context.Background()
	const perPeriod, lanes, periods = 40000, 8, 7
	var sizes []int64
	for p := range periods {
		var wg sync.WaitGroup
		for l := range lanes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perPeriod / lanes {
					if _, err := r.Record(ctx, CheckRecord{ID: fmt.Sprintf("chk-%d-%d-%d", p, l, i), Device: "anpr-1", Items: 1}, nil); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		clock.Add(int64(time.Minute))
		res, err := r.PurgeRetention(ctx, r.now().Add(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if p > 0 && res.Audit < perPeriod {
			t.Fatalf("period %d: %d records purged, want the %d of the period before", p, res.Audit, perPeriod)
		}
		st, err := os.Stat(JournalPath(path))
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, st.Size())
	}
	t.Logf("journal bytes after each period: %v", sizes)
	// From the second period on the live records are the same number:
	// the file may take one more allocation step, never one a period.
	if grown := sizes[periods-1] - sizes[2]; grown > sizes[2]/4 {
		t.Errorf("journal grew from %d to %d bytes under a steady load with retention: freed pages are not reused", sizes[2], sizes[periods-1])
	}
}
