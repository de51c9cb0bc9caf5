package terminal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// cheapArgon is the weakest hash LoadUsers accepts, to keep tests quick.
var cheapArgon = argonParams{memory: minArgonMemory, time: 2, threads: 1}

const testPassword = "correct horse battery"

// clock is a settable clock, so expiry and lockout tests need no sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fakeChecker answers every check with the hits it is told to, and
// publishes them to the terminal first, as the agent does.
type fakeChecker struct {
	mu     sync.Mutex
	t      *Terminal
	checks []devices.Check
	hits   func(devices.Check) []Hit
	err    error
}

func (f *fakeChecker) Check(ctx context.Context, c devices.Check) (devices.Result, error) {
	f.mu.Lock()
	f.checks = append(f.checks, c)
	hits, err := f.hits, f.err
	f.mu.Unlock()
	if err != nil {
		return devices.Result{}, err
	}
	res := devices.Result{CheckID: c.ID}
	if hits != nil {
		for _, h := range hits(c) {
			f.t.Publish(h)
			res.Hits = append(res.Hits, devices.Hit{ID: h.ID, AlertID: h.AlertID})
		}
	}
	return res, nil
}

func (f *fakeChecker) Checks() []devices.Check {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]devices.Check(nil), f.checks...)
}

// fakeRecorder keeps what the terminal records, like a simulated central
// at the far end of the outbox.
type fakeRecorder struct {
	mu       sync.Mutex
	outcomes []OutcomeRecord
	audit    []store.AuditRecord
	failNext error
	got      chan OutcomeRecord
}

func newRecorder() *fakeRecorder { return &fakeRecorder{got: make(chan OutcomeRecord, 16)} }

func (f *fakeRecorder) Outcome(ctx context.Context, o OutcomeRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failNext; err != nil {
		f.failNext = nil
		return err
	}
	f.outcomes = append(f.outcomes, o)
	f.got <- o
	return nil
}

func (f *fakeRecorder) Audit(ctx context.Context, rec store.AuditRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rec.Time.IsZero() { // the store stamps its records
		rec.Time = time.Date(2026, 11, 27, 8, 30, 0, 0, time.UTC)
	}
	f.audit = append(f.audit, rec)
	return nil
}

func (f *fakeRecorder) Outcomes() []OutcomeRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]OutcomeRecord(nil), f.outcomes...)
}

func (f *fakeRecorder) Events(ev store.AuditEvent) []store.AuditRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.AuditRecord
	for _, r := range f.audit {
		if r.Event == ev {
			out = append(out, r)
		}
	}
	return out
}

type fakeState struct {
	mu sync.Mutex
	b  Banner
}

func (f *fakeState) Banner() Banner { f.mu.Lock(); defer f.mu.Unlock(); return f.b }

// rig is a terminal with fakes behind an httptest server.
type rig struct {
	t       *Terminal
	srv     *httptest.Server
	clock   *clock
	checker *fakeChecker
	rec     *fakeRecorder
	state   *fakeState
}

// testUsers holds one account per role, all with testPassword.
func testUsers(t testing.TB) *Users {
	t.Helper()
	h, err := hashArgon(testPassword, cheapArgon)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, u := range []User{{Name: "anna", Role: RoleOfficer, Hash: h}, {Name: "sven", Role: RoleSupervisor, Hash: h}, {Name: "theo", Role: RoleTechnician, Hash: h}, {Name: "cora", Role: RoleOfficer, Hash: h}} {
		line, err := UserLine(u)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
	}
	users, err := LoadUsers(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return users
}

// testConfig: officers serve border control, supervisors also customs.
func testConfig() Config {
	return Config{Lane: "booth-1", BannerEvery: time.Hour, Purposes: map[Role][]string{
		RoleOfficer:    {"border"},
		RoleSupervisor: {"border", "customs"},
		RoleTechnician: {"border", "customs"},
	}}
}

func newRig(t testing.TB, cfg Config, tls bool) *rig {
	t.Helper()
	r := &rig{clock: newClock(), checker: &fakeChecker{}, rec: newRecorder(),
		state: &fakeState{b: Banner{LinkUp: true, ReplicaVersion: "epoch 1, delta 42"}}}
	term, err := New(cfg, Deps{Users: testUsers(t), Checker: r.checker, Recorder: r.rec, State: r.state, Now: r.clock.Now,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r.t, r.checker.t = term, term
	if tls {
		r.srv = httptest.NewTLSServer(term.Handler())
	} else {
		r.srv = httptest.NewServer(term.Handler())
	}
	t.Cleanup(r.srv.Close)
	return r
}

// client is one browser: a cookie jar and the CSRF token the page holds.
type client struct {
	base string
	hc   *http.Client
	csrf string
}

func (r *rig) client() *client {
	jar, _ := cookiejar.New(nil)
	hc := r.srv.Client()
	c := *hc
	c.Jar = jar
	return &client{base: r.srv.URL, hc: &c}
}

// do sends a request and decodes a JSON answer into out (if not nil).
func (c *client) do(method, path string, body any, out any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(headerCSRF, c.csrf)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp, fmt.Errorf("%s %s: %d %q: %w", method, path, resp.StatusCode, b, err)
		}
	}
	return resp, nil
}

// login fetches the login token and logs in; it returns the HTTP status.
func (c *client) login(name, password string) (int, error) {
	var s sessionView
	if _, err := c.do("GET", "/api/session", nil, &s); err != nil {
		return 0, err
	}
	c.csrf = s.CSRF
	var in sessionView
	resp, err := c.do("POST", "/api/login", loginRequest{Name: name, Password: password}, &in)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode == http.StatusOK {
		c.csrf = in.CSRF
	}
	return resp.StatusCode, nil
}

func mustLogin(t testing.TB, c *client, name string) {
	t.Helper()
	code, err := c.login(name, testPassword)
	if err != nil || code != http.StatusOK {
		t.Fatalf("login %s: %d %v", name, code, err)
	}
}

var errDisk = errors.New("disk full")

// testHit returns a hit on an alert with the given purposes.
func testHit(id string, purposes ...string) Hit {
	return Hit{
		Hit: store.Hit{ID: id, CheckID: "chk-1", Device: "anpr", Lane: "lane-2", Time: time.Date(2026, 11, 27, 8, 1, 0, 0, time.UTC),
			Field: "plate", ItemKind: "plate", Raw: "B-AB 123", Value: "BAB123", AlertID: "SIS-1", AlertVersion: 3,
			Match: "normalised", Score: 1, Category: "art26-arrest", Action: "Arrest the driver",
			Explanation: `plate "BAB123" (DE) equals the alert's plate; read as "B-AB 123", normalised`},
		Source: "SIS", Warnings: []string{"armed", "violent"}, Purposes: purposes, Country: "DE",
	}
}
