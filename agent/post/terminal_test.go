package post

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/agent/config"
	"github.com/borderpost/borderpost/agent/terminal"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// officerPage is one browser on the terminal: cookies and CSRF token.
type officerPage struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func (p *officerPage) do(method, path string, body any, out any) int {
	p.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, p.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", p.csrf)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func logIn(t *testing.T, addr string) *officerPage {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	p := &officerPage{t: t, base: "http://" + addr, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	var s struct {
		CSRF string `json:"csrf"`
		Post string `json:"post"`
	}
	p.do("GET", "/api/session", nil, &s)
	p.csrf = s.CSRF
	if s.Post != "Test crossing" {
		t.Errorf("the page is not told the post's name: %q", s.Post)
	}
	if code := p.do("POST", "/api/login", map[string]string{"name": "anna", "password": "correct horse battery"}, &s); code != 200 {
		t.Fatalf("login: %d", code)
	}
	p.csrf = s.CSRF
	return p
}

// hitCard is what the test reads of a hit as the page gets it.
type hitCard struct {
	ID      string `json:"id"`
	Urgent  bool   `json:"urgent"`
	Read    struct{ Value, Country string }
	Subject *struct {
		Title string
		Rows  []struct{ Label, Alert, Read, Agree string }
	}
	Cleared *terminal.Cleared       `json:"cleared"`
	Outcome *terminal.OutcomeRecord `json:"outcome"`
}

// startOfficerAgent opens the agent on cfg with its terminal on loopback.
func startOfficerAgent(t *testing.T, cfg config.Config) (*Agent, string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port for the page
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg.Terminal.Listen = addr
	a, err := New(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	serve, err := a.terminalServer(func(addr, _ string) (net.Listener, error) { return net.Listen("tcp", addr) })
	if err != nil || serve == nil {
		a.rep.Close()
		t.Fatalf("start the terminal: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	return a, addr, func() { cancel(); <-done; a.rep.Close() }
}

func TestTerminalHitsComeFromTheReplicaAndSurviveARestart(t *testing.T) {
	cfg := seedReplica(t,
		store.Alert{ID: "veh-armed", Version: 1, Source: "SIS", Category: "art26-arrest", Action: "Arrest the driver",
			Warnings: []string{"armed"}, Purposes: []string{"border"},
			Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "HH AB 123", PlateCountry: "DE", Make: "Volkswagen", Model: "Golf"}}},
		store.Alert{ID: "veh-inform", Version: 1, Source: "NATIONAL", Category: "inform", Action: "Inform the issuing authority",
			Purposes: []string{"border"},
			Subject:  store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "WX 12345", PlateCountry: "PL", Make: "Skoda"}}},
	)
	dir := filepath.Dir(cfg.Store.Path)
	hash, err := terminal.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	line, _ := terminal.UserLine(terminal.User{Name: "anna", Role: terminal.RoleOfficer, Hash: hash})
	cfg.Terminal.Users = filepath.Join(dir, "users.jsonl")
	if err := os.WriteFile(cfg.Terminal.Users, line, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Terminal.Listen = "127.0.0.1:0"
	cfg.Terminal.Purposes = map[terminal.Role][]string{terminal.RoleOfficer: {"border"}}
	cfg.Agent.Post = "Test crossing"

	a, addr, stop := startOfficerAgent(t, cfg)
	scan := func(a *Agent, plate, country string) string {
		t.Helper()
		res, err := a.Check(context.Background(), devices.Check{Device: "anpr-1", Lane: "2",
			Items: []devices.Item{{Field: "plate", Kind: devices.KindPlate, Raw: plate, Value: strings.ReplaceAll(plate, " ", ""), Country: country}}})
		if err != nil || len(res.Hits) != 1 {
			t.Fatalf("scan %s: %+v %v", plate, res, err)
		}
		return res.Hits[0].ID
	}
	armed := scan(a, "HH AB 123", "DE")
	inform := scan(a, "WX 12345", "PL")
	page := logIn(t, addr)
	var c hitCard
	if code := page.do("GET", "/api/hits/"+armed, nil, &c); code != 200 {
		t.Fatalf("armed hit: %d", code)
	}
	if !c.Urgent || c.Read.Value != "HH AB 123" || c.Read.Country != "DE" || c.Subject == nil || c.Subject.Title != "Vehicle sought" {
		t.Fatalf("card %+v: want urgent, what was read, and the vehicle sought", c)
	}
	rows := map[string]string{}
	for _, r := range c.Subject.Rows {
		rows[r.Label] = r.Alert + "/" + r.Agree
	}
	if rows["Make"] != "Volkswagen/" || rows["Model"] != "Golf/" || rows["Country"] != "DE/agrees" || rows["Plate"] != "HH AB 123/agrees" {
		t.Fatalf("subject rows %v: want the replica's make and model, the country and plate agreeing", rows)
	}
	// Typed with the wrong country: no hit, but the officer is told.
	var chk struct {
		Hits           []hitCard `json:"hits"`
		OtherCountries []string  `json:"other_countries"`
	}
	if code := page.do("POST", "/api/check", map[string]string{"kind": "plate", "value": "HH AB 123", "country": "PL"}, &chk); code != 200 ||
		len(chk.Hits) != 0 || strings.Join(chk.OtherCountries, ",") != "DE" {
		t.Fatalf("plate under the wrong country: %d %+v, want no hit and DE named", code, chk)
	}
	if code := page.do("POST", "/api/hits/"+inform+"/outcome", map[string]string{"outcome": "false_match"}, nil); code != 200 {
		t.Fatalf("false match: %d", code)
	}
	// Central acknowledges everything: the outbox is empty.
	if _, err := a.rep.Acknowledge(1 << 40); err != nil {
		t.Fatal(err)
	}
	stop()

	// The agent restarts: the replica kept the open hit for officers; the
	// settled one is done; the audit log holds the memory of the false match.
	a, addr, stop = startOfficerAgent(t, cfg)
	defer stop()
	page = logIn(t, addr)
	if code := page.do("GET", "/api/hits/"+armed, nil, &c); code != 200 || c.Outcome != nil || c.Subject == nil {
		t.Fatalf("armed hit after restart: %d %+v", code, c)
	}
	if code := page.do("GET", "/api/hits/"+inform, nil, nil); code != http.StatusNotFound {
		t.Fatalf("a hit settled and acknowledged before the restart: %d, want it gone from the page", code)
	}
	if code := page.do("POST", "/api/hits/"+armed+"/outcome", map[string]string{"outcome": "confirmed"}, nil); code != 200 {
		t.Fatalf("outcome for an open hit after restart: %d, want 200", code)
	}
	again := scan(a, "WX 12345", "PL")
	if code := page.do("GET", "/api/hits/"+again, nil, &c); code != 200 || c.Cleared == nil || c.Cleared.Officer != "anna" {
		t.Fatalf("the same plate after restart: %d %+v, want it shown as cleared as a false match", code, c)
	}
	// The memory is by keyed reference: the audit log holds no plate.
	err = a.rep.AuditRecords(context.Background(), func(r store.AuditRecord) error {
		b, _ := json.Marshal(r)
		if bytes.Contains(b, []byte("WX")) || bytes.Contains(b, []byte("12345")) || bytes.Contains(b, []byte("HH AB")) {
			t.Errorf("audit record holds a plate in clear: %s", b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
