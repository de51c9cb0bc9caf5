package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/simulator/central"
	"github.com/borderpost/borderpost/simulator/field"
	"github.com/borderpost/borderpost/simulator/lists"
	"github.com/borderpost/borderpost/simulator/rig"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// agentBinary is the borderpost executable built once for these tests.
var agentBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "borderpost-e2e-")
	if err != nil {
		panic(err)
	}
	agentBinary = filepath.Join(dir, "borderpost")
	build := exec.Command("go", "build", "-o", agentBinary, "../agent")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build agent:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// post is one simulated border post under test: broker, central, agent.
type post struct {
	t       *testing.T
	broker  synctest.Broker
	central *central.Central
	signer  *bpsync.Signer
	agent   *rig.Agent
	alerts  []store.Alert
}

// startPost starts a broker, central and an agent holding nAlerts. The
// agent reaches the broker through via(broker URL), which a test may use
// to put a proxy in between; nil means directly.
func startPost(t *testing.T, nAlerts int, via func(string) string) *post {
	return startPostOn(t, synctest.StartMosquitto(t), nAlerts, via)
}

// brokers are the MQTT brokers the end-to-end tests run against: the
// post's Mosquitto, and NATS with JetStream as a broker that clusters.
var brokers = map[string]func(testing.TB) synctest.Broker{
	"mosquitto": func(t testing.TB) synctest.Broker { return synctest.StartMosquitto(t) },
	"nats":      func(t testing.TB) synctest.Broker { return synctest.StartNATS(t) },
}

// delegatedSigner returns central's signer as it runs in production: a
// working key vouched for by a root, whose public key is what agents trust.
func delegatedSigner(t *testing.T) (root ed25519.PublicKey, s *bpsync.Signer) {
	t.Helper()
	rootPub, rootPriv, _ := ed25519.GenerateKey(rand.Reader)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	s = bpsync.NewSigner(priv)
	cert, err := bpsync.Delegate(bpsync.NewSigner(rootPriv), pub, time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	s.Cert = cert
	return rootPub, s
}

func startPostOn(t *testing.T, broker synctest.Broker, nAlerts int, via func(string) string) *post {
	t.Helper()
	pub, signer := delegatedSigner(t)
	p := &post{t: t, broker: broker, signer: signer}
	agentBroker := p.broker.URL()
	if via != nil {
		agentBroker = via(agentBroker)
	}
	c := startCentral(t, central.Config{Broker: p.broker.URL(), Signer: p.signer})
	p.central = c

	dir := t.TempDir()
	var err error
	p.agent, err = rig.Prepare(rig.AgentOptions{Binary: agentBinary, Dir: dir, ID: "post-e2e-01", Broker: agentBroker, CentralKey: pub, HitKey: c.HitPublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.agent.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.agent.Kill()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "agent.log"))
			t.Logf("agent log (last 4 KiB):\n%s", tail(b, 4096))
		}
	})
	waitFor(t, 10*time.Second, "agent linked", func() bool { s, err := p.agent.Status(); return err == nil && s.Link == "online" })

	p.alerts = watchlist.NewGenerator(1, watchlist.DefaultMix).Alerts(nAlerts)
	if _, err := c.Publish(p.alerts, nil); err != nil {
		t.Fatal(err)
	}
	want := c.Digest().String()
	waitFor(t, 20*time.Second, "agent holds central's digest", func() bool {
		s, err := p.agent.Status()
		return err == nil && s.Digest == want && s.Alerts == nAlerts
	})
	if s, _ := p.agent.Status(); s.Fresh.Stale {
		t.Errorf("agent reports its replica stale right after the delta: %s", s.Fresh.Reason)
	}
	return p
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// quiet is the logger of the components a test runs in-process.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startCentral starts the simulated central as cfg says, quiet unless cfg
// names a logger, closes it when the test ends, and waits until it is
// connected to its broker.
func startCentral(t *testing.T, cfg central.Config) *central.Central {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	c, err := central.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	waitFor(t, 10*time.Second, "central connected", c.Connected)
	return c
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runField sends the scans and checks that central ends with exactly the
// planted hits and the agent's outbox drains. It returns the field report.
func (p *post) runField(rate float64, during func(sent *atomic.Int64)) field.Report {
	t := p.t
	t.Helper()
	var sent atomic.Int64
	done := make(chan struct{})
	if during != nil {
		go func() { defer close(done); during(&sent) }()
	} else {
		close(done)
	}
	rep, err := field.Run(context.Background(), field.Config{URL: p.agent.URL, RunID: "scan", Scans: 2000, Planted: 100,
		Concurrency: 8, Rate: rate, Seed: 7, Alerts: p.alerts, Progress: &sent})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if rep.Refused != 0 || len(rep.Missed) != 0 || len(rep.Unexpected) != 0 {
		t.Fatalf("field: %d refused, %d planted reads missed, %d noise reads hit", rep.Refused, len(rep.Missed), len(rep.Unexpected))
	}
	drainStart := time.Now()
	waitFor(t, 90*time.Second, "central holds 100 hits and the agent's outbox is empty", func() bool {
		s, err := p.agent.Status()
		return err == nil && s.Outbox == 0 && len(p.central.Hits("post-e2e-01")) >= 100
	})
	drain := time.Since(drainStart)

	hits := p.central.Hits("post-e2e-01")
	got := make(map[string]bool)
	for _, h := range hits {
		got[h.CheckID+" "+h.AlertID] = true
	}
	if len(hits) != 100 || len(got) != 100 {
		t.Fatalf("central holds %d hits (%d distinct scan/alert pairs), want exactly 100", len(hits), len(got))
	}
	for _, pl := range rep.Planted {
		if !got[pl.ScanID+" "+pl.AlertID] {
			t.Errorf("planted hit scan %s on alert %s never reached central", pl.ScanID, pl.AlertID)
		}
	}
	for i := 1; i < len(hits); i++ {
		if hits[i].Seq <= hits[i-1].Seq {
			t.Errorf("hits out of order at %d", i)
		}
	}
	st := p.central.Stats()
	t.Logf("field: %d scans in %s (%.0f scans/s), %d hits; central stored %d (received %d, %d duplicates); drained %s after the last scan",
		rep.Sent, rep.Elapsed.Round(time.Millisecond), rep.ScansPerSecond(), rep.Hits, st.Stored, st.Received, st.Duplicates, drain.Round(time.Millisecond))
	return rep
}

// TestEndToEnd is issue 2's path: 1,000 alerts out, 2,000 scans in, exactly
// the 100 planted hits at central, the outbox empty, 2,000 checks audited,
// and no identifier in clear in the replica file.
func TestEndToEnd(t *testing.T) {
	for name, start := range brokers {
		t.Run(name, func(t *testing.T) { endToEnd(t, startPostOn(t, start(t), 1000, nil)) })
	}
}

func endToEnd(t *testing.T, p *post) {
	p.runField(0, nil)

	// A container with a wrong check digit is refused, naming the digit.
	resp, err := http.Post(p.agent.URL+"/v1/scans", "application/json",
		strings.NewReader(`{"kind":"container","value":"CSQU3054384","device":"gate-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "check digit should be 3") {
		t.Errorf("wrong check digit: %s %s", resp.Status, body)
	}

	// A delta with a bad signature and a replayed delta change nothing.
	before, _ := p.agent.Status()
	_, forger, _ := ed25519.GenerateKey(rand.Reader)
	forged, _, _ := bpsync.NewSigner(forger).Seal(bpsync.Delta{Binding: bpsync.Binding{Kind: bpsync.KindDelta, Stream: bpsync.StreamWhole}, Epoch: 1, Seq: 2, Prev: hex.EncodeToString(make([]byte, 32)),
		Digest: before.Digest, Deletes: []string{p.alerts[0].ID}})
	tampered, _, _ := p.signer.Seal(bpsync.Delta{Binding: bpsync.Binding{Kind: bpsync.KindDelta, Stream: bpsync.StreamWhole}, Epoch: 1, Seq: 2, Prev: hex.EncodeToString(make([]byte, 32)), Digest: before.Digest})
	tampered = bytes.Replace(tampered, []byte(`"seq":2`), []byte(`"seq":3`), 1) // signature no longer covers the body
	replay, _, _ := p.signer.Seal(bpsync.Delta{Binding: bpsync.Binding{Kind: bpsync.KindDelta, Stream: bpsync.StreamWhole}, Epoch: 1, Seq: 1, Prev: hex.EncodeToString(make([]byte, 32)),
		Digest: before.Digest, Deletes: []string{p.alerts[1].ID}})
	pubC, err := bpsync.Dial(bpsync.LinkConfig{Broker: p.broker.URL(), ClientID: "attacker", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer pubC.Close()
	waitFor(t, 10*time.Second, "attacker connected", pubC.Connected)
	for _, m := range [][]byte{forged, tampered, replay} {
		if err := pubC.Publish(bpsync.TopicDelta, false, m); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	after, _ := p.agent.Status()
	if after.Digest != before.Digest || after.Seq != before.Seq || after.Alerts != before.Alerts {
		t.Errorf("replica changed by refused deltas: before %+v after %+v", before, after)
	}

	if err := p.agent.Stop(); err != nil {
		t.Fatalf("agent stop: %v", err)
	}
	rep, err := p.agent.OpenReplica(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	n, err := rep.VerifyAudit(context.Background())
	if err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	checks, refused := 0, 0
	rep.AuditRecords(context.Background(), func(r store.AuditRecord) error {
		switch r.Event {
		case store.EventCheck:
			checks++
		case store.EventDeltaRefused:
			refused++
		}
		return nil
	})
	// 2,000 field scans; the refused container never became a check.
	if checks != 2000 {
		t.Errorf("audit log holds %d checks, want 2000", checks)
	}
	if refused < 3 {
		t.Errorf("audit log holds %d refused deltas, want at least 3 (forged, tampered, replayed)", refused)
	}
	ob, _ := rep.Outbox()
	if ob.Depth != 0 {
		t.Errorf("outbox holds %d hits after drain", ob.Depth)
	}
	t.Logf("audit log: %d records, %d checks, %d refused deltas", n, checks, refused)
	rep.Close()

	raw, err := os.ReadFile(p.agent.DB)
	if err != nil {
		t.Fatal(err)
	}
	leaks := 0
	for _, a := range p.alerts {
		for _, s := range identifiers(a) {
			if bytes.Contains(raw, []byte(s)) {
				leaks++
				if leaks < 5 {
					t.Errorf("replica file holds %q (alert %s, %s) in clear", s, a.ID, a.Subject.Kind)
				}
			}
		}
	}
	if leaks > 0 {
		t.Errorf("%d identifiers in clear in the replica file", leaks)
	}
	logText, _ := os.ReadFile(filepath.Join(p.agent.Opts.Dir, "agent.log"))
	for _, a := range p.alerts[:200] {
		for _, s := range identifiers(a) {
			if bytes.Contains(logText, []byte(s)) {
				t.Errorf("agent log holds %q in clear", s)
			}
		}
	}
	if !bytes.Contains(logText, []byte("delta not applied")) {
		t.Error("agent log does not record the refused deltas")
	}
}

// identifiers lists the values of an alert that must never appear in clear:
// plates, containers, document numbers, EORIs and names long enough not to
// occur by chance in random bytes.
func identifiers(a store.Alert) []string {
	s := a.Subject
	var out []string
	switch s.Kind {
	case store.SubjectVehicle:
		out = append(out, s.Vehicle.Plate)
	case store.SubjectContainer:
		out = append(out, s.Container.Number)
	case store.SubjectDocument:
		out = append(out, s.Document.Number)
	case store.SubjectCompany:
		out = append(out, s.Company.Name, s.Company.EORI)
	case store.SubjectPerson:
		if len(s.Person.Surname) >= 6 {
			out = append(out, s.Person.Surname)
		}
	}
	return out
}

// TestEndToEndBrokerKilled kills the broker with SIGKILL twice while hits
// flow and starts it again: central still ends with exactly the 100.
func TestEndToEndBrokerKilled(t *testing.T) {
	for name, start := range brokers {
		t.Run(name, func(t *testing.T) { brokerKilled(t, startPostOn(t, start(t), 1000, nil)) })
	}
}

func brokerKilled(t *testing.T, p *post) {
	p.runField(0, func(sent *atomic.Int64) {
		for i, at := range []int64{500, 1200} {
			for sent.Load() < at {
				time.Sleep(5 * time.Millisecond)
			}
			p.broker.Kill()
			time.Sleep(700 * time.Millisecond)
			p.broker.Restart()
			// Each kill must hit a live session: wait for the agent to be
			// back before the next one.
			waitFor(t, 30*time.Second, fmt.Sprintf("agent reconnected after kill %d", i+1), func() bool {
				s, err := p.agent.Status()
				return err == nil && s.Connects >= int64(i+2) && s.Link == "online"
			})
		}
	})
}

// TestEndToEndLinkCut cuts the agent's link for 60 s, the way a pulled
// cable does, while scans keep coming: every check is answered offline, the
// outbox fills, and after the link returns it drains to exactly the 100.
func TestEndToEndLinkCut(t *testing.T) {
	var proxy *synctest.Proxy
	p := startPost(t, 1000, func(broker string) string {
		proxy = synctest.StartProxy(t, strings.TrimPrefix(broker, "tcp://"))
		return proxy.URL()
	})
	var during struct {
		offline bool
		depth   int
	}
	p.runField(30, func(sent *atomic.Int64) {
		for sent.Load() < 300 {
			time.Sleep(10 * time.Millisecond)
		}
		proxy.Cut()
		cutAt := time.Now()
		waitFor(t, 30*time.Second, "agent notices the cut", func() bool {
			s, err := p.agent.Status()
			return err == nil && s.Link == "offline"
		})
		for time.Since(cutAt) < 60*time.Second {
			time.Sleep(100 * time.Millisecond)
		}
		s, _ := p.agent.Status()
		during.offline, during.depth = s.Link == "offline", s.Outbox
		proxy.Restore()
	})
	if !during.offline || during.depth == 0 {
		t.Errorf("at the end of the cut the agent was %v with %d hits waiting; want offline with a backlog", during.offline, during.depth)
	}
	t.Logf("backlog at the end of the 60 s cut: %d hits", during.depth)
}

// TestEndToEndAgentKilled kills the agent with SIGKILL while scans flow and
// starts it again on the same replica: every hit the agent reported to a
// device reaches central, central holds each hit once, and the outbox
// drains.
func TestEndToEndAgentKilled(t *testing.T) {
	p := startPost(t, 1000, nil)
	var mu sync.Mutex
	answered := map[string]string{} // hit ID -> scan ID, as the devices saw them
	var sent atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sent.Load() < 600 {
			time.Sleep(5 * time.Millisecond)
		}
		p.agent.Kill()
		if err := p.agent.Start(context.Background()); err != nil {
			t.Errorf("restart after SIGKILL: %v", err)
		}
	}()
	rep, err := field.Run(context.Background(), field.Config{URL: p.agent.URL, RunID: "scan", Scans: 2000, Planted: 100,
		Concurrency: 8, Rate: 200, Seed: 7, Alerts: p.alerts, Progress: &sent,
		OnHit: func(scanID string, h devices.Hit) { mu.Lock(); answered[h.ID] = scanID; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if rep.Refused == 0 {
		t.Log("no scan fell into the restart window")
	}
	waitFor(t, 60*time.Second, "outbox drained after restart", func() bool {
		s, err := p.agent.Status()
		return err == nil && s.Outbox == 0 && len(p.central.Hits("post-e2e-01")) >= len(answered)
	})
	hits := p.central.Hits("post-e2e-01")
	atCentral := map[string]bool{}
	for _, h := range hits {
		if atCentral[h.ID] {
			t.Errorf("central stored hit %s twice", h.ID)
		}
		atCentral[h.ID] = true
	}
	for id, scanID := range answered {
		if !atCentral[id] {
			t.Errorf("hit %s (scan %s) was answered to the device but never reached central", id, scanID)
		}
	}
	planted := map[string]string{}
	for _, pl := range rep.Planted {
		planted[pl.ScanID] = pl.AlertID
	}
	for _, h := range hits {
		if planted[h.CheckID] != h.AlertID {
			t.Errorf("central holds hit %s on alert %s for scan %s, which was not planted on it", h.ID, h.AlertID, h.CheckID)
		}
	}
	st := p.central.Stats()
	t.Logf("agent killed after 600 scans: %d refused while it restarted, %d hits answered, %d at central (%d duplicates removed)",
		rep.Refused, len(answered), len(hits), st.Duplicates)
}

// TestEndToEndOfficerOutcome is the officer's part of the path: a planted
// hit reaches the terminal, an officer logs in and records an outcome, and
// the outcome reaches central joined to the hit.
func TestEndToEndOfficerOutcome(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	broker := synctest.StartMosquitto(t)
	c := startCentral(t, central.Config{Broker: broker.URL(), Signer: bpsync.NewSigner(priv)})
	a, err := rig.Prepare(rig.AgentOptions{Binary: agentBinary, Dir: t.TempDir(), ID: "post-officer", Broker: broker.URL(), CentralKey: pub, HitKey: c.HitPublicKey(),
		Officer: "anna", OfficerPassword: "a long enough passphrase"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Kill()
	alerts := watchlist.NewGenerator(5, watchlist.DefaultMix).Alerts(200)
	d, err := c.Publish(alerts, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "agent holds the list", func() bool { s, err := a.Status(); return err == nil && s.Digest == d.Digest })

	jar, _ := cookiejar.New(nil)
	officer := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	call := func(method, path, csrf string, body any, out any) int {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, a.TerminalURL+path, rd)
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := officer.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	var sess struct {
		CSRF     string `json:"csrf"`
		LoggedIn bool   `json:"logged_in"`
	}
	call("GET", "/api/session", "", nil, &sess)
	if code := call("POST", "/api/login", sess.CSRF, map[string]string{"name": "anna", "password": "wrong password here"}, nil); code == http.StatusOK {
		t.Fatal("a wrong password logged in")
	}
	call("GET", "/api/session", "", nil, &sess)
	if code := call("POST", "/api/login", sess.CSRF, map[string]string{"name": "anna", "password": "a long enough passphrase"}, nil); code != http.StatusOK {
		t.Fatalf("login: %d", code)
	}
	call("GET", "/api/session", "", nil, &sess)
	if !sess.LoggedIn || sess.CSRF == "" {
		t.Fatalf("session after login: %+v", sess)
	}

	// A planted plate read hits; the officer opens it and records the outcome.
	var target store.Alert
	for _, al := range alerts {
		if al.Subject.Kind == store.SubjectVehicle {
			target = al
			break
		}
	}
	resp, err := http.Post(a.URL+"/v1/scans", "application/json", strings.NewReader(fmt.Sprintf(
		`{"kind":"plate","value":%q,"country":%q,"device":"anpr-1"}`, target.Subject.Vehicle.Plate, target.Subject.Vehicle.PlateCountry)))
	if err != nil {
		t.Fatal(err)
	}
	var res devices.Result
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if len(res.Hits) != 1 {
		t.Fatalf("planted read: %+v", res)
	}
	hitID := res.Hits[0].ID
	if code := call("GET", "/api/hits/"+hitID, "", nil, nil); code != http.StatusOK {
		t.Fatalf("open hit: %d", code)
	}
	if code := call("POST", "/api/hits/"+hitID+"/outcome", "", map[string]string{"outcome": "confirmed"}, nil); code != http.StatusForbidden {
		t.Errorf("an outcome without the CSRF token was taken: %d", code)
	}
	if code := call("POST", "/api/hits/"+hitID+"/outcome", sess.CSRF, map[string]string{"outcome": "confirmed", "remark": "vehicle held at lane 2"}, nil); code != http.StatusOK {
		t.Fatalf("record outcome: %d", code)
	}
	waitFor(t, 30*time.Second, "the outcome reaches central", func() bool { return len(c.Outcomes("post-officer")) == 1 })
	o := c.Outcomes("post-officer")[0]
	if o.HitID != hitID || o.Outcome != "confirmed" || o.Officer != "anna" || o.AlertID != target.ID {
		t.Errorf("central got outcome %+v", o)
	}
	if hits := c.Hits("post-officer"); len(hits) != 1 || hits[0].ID != hitID {
		t.Errorf("central hits %+v", hits)
	}
	waitFor(t, 10*time.Second, "outbox drained", func() bool { s, err := a.Status(); return err == nil && s.Outbox == 0 })
}

// TestEndToEndSnapshotInterrupted: an agent that was down while central
// moved on further than it keeps deltas gets a snapshot; it is killed with
// SIGKILL in the middle of the transfer, starts again, and ends holding
// exactly central's alert set, verified by digest.
func TestEndToEndSnapshotInterrupted(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	broker := synctest.StartMosquitto(t)
	c := startCentral(t, central.Config{Broker: broker.URL(), Signer: bpsync.NewSigner(priv), KeepDeltas: 2, SnapshotChunk: 250})
	dir := t.TempDir()
	a, err := rig.Prepare(rig.AgentOptions{Binary: agentBinary, Dir: dir, ID: "post-snap", Broker: broker.URL(), CentralKey: pub, HitKey: c.HitPublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Kill()
	gen := watchlist.NewGenerator(11, watchlist.DefaultMix)
	base := gen.Alerts(20000)
	if _, err := c.Publish(base, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "agent holds the first delta", func() bool { s, err := a.Status(); return err == nil && s.Seq == 1 })

	// The agent is down while central rebuilds its list in a new epoch and
	// publishes three deltas there: the agent's replica cannot be brought
	// forward by deltas, only by a snapshot.
	a.Kill()
	c.NewEpoch()
	changed := base[7]
	changed.Version, changed.Action = 2, "arrest"
	for _, d := range []struct {
		ups  []store.Alert
		dels []string
	}{{gen.Alerts(500), nil}, {[]store.Alert{changed}, []string{base[8].ID}}, {gen.Alerts(10), []string{base[9].ID}}} {
		if _, err := c.Publish(d.ups, d.dels); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, "agent.log")
	started := func() int { b, _ := os.ReadFile(logPath); return strings.Count(string(b), "snapshot started") }
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the snapshot starts", func() bool { return started() >= 1 })
	a.Kill() // in the middle of the transfer
	if s := c.Stats(); s.Snapshots > 1 {
		t.Logf("note: %d snapshots completed before the kill", s.Snapshots)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatalf("restart after a kill mid-snapshot: %v", err)
	}
	want := c.Digest().String()
	waitFor(t, 120*time.Second, "agent holds central's digest after the snapshot", func() bool {
		s, err := a.Status()
		return err == nil && s.Digest == want && s.Seq == c.Seq()
	})
	s, _ := a.Status()
	if s.Alerts != 20000+500+10-2 {
		t.Errorf("agent's index holds %d alerts, want %d", s.Alerts, 20000+500+10-2)
	}
	if got := started(); got < 2 {
		t.Errorf("snapshot started %d times, want a restart after the kill", got)
	}
	a.Stop()
	rep, err := a.OpenReplica(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	if got, ok, _ := rep.Alert(changed.ID); !ok || got.Version != 2 || got.Action != "arrest" {
		t.Errorf("changed alert after snapshot: %+v %v", got, ok)
	}
	if _, ok, _ := rep.Alert(base[8].ID); ok {
		t.Error("a deleted alert survived the snapshot")
	}
	if _, err := rep.VerifyAudit(context.Background()); err != nil {
		t.Errorf("audit chain: %v", err)
	}
	t.Logf("snapshots started %d times, central sent %d", started(), c.Stats().Snapshots)
}

// sharedData returns a folder of the project's reference data, or skips
// where it is absent (a user's clone); under CI it fails.
func sharedData(t *testing.T, sub string) string {
	t.Helper()
	root := os.Getenv("BORDERPOST_DATA")
	if root == "" {
		root = filepath.Join("..", "..", "shared", "data")
	}
	p := filepath.Join(root, sub)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("reference data %s not found: set BORDERPOST_DATA or place shared/data beside the repository", sub)
		}
		t.Skipf("reference data %s not found beside the repository; set BORDERPOST_DATA to run this test", sub)
	}
	return p
}

// startAgent prepares and starts the agent o describes (its Binary and
// Dir filled in when empty); it is killed when the test ends.
func startAgent(t *testing.T, o rig.AgentOptions) *rig.Agent {
	t.Helper()
	if o.Binary == "" {
		o.Binary = agentBinary
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	a, err := rig.Prepare(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Kill)
	return a
}

// TestCentralPublishesOFACDiff: three agents hold the 2019 OFAC list;
// central publishes the diff to the 2021 list; each ends with central's
// digest, an entry removed in 2021 no longer hits and one added does.
func TestCentralPublishesOFACDiff(t *testing.T) {
	old, err := lists.ParseOFACDir(os.DirFS(sharedData(t, "ofac/sdn_2019-01")), lists.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := lists.ParseOFACDir(os.DirFS(sharedData(t, "ofac/sdn_2021-07")), lists.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ups, dels := lists.Diff(old, cur)
	root, signer := delegatedSigner(t)
	broker := synctest.StartMosquitto(t)
	c := startCentral(t, central.Config{Broker: broker.URL(), Signer: signer})
	var agents []*rig.Agent
	for i := range 3 {
		agents = append(agents, startAgent(t, rig.AgentOptions{ID: fmt.Sprintf("post-ofac-%d", i+1), Broker: broker.URL(), CentralKey: root, HitKey: c.HitPublicKey()}))
	}
	holdAll := func(what string) {
		want := c.Digest().String()
		for _, a := range agents {
			waitFor(t, 60*time.Second, a.Opts.ID+" holds "+what, func() bool { s, err := a.Status(); return err == nil && s.Digest == want })
		}
	}
	if _, err := c.Publish(old, nil); err != nil {
		t.Fatal(err)
	}
	holdAll("the 2019 list")
	if _, err := c.Publish(ups, dels); err != nil {
		t.Fatal(err)
	}
	holdAll("the 2021 list")
	t.Logf("2019 list %d entries, 2021 list %d; diff %d upserts, %d deletes; three agents hold central's digest", len(old), len(cur), len(ups), len(dels))

	// Pick an entry removed in 2021 and one added, by name.
	inCur := map[string]bool{}
	for _, a := range cur {
		inCur[a.ID] = true
	}
	inOld := map[string]bool{}
	for _, a := range old {
		inOld[a.ID] = true
	}
	nameOf := func(a store.Alert) string {
		if p := a.Subject.Person; p != nil {
			return strings.TrimSpace(p.Forenames + " " + p.Surname)
		}
		if co := a.Subject.Company; co != nil {
			return co.Name
		}
		return ""
	}
	var removed, added store.Alert
	for _, a := range old {
		if !inCur[a.ID] && a.Subject.Kind == store.SubjectPerson && len(strings.Fields(nameOf(a))) >= 3 {
			removed = a
			break
		}
	}
	for _, a := range cur {
		if !inOld[a.ID] && a.Subject.Kind == store.SubjectPerson && len(strings.Fields(nameOf(a))) >= 3 {
			added = a
			break
		}
	}
	if removed.ID == "" || added.ID == "" {
		t.Fatal("no removed or added person with a full name found")
	}
	a := agents[0]
	a.Stop()
	check := func(name string) string {
		out, err := exec.Command(agentBinary, "check", "name", name, "--config", a.Config).CombinedOutput()
		if err != nil {
			t.Fatalf("borderpost check: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := check(nameOf(removed)); strings.Contains(out, "HIT alert "+removed.ID) {
		t.Errorf("%s, removed in 2021, still hits:\n%s", removed.ID, out)
	}
	if out := check(nameOf(added)); !strings.Contains(out, "HIT alert "+added.ID) {
		t.Errorf("%s, added in 2021, does not hit:\n%s", added.ID, out)
	}
}

// TestFleetView: central's fleet view shows an agent killed mid-run as
// silent, and one restarted from an old backup as behind until it has
// caught up.
func TestFleetView(t *testing.T) {
	root, signer := delegatedSigner(t)
	broker := synctest.StartMosquitto(t)
	c := startCentral(t, central.Config{Broker: broker.URL(), Signer: signer})
	var agents []*rig.Agent
	for _, id := range []string{"post-a", "post-b"} {
		a, err := rig.Prepare(rig.AgentOptions{Binary: agentBinary, Dir: t.TempDir(), ID: id, Broker: broker.URL(), CentralKey: root, HitKey: c.HitPublicKey()})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer a.Kill()
		agents = append(agents, a)
	}
	a, b := agents[0], agents[1]
	gen := watchlist.NewGenerator(21, watchlist.DefaultMix)
	view := func(id string) central.AgentView {
		for _, v := range c.Fleet(time.Now(), 5*time.Second) {
			if v.Agent == id {
				return v
			}
		}
		return central.AgentView{}
	}
	publish := func() {
		if _, err := c.Publish(gen.Alerts(50), nil); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"post-a", "post-b"} {
			waitFor(t, 30*time.Second, id+" in step", func() bool { v := view(id); return v.InStep && !v.Silent })
		}
	}
	publish()
	// Back up B's replica as it stands at delta 1.
	b.Stop()
	backup, _ := os.ReadFile(b.DB)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	publish()
	publish()

	a.Kill()
	waitFor(t, 30*time.Second, "the killed agent shown silent", func() bool { return view("post-a").Silent })

	c.Pause(true)
	b.Stop()
	if err := os.WriteFile(b.DB, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the restored agent shown behind", func() bool { v := view("post-b"); return v.Behind && !v.Silent && v.Seq == 1 })
	var table strings.Builder
	central.WriteFleet(&table, c.Fleet(time.Now(), 5*time.Second), time.Now())
	t.Logf("fleet view:\n%s", table.String())
	if !strings.Contains(table.String(), "SILENT") || !strings.Contains(table.String(), "BEHIND") {
		t.Errorf("the table does not mark the silent and the behind agent")
	}
	if !strings.Contains(table.String(), "POST") || view("post-b").Post != "simulated post" {
		t.Errorf("the fleet view does not name the posts (post-b: %q)", view("post-b").Post)
	}
	c.Pause(false)
	waitFor(t, 30*time.Second, "the restored agent caught up", func() bool { v := view("post-b"); return v.InStep && !v.Behind })
}
