package name

import (
	"os"
	"path/filepath"
	"testing"
)

// dataDir finds the shared reference data: $BORDERPOST_DATA, else
// ../shared/data beside the repository root. It skips the test when the
// data is absent, or fails it when CI is "true".
func dataDir(t testing.TB, sub string) string {
	t.Helper()
	base := os.Getenv("BORDERPOST_DATA")
	if base == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				base = filepath.Join(dir, "..", "shared", "data")
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	p := filepath.Join(base, sub)
	if _, err := os.Stat(p); base == "" || err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("reference data %s not found (set BORDERPOST_DATA)", sub)
		}
		t.Skipf("reference data %s not found (set BORDERPOST_DATA)", sub)
	}
	return p
}
