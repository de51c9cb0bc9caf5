package scan

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
)

// recorder is a Checker that keeps what it was asked.
type recorder struct{ got []devices.Check }

func (r *recorder) Check(_ context.Context, c devices.Check) (devices.Result, error) {
	r.got = append(r.got, c)
	return devices.Result{CheckID: "chk-1", Hits: []devices.Hit{}}, nil
}

func post(t *testing.T, h http.Handler, body string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	w := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/v1/scans", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(w, req)
	var m map[string]any
	json.Unmarshal(w.Body.Bytes(), &m)
	return w, m
}

func TestHandlerAcceptsAndNormalises(t *testing.T) {
	rec := &recorder{}
	h := &Handler{Checker: rec}
	w, _ := post(t, h, `{"id":"s1","kind":"plate","value":"m-ab 1234","country":"D","device":"anpr-1","lane":"2","confidence":0.93}`)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	it := rec.got[0].Items[0]
	if it.Kind != devices.KindPlate || it.Value != "MAB1234" || it.Country != "DE" || it.Raw != "m-ab 1234" {
		t.Errorf("item %+v", it)
	}
	w, _ = post(t, h, `{"kind":"container","value":"csqu 305438 3","device":"ocr-1"}`)
	if w.Code != 200 || rec.got[1].Items[0].Value != "CSQU3054383" {
		t.Errorf("container: %d %+v", w.Code, rec.got[1].Items[0])
	}
}

func TestHandlerRefusesBadInput(t *testing.T) {
	rec := &recorder{}
	h := &Handler{Checker: rec}
	cases := []struct {
		name, body string
		status     int
		msg        string
	}{
		{"check digit", `{"kind":"container","value":"CSQU3054384","device":"g"}`, 400, "check digit should be 3"},
		{"unknown field", `{"kind":"plate","value":"A1","country":"D","device":"g","colour":"red"}`, 400, "unknown field"},
		{"bad kind", `{"kind":"boat","value":"A1","device":"g"}`, 400, "not plate or container"},
		{"no device", `{"kind":"plate","value":"A1","country":"D"}`, 400, "device: required"},
		{"bad country", `{"kind":"plate","value":"A1","country":"QQ","device":"g"}`, 400, "country"},
		{"control char", "{\"kind\":\"plate\",\"value\":\"A\\u00071\",\"country\":\"D\",\"device\":\"g\"}", 400, "control character"},
		{"non-UTF-8", "{\"kind\":\"plate\",\"value\":\"A\xff1\",\"country\":\"D\",\"device\":\"g\"}", 400, "UTF-8"},
		{"trailing", `{"kind":"plate","value":"A1","country":"D","device":"g"} {}`, 400, "after the JSON"},
		{"too large", `{"kind":"plate","value":"` + strings.Repeat("A", MaxBody) + `"}`, 413, "too large"},
		{"confidence", `{"kind":"plate","value":"A1","country":"D","device":"g","confidence":7}`, 400, "confidence"},
	}
	for _, c := range cases {
		w, m := post(t, h, c.body)
		if w.Code != c.status || !strings.Contains(m["error"].(string), c.msg) {
			t.Errorf("%s: %d %v, want %d containing %q", c.name, w.Code, m, c.status, c.msg)
		}
	}
	if len(rec.got) != 0 {
		t.Errorf("bad input reached the checker: %+v", rec.got)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/scans", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", w.Code)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"kind":"plate","value":"m-ab 1234","country":"D","device":"anpr-1"}`))
	f.Add([]byte(`{"kind":"container","value":"CSQU3054383","device":"ocr"}`))
	f.Add([]byte(`{"kind":"container","value":"CSQU3054384","device":"ocr","time":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rd, err := Decode(strings.NewReader(string(b)))
		if err != nil {
			return
		}
		c, err := rd.Check(time.Unix(0, 0))
		if err != nil {
			return
		}
		// Whatever passes validation is normalised and non-empty.
		if len(c.Items) != 1 || c.Items[0].Value == "" || c.Device == "" {
			t.Fatalf("accepted a read without value or device: %+v", c)
		}
	})
}

// A scan without Content-Type: application/json is refused before it is
// read: a web page can post text/plain, form or multipart bodies
// cross-origin without the browser asking first, and none may reach the
// checker.
func TestHandlerRefusesOtherContentTypes(t *testing.T) {
	rec := &recorder{}
	h := &Handler{Checker: rec}
	body := `{"kind":"plate","value":"A1","country":"D","device":"g"}`
	for _, ct := range []string{"", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x", "application/xml", "application/json;;"} {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/v1/scans", strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		h.ServeHTTP(w, req)
		if w.Code != http.StatusUnsupportedMediaType {
			t.Errorf("Content-Type %q: status %d, want 415", ct, w.Code)
		}
	}
	if len(rec.got) != 0 {
		t.Fatalf("%d refused scans reached the checker", len(rec.got))
	}
	if w, _ := post(t, h, body); w.Code != 200 {
		t.Fatalf("application/json: status %d", w.Code)
	}
}
