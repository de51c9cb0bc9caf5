package anpr

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
)

func newTestHandler(rc *recordingChecker) *Handler {
	h := &Handler{Checker: rc, Device: "anpr-http", Logger: slog.New(slog.DiscardHandler)}
	h.now = func() time.Time { return testNow }
	return h
}

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
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
	rc := &recordingChecker{wanted: map[string]bool{"DE BMW1234": true}}
	h := newTestHandler(rc)
	w := post(h, `{"plate":"B-MW 1234","country":"D","confidence":0.9,"lane":"1"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var res devices.Result
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.CheckID != "chk-1" || len(res.Hits) != 1 || res.Hits[0].AlertID != "SIS-1" {
		t.Fatalf("result %+v", res)
	}
	c := rc.last()
	if c.Device != "anpr-http" || c.Items[0].Value != "BMW1234" || c.Items[0].Country != "DE" || c.Items[0].Raw != "B-MW 1234" {
		t.Fatalf("check %+v", c)
	}
	// No hits is an empty list, not null.
	w = post(h, `{"plate":"AB123CD","country":"F"}`)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"hits":[]`) {
		t.Fatalf("status %d: %s", w.Code, w.Body)
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
		{`{"plate":"B MW 1234","country":"D","confidence":"high"}`, 400, "confidence", "want a number"},
		{`{"plate":"B*MW","country":"D"}`, 400, "plate", "plate format"},
		{`{"plate":"B MW 1234","country":"D","speed":80}`, 400, "speed", "unknown field"},
		{`{"plate":"B MW 1234"`, 400, "", "syntax"},
		{`[]`, 400, "", "empty batch"},
		{`[` + strings.Repeat(`{"plate":"B1","country":"D"},`, MaxBatch) + `{"plate":"B1","country":"D"}]`, 413, "", "more than 100 reads"},
		{`{"plate":"B1","country":"D","image":"` + strings.Repeat("i", MaxReadBytes) + `"}`, 413, "", "too large"},
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
	if n := rc.count(); n != 0 {
		t.Fatalf("%d refused reads reached the checker", n)
	}

	req := httptest.NewRequest(http.MethodGet, Path, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
		t.Fatalf("GET: %d", w.Code)
	}
	req = httptest.NewRequest(http.MethodPost, Path, strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "text/xml")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("text/xml: %d", w.Code)
	}

	rc.fail = true
	w = post(h, `{"plate":"B MW 1234","country":"D"}`)
	if w.Code != http.StatusInternalServerError || decodeError(t, w).Message != "check failed" {
		t.Fatalf("checker failure: %d %s", w.Code, w.Body)
	}
}

func TestHandlerBatch(t *testing.T) {
	rc := &recordingChecker{wanted: map[string]bool{"IT AB103CD": true}}
	h := newTestHandler(rc)
	w := post(h, `[{"plate":"AB 1O3 CD","country":"I"}, {"plate":"B1","country":"XX"}, {"plate":"WA12345","country":"PL","x":1}, {"plate":"1234BCD","country":"E"}]`)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var out []batchEntry
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 4 {
		t.Fatalf("%d entries", len(out))
	}
	if out[0].Result == nil || len(out[0].Result.Hits) != 1 || out[0].Error != nil {
		t.Errorf("entry 0: %+v", out[0])
	}
	if out[1].Error == nil || out[1].Error.Field != "country" || out[1].Result != nil {
		t.Errorf("entry 1: %+v", out[1])
	}
	if out[2].Error == nil || out[2].Error.Field != "x" {
		t.Errorf("entry 2: %+v", out[2])
	}
	if out[3].Result == nil || out[3].Index != 3 {
		t.Errorf("entry 3: %+v", out[3])
	}
	if rc.count() != 2 {
		t.Fatalf("%d checks, want 2", rc.count())
	}
	first := rc.checks[0].Items[0]
	if first.Raw != "AB 1O3 CD" || first.Value != "AB103CD" || first.Correction == "" {
		t.Fatalf("corrected read: %+v", first)
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

// TestHandlerInFlightLimit: a camera that keeps MaxInFlight requests busy
// makes the next one fail fast with 503 instead of queueing behind it.
func TestHandlerInFlightLimit(t *testing.T) {
	bc := &blockingChecker{entered: make(chan struct{}), release: make(chan struct{})}
	h := &Handler{Checker: bc, MaxInFlight: 1, Logger: slog.New(slog.DiscardHandler)}
	done := make(chan int)
	go func() { done <- post(h, `{"plate":"B1","country":"D"}`).Code }()
	<-bc.entered
	if w := post(h, `{"plate":"B2","country":"D"}`); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("second request while the first is held: %d", w.Code)
	}
	close(bc.release)
	if code := <-done; code != http.StatusOK {
		t.Fatalf("held request: %d", code)
	}
	go func() { <-bc.entered }()
	if w := post(h, `{"plate":"B3","country":"D"}`); w.Code != http.StatusOK {
		t.Fatalf("after release: %d", w.Code)
	}
}

// TestHandlerSlowBody: a client that stops sending half-way through its
// body is answered 408 once ReadTimeout passes, over a real connection.
func TestHandlerSlowBody(t *testing.T) {
	h := &Handler{Checker: &recordingChecker{}, ReadTimeout: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"plate\":", Path)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d, want 408", resp.StatusCode)
	}
}

// TestHandlerBatchFromTestdata posts testdata/reads.json, reads in the
// shapes cameras send, and checks each read's fate.
func TestHandlerBatchFromTestdata(t *testing.T) {
	body, err := os.ReadFile("testdata/reads.json")
	if err != nil {
		t.Fatal(err)
	}
	rc := &recordingChecker{wanted: map[string]bool{"PL WA12340": true}}
	w := post(newTestHandler(rc), string(body))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var out []batchEntry
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	// "" for an accepted read, else the field named in the error.
	want := []string{"", "", "", "", "", "", "", "country", "speed_kmh", "time", "plate"}
	if len(out) != len(want) {
		t.Fatalf("%d entries, want %d", len(out), len(want))
	}
	for i, e := range out {
		switch {
		case want[i] == "" && e.Result == nil:
			t.Errorf("read %d refused: %+v", i, e.Error)
		case want[i] != "" && (e.Error == nil || e.Error.Field != want[i]):
			t.Errorf("read %d: %+v, want an error on %q", i, e, want[i])
		}
	}
	if len(out[5].Result.Hits) != 1 {
		t.Errorf("the corrected Polish plate should hit: %+v", out[5].Result)
	}
	wantValues := []string{"DE BMW1234", "FR AB123CD", "NL GB12BT", "BE 1ABC123", "IT AB103CD", "PL WA12340", "DE MÜAB123"}
	for i, c := range rc.checks {
		if got := c.Items[0].Country + " " + c.Items[0].Value; got != wantValues[i] {
			t.Errorf("check %d: %s, want %s", i, got, wantValues[i])
		}
	}
}
