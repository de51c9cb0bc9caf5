package ocr

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
)

func newTestHandler(rc *recordingChecker) *Handler {
	h := &Handler{Checker: rc, Device: "ocr-http", Logger: slog.New(slog.DiscardHandler)}
	h.now = func() time.Time { return testNow }
	return h
}

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func decodeError(t *testing.T, w *httptest.ResponseRecorder) apiError {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Message == "" {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	return e.Error
}

func TestHandlerSingle(t *testing.T) {
	rc := &recordingChecker{wanted: map[string]bool{"CSQU3054383": true}}
	h := newTestHandler(rc)
	w := post(h, `{"value":"CSQU 3O5438 3","confidence":0.8,"lane":"gate-2","device":"gate-ocr-2"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var res devices.Result
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.CheckID != "chk-1" || len(res.Hits) != 1 {
		t.Fatalf("result %+v", res)
	}
	it := rc.last().Items[0]
	if it.Raw != "CSQU 3O5438 3" || it.Value != "CSQU3054383" || it.Correction != "OCR O->0 at position 6" || it.Kind != devices.KindContainer {
		t.Fatalf("item %+v", it)
	}
}

func TestHandlerRefusals(t *testing.T) {
	rc := &recordingChecker{}
	h := newTestHandler(rc)
	cases := []struct {
		body   string
		status int
		field  string
		substr string
	}{
		{`{"value":"CSQU3054384"}`, 400, "value", "check digit should be 3"},
		{`{"value":"CSQU30543"}`, 400, "value", "container number format"},
		{`{"value":"CSQU3054383","confidence":true}`, 400, "confidence", "want a number"},
		{`{"value":"CSQU3054383","seal":"x"}`, 400, "seal", "unknown field"},
		{`{"value":`, 400, "value", "syntax"},
		{`[]`, 400, "", "empty batch"},
		{`[` + strings.Repeat(`{"value":"CSQU3054383"},`, MaxBatch) + `{"value":"CSQU3054383"}]`, 413, "", "more than 100 reads"},
		{`{"value":"CSQU3054383","image":"` + strings.Repeat("i", MaxReadBytes) + `"}`, 413, "", "too large"},
		{strings.Repeat(" ", MaxBodyBytes+1), 413, "", "too large"},
	}
	for _, c := range cases {
		w := post(h, c.body)
		if w.Code != c.status {
			t.Errorf("%.50s: status %d, want %d (%s)", c.body, w.Code, c.status, w.Body)
			continue
		}
		e := decodeError(t, w)
		if e.Field != c.field || !strings.Contains(e.Message, c.substr) {
			t.Errorf("%.50s: error %+v, want field %q and %q", c.body, e, c.field, c.substr)
		}
	}
	if rc.count() != 0 {
		t.Fatalf("%d refused reads reached the checker", rc.count())
	}
	req := httptest.NewRequest(http.MethodPut, Path, strings.NewReader(`{}`))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", w.Code)
	}
	rc.fail = true
	if w := post(h, `{"value":"CSQU3054383"}`); w.Code != http.StatusInternalServerError {
		t.Fatalf("checker failure: %d", w.Code)
	}
}

func TestHandlerBatchFromTestdata(t *testing.T) {
	rc := &recordingChecker{wanted: map[string]bool{"OOLU0185339": true}}
	h := newTestHandler(rc)
	body := mustRead(t, "testdata/reads.json")
	w := post(h, body)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var out []batchEntry
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	ok, refused, hits := 0, 0, 0
	for i, e := range out {
		if e.Index != i || (e.Result == nil) == (e.Error == nil) {
			t.Fatalf("entry %d: %+v", i, e)
		}
		if e.Result != nil {
			ok++
			hits += len(e.Result.Hits)
		} else {
			refused++
		}
	}
	// reads.want: 8 accepted, 7 refused; one accepted read is wanted
	// (after its 0->O repair).
	if ok != 8 || refused != 7 || hits != 1 || rc.count() != 8 {
		t.Fatalf("ok %d refused %d hits %d checks %d", ok, refused, hits, rc.count())
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// blockingChecker holds every Check until release is closed, so a test
// can fill the handler's slots.
type blockingChecker struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingChecker) Check(ctx context.Context, c devices.Check) (devices.Result, error) {
	b.entered <- struct{}{}
	<-b.release
	return devices.Result{CheckID: "held"}, nil
}

// TestHandlerInFlightLimit: an OCR system that keeps MaxInFlight requests busy
// makes the next one fail fast with 503 instead of queueing behind it.
func TestHandlerInFlightLimit(t *testing.T) {
	bc := &blockingChecker{entered: make(chan struct{}), release: make(chan struct{})}
	h := &Handler{Checker: bc, MaxInFlight: 1, Logger: slog.New(slog.DiscardHandler)}
	done := make(chan int)
	go func() { done <- post(h, `{"value":"CSQU3054383"}`).Code }()
	<-bc.entered
	if w := post(h, `{"value":"CSQU3054383"}`); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("second request while the first is held: %d", w.Code)
	}
	close(bc.release)
	if code := <-done; code != http.StatusOK {
		t.Fatalf("held request: %d", code)
	}
	go func() { <-bc.entered }()
	if w := post(h, `{"value":"CSQU3054383"}`); w.Code != http.StatusOK {
		t.Fatalf("after release: %d", w.Code)
	}
}
