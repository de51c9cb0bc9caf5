package central

import (
	"path/filepath"
	"testing"

	"github.com/borderpost/borderpost/store"
)

// Store returns the officers' outcomes it stored for the first time, so
// that central's live log shows each as it arrives, and a resent one not
// again.
func TestHitStoreReturnsNewOutcomes(t *testing.T) {
	s := openTestHitStore(t, filepath.Join(t.TempDir(), "hits.db"))
	_, _, outcomes, _, err := s.Store("a", 0, []store.Hit{testHit("h1", 1), testOutcome("o1", "h1", 2)})
	if err != nil || len(outcomes) != 1 || outcomes[0].HitID != "h1" || outcomes[0].ID != "o1" {
		t.Fatalf("first batch: %v %+v", err, outcomes)
	}
	_, dups, outcomes, _, err := s.Store("a", 0, []store.Hit{testOutcome("o1", "h1", 2), testOutcome("o2", "h1", 3)})
	if err != nil || dups != 1 || len(outcomes) != 1 || outcomes[0].ID != "o2" {
		t.Fatalf("resent o1 with new o2: %v, dups %d, %+v", err, dups, outcomes)
	}
}
