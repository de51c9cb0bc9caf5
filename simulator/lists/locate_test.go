package lists

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedData returns the folder sub of the shared reference data: from
// BORDERPOST_DATA when set, otherwise ../shared/data beside the repository
// root (the folder holding go.mod). Absent data skips the test, or fails it
// when CI is "true".
func sharedData(t testing.TB, sub string) string {
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
	if base == "" {
		p = ""
	}
	if _, err := os.Stat(p); p == "" || err != nil {
		msg := "reference data " + sub + " not found: set BORDERPOST_DATA or place the shared data beside the repository"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}
