package ens

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/borderpost/borderpost/devices"
)

// recordingChecker records every Check and answers one hit per container.
type recordingChecker struct {
	mu     sync.Mutex
	checks []devices.Check
	err    error
}

func (r *recordingChecker) Check(ctx context.Context, c devices.Check) (devices.Result, error) {
	if _, ok := ctx.Deadline(); !ok {
		return devices.Result{}, errors.New("no deadline on the checker call")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks = append(r.checks, c)
	if r.err != nil {
		return devices.Result{}, r.err
	}
	res := devices.Result{CheckID: c.ID, Hits: []devices.Hit{}}
	for _, it := range c.Items {
		if it.Kind == devices.KindContainer {
			res.Hits = append(res.Hits, devices.Hit{ID: "h-" + it.Value, AlertID: "a1", Field: it.Field, Match: "exact", Score: 1})
		}
	}
	return res, nil
}

func (r *recordingChecker) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.checks)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type answer struct {
	CheckID string        `json:"check_id"`
	Hits    []devices.Hit `json:"hits"`
	Error   string        `json:"error"`
	Faults  []fieldAnswer `json:"faults"`
}

type fieldAnswer struct{ Path, Error string }

func post(t *testing.T, h http.Handler, method, ctype, body string) (int, answer) {
	t.Helper()
	req := httptest.NewRequest(method, Path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var a answer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return rec.Code, a
}

func TestHandler(t *testing.T) {
	maritime := readFile(t, filepath.Join("testdata", "ics2-maritime-f11.json"))
	full := readFile(t, ics1Data(t, "samples/CC315A_full.xml"))
	valid := readFile(t, ics1Data(t, "samples/CC315A-schemaValidSample-v11-2.xml"))

	t.Run("checked", func(t *testing.T) {
		c := &recordingChecker{}
		code, a := post(t, &Handler{Checker: c, Log: quiet}, http.MethodPost, "application/json", maritime)
		if code != http.StatusOK || a.CheckID != "26NL00000000000001" || len(a.Hits) != 5 || len(a.Faults) != 0 {
			t.Errorf("%d %+v", code, a)
		}
		if c.count() != 1 || c.checks[0].Device != "ens" {
			t.Errorf("checks %+v", c.checks)
		}
	})
	t.Run("schema faults", func(t *testing.T) {
		c := &recordingChecker{}
		code, a := post(t, &Handler{Checker: c, Log: quiet}, http.MethodPost, "application/xml", full)
		if code != http.StatusBadRequest || len(a.Faults) != 5 || a.Faults[3].Path != "TRAREP.TINTRE1" || a.Faults[3].Error != "schema: required element missing" {
			t.Errorf("%d %+v", code, a)
		}
		if c.count() != 0 {
			t.Error("a refused declaration reached the checker")
		}
	})
	t.Run("identifier faults, lenient", func(t *testing.T) {
		c := &recordingChecker{}
		code, a := post(t, &Handler{Checker: c, Log: quiet}, http.MethodPost, "application/xml", valid)
		if code != http.StatusOK || a.CheckID != "ABC123" || len(a.Faults) != 24 {
			t.Errorf("%d %s %d faults", code, a.CheckID, len(a.Faults))
		}
		if c.count() != 1 || len(c.checks[0].Items) != 9 {
			t.Errorf("checks %+v", c.checks)
		}
	})
	t.Run("identifier faults, strict", func(t *testing.T) {
		c := &recordingChecker{}
		code, a := post(t, &Handler{Checker: c, Strict: true, Log: quiet}, http.MethodPost, "application/xml", valid)
		if code != http.StatusBadRequest || len(a.Faults) != 24 || c.count() != 0 {
			t.Errorf("%d %+v", code, a)
		}
	})
	t.Run("too large", func(t *testing.T) {
		c := &recordingChecker{}
		code, _ := post(t, &Handler{Checker: c, Limits: Limits{MaxBytes: 1000}, Log: quiet}, http.MethodPost, "application/json", maritime)
		if code != http.StatusRequestEntityTooLarge {
			t.Errorf("code %d", code)
		}
		// Without Content-Length the limit still holds while reading.
		req := httptest.NewRequest(http.MethodPost, Path, io.MultiReader(strings.NewReader(maritime)))
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		(&Handler{Checker: c, Limits: Limits{MaxBytes: 1000}, Log: quiet}).ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge || c.count() != 0 {
			t.Errorf("streamed: code %d", rec.Code)
		}
	})
	t.Run("media type", func(t *testing.T) {
		code, _ := post(t, &Handler{Checker: &recordingChecker{}, Log: quiet}, http.MethodPost, "text/plain", maritime)
		if code != http.StatusUnsupportedMediaType {
			t.Errorf("code %d", code)
		}
	})
	t.Run("method", func(t *testing.T) {
		code, _ := post(t, &Handler{Checker: &recordingChecker{}, Log: quiet}, http.MethodGet, "", "")
		if code != http.StatusMethodNotAllowed {
			t.Errorf("code %d", code)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		code, a := post(t, &Handler{Checker: &recordingChecker{}, Log: quiet}, http.MethodPost, "application/xml", "<!DOCTYPE x><x/>")
		if code != http.StatusBadRequest || !strings.Contains(a.Error, "DOCTYPE") {
			t.Errorf("%d %+v", code, a)
		}
	})
	t.Run("checker fails", func(t *testing.T) {
		c := &recordingChecker{err: errors.New("store closed")}
		code, a := post(t, &Handler{Checker: c, Log: quiet}, http.MethodPost, "application/json", maritime)
		if code != http.StatusServiceUnavailable || a.Error == "" {
			t.Errorf("%d %+v", code, a)
		}
	})
}

func TestNewServerTimeouts(t *testing.T) {
	s := NewServer("127.0.0.1:0", &Handler{})
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Errorf("a timeout is unset: %+v", s)
	}
}

func newSpool(t *testing.T, c devices.Checker) *Spool {
	return &Spool{Dir: t.TempDir(), Checker: c, Log: quiet}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestSpool(t *testing.T) {
	ctx := context.Background()
	c := &recordingChecker{}
	s := newSpool(t, c)
	road := readFile(t, filepath.Join("testdata", "ics2-road-f50.json"))
	write(t, filepath.Join(s.Dir, "road.json"), road)
	write(t, filepath.Join(s.Dir, "full.xml"), readFile(t, ics1Data(t, "samples/CC315A_full.xml")))
	write(t, filepath.Join(s.Dir, "valid.xml"), readFile(t, ics1Data(t, "samples/CC315A-schemaValidSample-v11-2.xml")))
	write(t, filepath.Join(s.Dir, "notes.txt"), "hello")
	write(t, filepath.Join(s.Dir, "partial.json.part"), road[:100])
	write(t, filepath.Join(s.Dir, ".hidden.json"), road)

	if err := s.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if c.count() != 0 {
		t.Fatal("a file was taken on first sight, before its size was known to be stable")
	}
	if err := s.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if c.count() != 2 {
		t.Errorf("%d checks, want 2 (road.json, valid.xml)", c.count())
	}
	if got := listDir(t, filepath.Join(s.Dir, SpoolDone)); !equal(got, []string{"road.json", "valid.xml", "valid.xml.reason"}) {
		t.Errorf("done/ = %v", got)
	}
	if got := listDir(t, filepath.Join(s.Dir, SpoolFailed)); !equal(got, []string{"full.xml", "full.xml.reason", "notes.txt", "notes.txt.reason"}) {
		t.Errorf("failed/ = %v", got)
	}
	reason := readFile(t, filepath.Join(s.Dir, SpoolFailed, "full.xml.reason"))
	if !strings.Contains(reason, "refused: 5 fault(s)") || !strings.Contains(reason, "PERLODSUMDEC.TINPLD1: schema: required element missing") {
		t.Errorf("reason = %q", reason)
	}
	if r := readFile(t, filepath.Join(s.Dir, SpoolDone, "valid.xml.reason")); !strings.HasPrefix(r, "checked without these fields: 24 fault(s)") {
		t.Errorf("done reason = %q", r)
	}
	if got := listDir(t, s.Dir); !equal(got, []string{".hidden.json", "partial.json.part"}) {
		t.Errorf("left in the spool: %v", got)
	}
	if got := listDir(t, filepath.Join(s.Dir, SpoolWork)); len(got) != 0 {
		t.Errorf("work/ = %v", got)
	}

	// The same name again is filed beside the first, not over it.
	write(t, filepath.Join(s.Dir, "road.json"), road)
	s.Poll(ctx)
	s.Poll(ctx)
	if got := listDir(t, filepath.Join(s.Dir, SpoolDone)); !equal(got, []string{"road.json", "road.json.1", "valid.xml", "valid.xml.reason"}) {
		t.Errorf("done/ = %v", got)
	}
}

// A file still growing between polls is not taken.
func TestSpoolWaitsForStableFile(t *testing.T) {
	ctx := context.Background()
	c := &recordingChecker{}
	s := newSpool(t, c)
	road := readFile(t, filepath.Join("testdata", "ics2-road-f50.json"))
	p := filepath.Join(s.Dir, "road.json")
	write(t, p, road[:200])
	s.Poll(ctx)
	write(t, p, road[:400])
	s.Poll(ctx)
	if c.count() != 0 || len(listDir(t, filepath.Join(s.Dir, SpoolFailed))) != 0 {
		t.Fatal("a growing file was taken")
	}
	write(t, p, road)
	s.Poll(ctx)
	s.Poll(ctx)
	if c.count() != 1 {
		t.Errorf("%d checks after the file settled", c.count())
	}
}

// After a crash, a file found in work/ may have reached the checker: it is
// filed in failed/ with a reason, never checked again; files still in the
// spool are checked once.
func TestSpoolRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	road := readFile(t, filepath.Join("testdata", "ics2-road-f50.json"))
	if err := os.MkdirAll(filepath.Join(dir, SpoolWork), 0o750); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, SpoolWork, "interrupted.json"), road)
	write(t, filepath.Join(dir, "waiting.json"), road)

	c := &recordingChecker{}
	s := &Spool{Dir: dir, Checker: c, Log: quiet}
	s.Poll(ctx)
	s.Poll(ctx)
	if c.count() != 1 {
		t.Errorf("%d checks, want 1", c.count())
	}
	if got := listDir(t, filepath.Join(dir, SpoolFailed)); !equal(got, []string{"interrupted.json", "interrupted.json.reason"}) {
		t.Errorf("failed/ = %v", got)
	}
	if r := readFile(t, filepath.Join(dir, SpoolFailed, "interrupted.json.reason")); !strings.Contains(r, "interrupted while being checked") {
		t.Errorf("reason %q", r)
	}
	if got := listDir(t, filepath.Join(dir, SpoolDone)); !equal(got, []string{"waiting.json"}) {
		t.Errorf("done/ = %v", got)
	}
	// A second Spool on the same directory finds nothing left to do.
	c2 := &recordingChecker{}
	s2 := &Spool{Dir: dir, Checker: c2, Log: quiet}
	s2.Poll(ctx)
	s2.Poll(ctx)
	if c2.count() != 0 {
		t.Errorf("restart checked %d files again", c2.count())
	}
}

func TestSpoolCheckerFailure(t *testing.T) {
	ctx := context.Background()
	c := &recordingChecker{err: errors.New("store closed")}
	s := newSpool(t, c)
	write(t, filepath.Join(s.Dir, "road.json"), readFile(t, filepath.Join("testdata", "ics2-road-f50.json")))
	s.Poll(ctx)
	s.Poll(ctx)
	if c.count() != 1 {
		t.Fatalf("%d checks", c.count())
	}
	if r := readFile(t, filepath.Join(s.Dir, SpoolFailed, "road.json.reason")); !strings.Contains(r, "the checker failed") {
		t.Errorf("reason %q", r)
	}
	// The failed file is not retried.
	s.Poll(ctx)
	s.Poll(ctx)
	if c.count() != 1 {
		t.Errorf("retried: %d checks", c.count())
	}
}

func TestSpoolRunStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := newSpool(t, &recordingChecker{})
	if err := s.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
}

func TestSpoolStrict(t *testing.T) {
	ctx := context.Background()
	c := &recordingChecker{}
	s := newSpool(t, c)
	s.Strict = true
	write(t, filepath.Join(s.Dir, "valid.xml"), readFile(t, ics1Data(t, "samples/CC315A-schemaValidSample-v11-2.xml")))
	s.Poll(ctx)
	s.Poll(ctx)
	if c.count() != 0 {
		t.Error("strict spool checked a declaration with identifier faults")
	}
	if r := readFile(t, filepath.Join(s.Dir, SpoolFailed, "valid.xml.reason")); !strings.HasPrefix(r, "refused: 24 fault(s)\noffice_of_first_entry: ") {
		t.Errorf("reason %q", r)
	}
}
