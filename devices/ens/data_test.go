package ens

import (
	"os"
	"path/filepath"
	"testing"
)

// locateData returns the shared reference data folder: $BORDERPOST_DATA, or
// ../shared/data beside the repository root (the folder holding go.mod), or
// "" when neither exists.
func locateData() string {
	dir := os.Getenv("BORDERPOST_DATA")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return ""
		}
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "..", "shared", "data")
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if fi, err := os.Stat(dir); dir == "" || err != nil || !fi.IsDir() {
		return ""
	}
	return dir
}

// sharedData returns the shared reference data folder. It skips the test
// when the folder is absent, and fails it when CI is "true".
func sharedData(t testing.TB) string {
	t.Helper()
	if dir := locateData(); dir != "" {
		return dir
	}
	msg := "shared reference data not found: set BORDERPOST_DATA or place it at ../shared/data beside the repository root"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// ics1Data returns the path of a file in the ICS1 ENS data folder.
func ics1Data(t testing.TB, name string) string {
	return filepath.Join(sharedData(t), "ens-ics1-cc315a", name)
}

func openFile(t testing.TB, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
