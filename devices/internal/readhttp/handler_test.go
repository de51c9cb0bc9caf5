package readhttp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/internal/jsonread"
)

var testNow = time.Date(2026, 11, 27, 3, 14, 7, 0, time.UTC)

// tag is a device read of the smallest kind: {"tag": "...", "device": "..."}.
type tag struct {
	Tag, Device string
}

func parseTag(data []byte) (tag, error) {
	var r tag
	err := jsonread.Object(data, 64, func(key string, raw json.RawMessage) (err error) {
		switch key {
		case "tag":
			r.Tag, err = jsonread.String(raw, 16)
		case "device":
			r.Device, err = jsonread.String(raw, 16)
		default:
			return jsonread.ErrUnknownField
		}
		return err
	})
	if err == nil && r.Tag == "" {
		err = jsonread.FieldErr("tag", jsonread.ErrMissing)
	}
	return r, err
}

// Check refuses the tag "bad", as a device refuses a read that fails its
// identifier rules.
func (r tag) Check(device string, now time.Time) (devices.Check, error) {
	if r.Tag == "bad" {
		return devices.Check{}, jsonread.FieldErr("tag", errors.New("tag: not a tag"))
	}
	if r.Device != "" {
		device = r.Device
	}
	return devices.Check{Device: device, Time: now, Items: []devices.Item{{Field: "tag", Value: r.Tag, Raw: r.Tag}}}, nil
}

// recordingChecker keeps every Check and hits the tag "wanted".
type recordingChecker struct {
	mu     sync.Mutex
	checks []devices.Check
	fail   bool
}

func (rc *recordingChecker) Check(_ context.Context, c devices.Check) (devices.Result, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.fail {
		return devices.Result{}, errors.New("store unavailable")
	}
	rc.checks = append(rc.checks, c)
	res := devices.Result{CheckID: fmt.Sprint("chk-", len(rc.checks))}
	if c.Items[0].Value == "wanted" {
		res.Hits = []devices.Hit{{AlertID: "SIS-1", Field: "tag"}}
	}
	return res, nil
}

func (rc *recordingChecker) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.checks)
}

func newHandler(c devices.Checker) *Handler[tag] {
	return &Handler[tag]{
		Source: "tags", Parse: parseTag, MaxBatch: 3, MaxBodyBytes: 256,
		Checker: c, Device: "tags-http", Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return testNow },
	}
}

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/tags", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func decodeError(t *testing.T, w *httptest.ResponseRecorder) APIError {
	t.Helper()
	var e ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Message == "" {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	return e.Error
}

func TestHandlerSingle(t *testing.T) {
	rc := &recordingChecker{}
	h := newHandler(rc)
	w := post(h, `{"tag":"wanted"}`)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("status %d %v: %s", w.Code, w.Header(), w.Body)
	}
	var res devices.Result
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.CheckID != "chk-1" || len(res.Hits) != 1 {
		t.Fatalf("result %+v, %v", res, err)
	}
	if c := rc.checks[0]; c.Device != "tags-http" || !c.Time.Equal(testNow) {
		t.Fatalf("check %+v", c)
	}
	// No hits is an empty list, not null.
	w = post(h, `{"tag":"other","device":"gate-1"}`)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"hits":[]`) || rc.checks[1].Device != "gate-1" {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

func TestHandlerBatch(t *testing.T) {
	rc := &recordingChecker{}
	w := post(newHandler(rc), `[{"tag":"wanted"}, {"tag":"bad"}, {"tag":"x","colour":"red"}]`)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var out []BatchEntry
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out) != 3 {
		t.Fatalf("%d entries, %v", len(out), err)
	}
	if out[0].Result == nil || len(out[0].Result.Hits) != 1 || out[0].Error != nil {
		t.Errorf("entry 0: %+v", out[0])
	}
	if out[1].Index != 1 || out[1].Error == nil || out[1].Error.Field != "tag" || out[1].Error.Message != "tag: not a tag" || out[1].Result != nil {
		t.Errorf("entry 1: %+v", out[1])
	}
	if out[2].Index != 2 || out[2].Error == nil || out[2].Error.Field != "colour" {
		t.Errorf("entry 2: %+v", out[2])
	}
	if rc.count() != 1 {
		t.Fatalf("%d checks, want 1", rc.count())
	}
}

func TestHandlerRefusals(t *testing.T) {
	rc := &recordingChecker{}
	h := newHandler(rc)
	for _, c := range []struct {
		body   string
		status int
		field  string
		substr string
	}{
		{`{"tag":1}`, 400, "tag", "want a string"},
		{`{"tag":"bad"}`, 400, "tag", "tag: not a tag"},
		{`{"tag":"x","colour":"red"}`, 400, "colour", "unknown field"},
		{`{"tag":"x"`, 400, "", "syntax"},
		{`[]`, 400, "", "empty batch"},
		{`[{"tag":"x"`, 400, "", "syntax"},
		{`[{},{},{},{}]`, 413, "", "more than 3 reads"},
		{`{"tag":"x","device":"` + strings.Repeat("d", 60) + `"}`, 413, "", "too large"},
		{strings.Repeat(" ", 257), 413, "", "too large: at most 256 bytes"},
	} {
		w := post(h, c.body)
		if w.Code != c.status {
			t.Errorf("%.40s: status %d, want %d (%s)", c.body, w.Code, c.status, w.Body)
			continue
		}
		if e := decodeError(t, w); e.Field != c.field || !strings.Contains(e.Message, c.substr) {
			t.Errorf("%.40s: error %+v, want field %q and %q", c.body, e, c.field, c.substr)
		}
	}
	if n := rc.count(); n != 0 {
		t.Fatalf("%d refused reads reached the checker", n)
	}

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/tags", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
		t.Fatalf("GET: %d", w.Code)
	}
	for ct, want := range map[string]int{"text/xml": 415, "application/json;;": 415, "": 415, "text/plain": 415,
		"application/x-www-form-urlencoded": 415, "multipart/form-data; boundary=x": 415, "application/json; charset=utf-8": 200} {
		req := httptest.NewRequest(http.MethodPost, "/v1/tags", strings.NewReader(`{"tag":"x"}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		w = httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != want {
			t.Errorf("content type %q: %d, want %d", ct, w.Code, want)
		}
	}

	rc.fail = true
	w = post(h, `{"tag":"x"}`)
	if w.Code != http.StatusInternalServerError || decodeError(t, w).Message != "check failed" {
		t.Fatalf("checker failure: %d %s", w.Code, w.Body)
	}
	// In a batch a checker failure is that read's error, not the request's.
	w = post(h, `[{"tag":"x"}]`)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"message":"check failed"`) || strings.Contains(w.Body.String(), "store") {
		t.Fatalf("batch checker failure: %d %s", w.Code, w.Body)
	}
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

// TestHandlerInFlightLimit: a device that keeps MaxInFlight requests busy
// makes the next one fail fast with 503 instead of queueing behind it.
func TestHandlerInFlightLimit(t *testing.T) {
	bc := &blockingChecker{entered: make(chan struct{}), release: make(chan struct{})}
	h := newHandler(bc)
	h.MaxInFlight = 1
	done := make(chan int)
	go func() { done <- post(h, `{"tag":"a"}`).Code }()
	<-bc.entered
	if w := post(h, `{"tag":"b"}`); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("second request while the first is held: %d", w.Code)
	}
	close(bc.release)
	if code := <-done; code != http.StatusOK {
		t.Fatalf("held request: %d", code)
	}
	go func() { <-bc.entered }()
	if w := post(h, `{"tag":"c"}`); w.Code != http.StatusOK {
		t.Fatalf("after release: %d", w.Code)
	}
}

// TestHandlerSlowBody: a client that stops sending half-way through its
// body is answered 408 once ReadTimeout passes, over a real connection.
func TestHandlerSlowBody(t *testing.T) {
	h := newHandler(&recordingChecker{})
	h.ReadTimeout = 50 * time.Millisecond
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/tags HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"tag\":")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d, want 408", resp.StatusCode)
	}
}
