package mrz

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dataDir finds the shared reference data: $BORDERPOST_DATA, else
// ../shared/data beside the repository root. It skips the test when the
// data is absent, unless CI is "true".
func dataDir(t testing.TB) string {
	t.Helper()
	dir, err := locateData()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("reference data missing: %v", err)
		}
		t.Skipf("reference data missing (%v); set BORDERPOST_DATA to the shared data folder", err)
	}
	return dir
}

func locateData() (string, error) {
	if dir := os.Getenv("BORDERPOST_DATA"); dir != "" {
		_, err := os.Stat(dir)
		return dir, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			data := filepath.Join(dir, "..", "shared", "data")
			_, err := os.Stat(data)
			return data, err
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}

// vector is one row of mrz/vectors.tsv.
type vector struct {
	id, format string
	lines      []string
	valid      bool
	note       string
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir(t), "mrz", "vectors.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	header := true
	for sc.Scan() {
		if header {
			header = false
			continue
		}
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 7 {
			t.Fatalf("vectors.tsv: row %q has %d columns", c[0], len(c))
		}
		v := vector{id: c[0], format: c[1], lines: []string{c[2], c[3]}, note: c[6]}
		if c[4] != "" {
			v.lines = append(v.lines, c[4])
		}
		switch c[5] {
		case "true":
			v.valid = true
		case "false":
		default:
			t.Fatalf("vectors.tsv: row %s: expect_valid %q", c[0], c[5])
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("vectors.tsv holds no rows")
	}
	return out
}
