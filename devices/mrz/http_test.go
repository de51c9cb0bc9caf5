package mrz

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
)

const (
	td3Line1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
	td3Line2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
)

func newTestHandler(c devices.Checker) *Handler {
	return &Handler{Checker: c, Device: "mrz-default", Lane: "L0", Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func post(h http.Handler, contentType, target, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHTTPAccepts(t *testing.T) {
	c := &recordingChecker{hitsFor: map[string]int{"L898902C3": 2}}
	h := newTestHandler(c)

	w := post(h, "application/json", HTTPPath, `{"lines":["`+td3Line1+`","`+td3Line2+`"],"device":"gate-7","lane":"3"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var res devices.Result
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.CheckID != "chk-1" || len(res.Hits) != 2 || res.Hits[0].AlertID != "A1" {
		t.Errorf("result %+v", res)
	}

	// text/plain with CRLF and trailing blank line; device from the query.
	w = post(h, "text/plain; charset=utf-8", HTTPPath+"?device=gate-8", td3Line1+"\r\n"+td3Line2+"\r\n\r\n")
	if w.Code != http.StatusOK {
		t.Fatalf("text: status %d: %s", w.Code, w.Body)
	}
	if !strings.Contains(w.Body.String(), `"hits":[`) {
		t.Errorf("hits must be a list, even with two: %s", w.Body)
	}

	// No device in the request: the handler's own.
	w = post(h, "application/json", HTTPPath, `{"lines":["`+td3Line1+`","`+td3Line2+`"]}`)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	checks := c.recorded()
	if len(checks) != 3 {
		t.Fatalf("%d checks, want 3", len(checks))
	}
	for i, want := range []struct{ device, lane string }{{"gate-7", "3"}, {"gate-8", "L0"}, {"mrz-default", "L0"}} {
		if checks[i].Device != want.device || checks[i].Lane != want.lane || !checks[i].Time.Equal(now) {
			t.Errorf("check %d: device %q lane %q time %s", i, checks[i].Device, checks[i].Lane, checks[i].Time)
		}
		if checks[i].Items[0].Value != "L898902C3" || checks[i].Items[1].Value != "ANNA MARIA ERIKSSON" {
			t.Errorf("check %d items %+v", i, checks[i].Items)
		}
	}
}

func TestHTTPNoHitsIsEmptyList(t *testing.T) {
	w := post(newTestHandler(&recordingChecker{}), "application/json", HTTPPath, `{"lines":["`+td3Line1+`","`+td3Line2+`"]}`)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"hits":[]`) {
		t.Errorf("status %d body %s", w.Code, w.Body)
	}
}

func TestHTTPRefuses(t *testing.T) {
	good := `{"lines":["` + td3Line1 + `","` + td3Line2 + `"]}`
	tests := []struct {
		name, contentType, body string
		status                  int
		inError, field          string
	}{
		{"unknown field", "application/json", `{"lines":[],"reader":"x"}`, 400, `unknown field "reader"`, ""},
		{"lines missing", "application/json", `{"device":"x"}`, 400, `"lines" is missing`, ""},
		{"trailing data", "application/json", good + `{}`, 400, "data after the object", ""},
		{"not JSON", "application/json", `lines=1`, 400, "JSON", ""},
		{"lines not strings", "application/json", `{"lines":[1,2]}`, 400, "JSON", ""},
		{"invalid UTF-8", "application/json", "{\"lines\":[\"\xff\"]}", 400, "not valid UTF-8", ""},
		{"escaped control character in a line", "application/json", `{"lines":["` + td3Line1 + `","` + td3Line2[:43] + `\u0007"]}`, 400, "control character", FieldLine},
		{"control character in device", "application/json", `{"lines":[],"device":"a\u0000b"}`, 400, "device holds a control character", ""},
		{"device too long", "application/json", `{"lines":[],"device":"` + strings.Repeat("d", 65) + `"}`, 400, "device is over 64 bytes", ""},
		{"non-ASCII letter", "application/json", `{"lines":["` + td3Line1[:43] + `Ä","` + td3Line2 + `"]}`, 400, "line 1 position 44", FieldLine},
		{"check digit", "application/json", `{"lines":["` + td3Line1 + `","` + td3Line2[:19] + `5` + td3Line2[20:] + `"]}`, 400,
			"mrz: birth date check digit is 2, line 2 position 20 says 5", FieldBirthDate},
		{"wrong size", "application/json", `{"lines":["` + td3Line1 + `"]}`, 400, "expected 3 x 30", FieldLine},
		{"text control character", "text/plain", td3Line1 + "\n\x1b" + td3Line2, 400, "control character at byte 46", ""},
		{"text blank line inside", "text/plain", td3Line1 + "\n\n" + td3Line2, 400, "expected 3 x 30", FieldLine},
		{"too large", "application/json", `{"lines":["` + strings.Repeat("<", 5000) + `"]}`, 413, "over 4096 bytes", ""},
		{"no media type", "", good, 415, "Content-Type", ""},
		{"XML", "application/xml", good, 415, "application/xml not accepted", ""},
		{"latin-1", "text/plain; charset=iso-8859-1", good, 415, "charset", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &recordingChecker{}
			w := post(newTestHandler(c), tt.contentType, HTTPPath, tt.body)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var body errorBody
			dec := json.NewDecoder(w.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil {
				t.Fatalf("error body: %v", err)
			}
			if !strings.Contains(body.Error, tt.inError) || body.Field != tt.field {
				t.Errorf("error %q field %q; want %q in the error, field %q", body.Error, body.Field, tt.inError, tt.field)
			}
			if n := len(c.recorded()); n != 0 {
				t.Errorf("refused request reached the checker %d times", n)
			}
		})
	}
}

func TestHTTPMethod(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, HTTPPath, nil)
	w := httptest.NewRecorder()
	newTestHandler(&recordingChecker{}).ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
		t.Errorf("status %d Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

func TestHTTPCheckerFails(t *testing.T) {
	var logs strings.Builder
	h := newTestHandler(&recordingChecker{err: errors.New("store closed while checking L898902C3")})
	h.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	w := post(h, "application/json", HTTPPath, `{"lines":["`+td3Line1+`","`+td3Line2+`"]}`)
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", w.Code)
	}
	if strings.Contains(w.Body.String(), "L898902C3") || !strings.Contains(w.Body.String(), "check failed") {
		t.Errorf("body %s: must say the check failed and carry nothing of the cause", w.Body)
	}
}

// Refusals are logged without anything the reader sent.
func TestHTTPLogsNoPersonalData(t *testing.T) {
	var logs strings.Builder
	h := newTestHandler(&recordingChecker{})
	h.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	post(h, "application/json", HTTPPath, `{"lines":["`+td3Line1+`","`+td3Line2[:43]+`9"]}`)
	post(h, "application/json", HTTPPath, `{"lines":["`+td3Line1+`","`+td3Line2+`"]}`)
	if logs.Len() == 0 {
		t.Fatal("the refusal was not logged")
	}
	for _, secret := range []string{"ERIKSSON", "ANNA", "L898902C3", "740812"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log holds %q:\n%s", secret, logs.String())
		}
	}
}

// Every accepted vector goes through the handler and reaches the checker.
func TestHTTPVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		c := &recordingChecker{}
		body, _ := json.Marshal(request{Lines: v.lines})
		w := post(newTestHandler(c), "application/json", HTTPPath, string(body))
		if v.valid != (w.Code == http.StatusOK) || v.valid != (len(c.recorded()) == 1) {
			t.Errorf("%s: status %d, %d checks; expect_valid %v", v.id, w.Code, len(c.recorded()), v.valid)
		}
	}
}

// A web page may post text/plain cross-origin without the browser asking
// first; such a request names its origin and must not reach the checker,
// while a reader's (no Origin) still does.
func TestHTTPRefusesTextFromWebPages(t *testing.T) {
	body := td3Line1 + "\n" + td3Line2 + "\n"
	for _, hdr := range []string{"Origin", "Sec-Fetch-Site"} {
		c := &recordingChecker{}
		r := httptest.NewRequest(http.MethodPost, HTTPPath, strings.NewReader(body))
		r.Header.Set("Content-Type", "text/plain")
		r.Header.Set(hdr, "http://192.0.2.7")
		w := httptest.NewRecorder()
		newTestHandler(c).ServeHTTP(w, r)
		if w.Code != http.StatusForbidden || len(c.recorded()) != 0 {
			t.Errorf("%s set: status %d, %d checks; want 403 and none", hdr, w.Code, len(c.recorded()))
		}
	}
	c := &recordingChecker{}
	if w := post(newTestHandler(c), "text/plain", HTTPPath, body); w.Code != http.StatusOK || len(c.recorded()) != 1 {
		t.Errorf("reader's text/plain: status %d, %d checks", w.Code, len(c.recorded()))
	}
}
