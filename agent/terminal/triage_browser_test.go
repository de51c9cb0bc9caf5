package terminal

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/borderpost/borderpost/store"
)

// laneHit is a hit of kind kind reading raw against alert, with the
// alert's subject, category, action and warnings.
func laneHit(id, kind, raw, value, country, alert string, at time.Time, category, action string, warnings []string, subj store.Subject) Hit {
	return Hit{
		Hit: store.Hit{ID: id, CheckID: "chk-" + id, Device: "anpr", Lane: "lane-2", Time: at, Field: kind, ItemKind: kind,
			Raw: raw, Value: value, AlertID: alert, AlertVersion: 1, Match: "normalised", Score: 1, Category: category, Action: action,
			Explanation: "equal after normalisation"},
		Source: "SIS", Warnings: warnings, Purposes: []string{"border"}, Country: country, Subject: &subj,
	}
}

func vehicle(plate, country, make, model string) store.Subject {
	return store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: plate, PlateCountry: country, Make: make, Model: model}}
}

// restartablePost serves a terminal on one loopback address that the test
// can stop and start again, as an agent restart does.
type restartablePost struct {
	t    *testing.T
	addr string
	srv  *http.Server
	term *Terminal
}

func (p *restartablePost) start(term *Terminal) {
	p.t.Helper()
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old socket may linger a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("listen on %s: %v", addr, err)
	}
	p.addr, p.term = ln.Addr().String(), term
	p.srv = &http.Server{Handler: term.Handler()}
	go p.srv.Serve(ln)
	p.t.Cleanup(func() { p.srv.Close() })
}

func (p *restartablePost) stop() { p.srv.Close() }

// js runs a script in the page.
func js(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](expr)(ctx, tg)
		return err
	})
}

// axePath is axe-core's script as `make test-deps` installs it.
func axePath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("AXE_CORE")
	if p == "" {
		p = filepath.Join("..", "..", "bin", "npm", "node_modules", "axe-core", "axe.min.js")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("axe-core not found at %s: run `make test-deps` (it installs axe-core from npm) or set AXE_CORE (%v)", p, err)
	}
	return p
}

// checkAccessibility runs axe-core in the page and fails on any WCAG 2.x
// level A or AA violation.
func checkAccessibility(t *testing.T, ctx context.Context, axe []byte, when string) {
	t.Helper()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](string(axe)+`;
		axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}})
		  .then((r) => JSON.stringify(r.violations.map((v) => v.id + " (" + v.impact + "): " + v.help + " at " +
		     v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe-core %s: %v", when, err)
	}
	if res != "[]" {
		t.Errorf("accessibility violations %s: %s", when, res)
	}
}

// shots saves the page at 1400x900 and at 400x800, then goes back to the
// wide screen.
func shots(dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, s := range []struct {
			w, h int64
			tag  string
		}{{400, 800, "narrow"}, {1400, 900, "wide"}} {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(s.w, s.h), chromedp.Sleep(150*time.Millisecond)); err != nil {
				return err
			}
			png, err := chromedp.CaptureScreenshot()(ctx, tg)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, name+"-"+s.tag+".png"), png, 0o644); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestBrowserTriageMemoryAndRestart(t *testing.T) {
	axe, err := os.ReadFile(axePath(t))
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	rec := newRecorder()
	state := &fakeState{b: Banner{LinkUp: true, ReplicaVersion: "epoch 1, delta 42", ReplicaAsOf: clk.Now().Add(-3 * time.Minute)}}
	users := testUsers(t)
	refs := hmacRefs("the replica's index key, the same after a restart")
	checker := &fakeChecker{}
	cfg := testConfig()
	cfg.Post = "Świecko road crossing"
	newTerm := func() *Terminal {
		term, err := New(cfg, Deps{Users: users, Checker: checker, Recorder: rec, State: state, Refs: refs, Now: clk.Now,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		checker.t = term
		return term
	}
	post := &restartablePost{t: t}
	post.start(newTerm())
	url := "http://" + post.addr
	ctx := browser(t)

	dir := artefactDir(t)
	login := func(step string) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.WaitVisible(chromedp.ID("login-name")),
			js(`document.getElementById("login-name").value = ""`),
			chromedp.SendKeys(chromedp.ID("login-name"), "anna"),
			chromedp.SendKeys(chromedp.ID("login-password"), testPassword),
			chromedp.Click(chromedp.ID("login-submit")),
			chromedp.WaitVisible(chromedp.CSS("#live-state.ok")))
		if err != nil {
			t.Fatalf("%s: log in: %v", step, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1400, 900), chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	login("first")
	if h := text(t, ctx, "header"); !strings.Contains(h, "Świecko road crossing") {
		t.Fatalf("header %q lacks the post's name", h)
	}

	// Routine hits, then an armed arrest, then more routine hits.
	t0 := clk.Now()
	publish := func(hs ...Hit) {
		for _, h := range hs {
			post.term.Publish(h)
		}
	}
	inform := func(id, plate string, at time.Time) Hit {
		return laneHit(id, "plate", plate, strings.ReplaceAll(plate, " ", ""), "PL", "NAT-"+plate, at, "art36-inform",
			"Inform the issuing authority", nil, vehicle(strings.ReplaceAll(plate, " ", ""), "PL", "Skoda", "Octavia"))
	}
	publish(inform("hit-r1", "WX 12345", t0), inform("hit-r2", "KR 777", t0.Add(time.Minute)),
		laneHit("hit-c1", "container", "MSCU 123456 5", "MSCU1234565", "", "SIS-C1", t0.Add(2*time.Minute), "art36-specific-check",
			"Specific check of the container", nil, store.Subject{Kind: store.SubjectContainer, Container: &store.Container{Number: "MSCU1234565"}}))
	armed := laneHit("hit-armed", "plate", "B-AB 123", "BAB123", "PL", "SIS-ARMED", t0.Add(3*time.Minute), "art26-arrest",
		"Arrest the driver", []string{"armed", "violent"}, vehicle("BAB123", "DE", "Volkswagen", "Golf"))
	publish(armed, inform("hit-r3", "GD 4242", t0.Add(4*time.Minute)), inform("hit-r4", "PO 1", t0.Add(5*time.Minute)))

	first := `#hits .hit:not([hidden])`
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`.hit[data-id="hit-r4"]`))); err != nil {
		t.Fatalf("hits did not arrive: %v", err)
	}
	order, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("`+first+`")].map((e) => e.dataset.id + (e.classList.contains("pinned") ? "+pinned" : ""))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 6 || order[0] != "hit-armed+pinned" || order[1] != "hit-c1" {
		t.Fatalf("order on screen %v: want the armed arrest first and pinned, then the specific check, then the informs", order)
	}
	card := text(t, ctx, `.hit[data-id="hit-armed"]`)
	for _, want := range []string{"URGENT", "ARREST THE DRIVER", "ARMED · VIOLENT", "Read: Plate B-AB 123 (PL)", "Vehicle sought",
		"Volkswagen", "Golf", "✓ agrees", "✗ differs", "Exact match"} {
		if !strings.Contains(card, want) {
			t.Errorf("armed card lacks %q:\n%s", want, card)
		}
	}
	for _, internal := range []string{"SIS-ARMED", "art26", "score", "chk-", "epoch"} {
		if strings.Contains(card, internal) || strings.Contains(text(t, ctx, "#banners"), internal) {
			t.Errorf("first screen shows the internal %q", internal)
		}
	}
	if err := chromedp.Do(ctx, shots(dir, "01-armed-first")); err != nil {
		t.Fatal(err)
	}
	checkAccessibility(t, ctx, axe, "with hits")

	// Three reads of one plate against one alert make one card.
	publish(inform("hit-r1b", "WX 12345", t0.Add(6*time.Minute)), inform("hit-r1c", "WX 12345", t0.Add(7*time.Minute)))
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`.hit[data-id="hit-r1"] .folded`))); err != nil {
		t.Fatalf("no fold: %v", err)
	}
	if f := text(t, ctx, `.hit[data-id="hit-r1"] .folded`); !strings.Contains(f, "Read 3 times") {
		t.Fatalf("folded card says %q", f)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#hits .hit").length`))
	if err != nil || n != 6 {
		t.Fatalf("%d cards after three reads of one plate (%v), want 6", n, err)
	}
	if err := chromedp.Do(ctx, shots(dir, "02-folded")); err != nil {
		t.Fatal(err)
	}

	// False match on that card: every fold gets the outcome, the post remembers the pair.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.hit[data-id="hit-r1"] button.open`)),
		chromedp.WaitVisible(chromedp.ID("ack-form")),
		chromedp.Focus(chromedp.ID("detail")),
		chromedp.KeyEvent("2"),
		chromedp.Click(chromedp.ID("ack-submit")),
		chromedp.WaitVisible(chromedp.ID("ack-done")),
		shots(dir, "03-false-match"),
		chromedp.Click(chromedp.ID("detail-close")))
	if err != nil {
		t.Fatalf("record a false match: %v", err)
	}
	got := map[string]Outcome{}
	for _, o := range rec.Outcomes() {
		got[o.HitID] = o.Outcome
	}
	if got["hit-r1"] != OutcomeFalseMatch || got["hit-r1b"] != OutcomeFalseMatch || got["hit-r1c"] != OutcomeFalseMatch || len(got) != 3 {
		t.Fatalf("outcomes %v: want a false match for each of the three reads", got)
	}
	mem := rec.Events(EventFalseMatch)
	if len(mem) != 1 || mem[0].Ref == "" || strings.Contains(mem[0].Ref, "WX") || strings.Contains(mem[0].Ref, "12345") || mem[0].Alerts[0] != "NAT-WX 12345" {
		t.Fatalf("false-match memory record %+v: want one, by keyed reference", mem)
	}

	// The next read of the same plate: shown as cleared, below the open hits, not hidden.
	clk.Advance(40 * time.Minute)
	publish(inform("hit-r1d", "WX 12345", t0.Add(45*time.Minute)))
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`.hit[data-id="hit-r1d"] .cleared-note`))); err != nil {
		t.Fatalf("next read not shown as cleared: %v", err)
	}
	if s := text(t, ctx, `.hit[data-id="hit-r1d"] .cleared-note`); !strings.Contains(s, "Cleared as a false match at this post on 27 Nov 2026") {
		t.Fatalf("cleared note %q", s)
	}
	order, _ = chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("`+first+`")].map((e) => e.dataset.id)`))
	if len(order) == 0 || order[len(order)-1] != "hit-r1d" || order[0] != "hit-armed" {
		t.Fatalf("order %v: want the cleared read last among open hits, the armed arrest still first", order)
	}
	if err := chromedp.Do(ctx, shots(dir, "04-cleared")); err != nil {
		t.Fatal(err)
	}

	// The agent dies: the page says so.
	post.stop()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#banners .banner.alarm"))); err != nil {
		t.Fatalf("no banner when the agent is down: %v", err)
	}
	if b := text(t, ctx, "#banners"); !strings.Contains(b, "AGENT UNREACHABLE") {
		t.Fatalf("banners %q", b)
	}
	if err := chromedp.Do(ctx, shots(dir, "05-agent-down")); err != nil {
		t.Fatal(err)
	}

	// It restarts with what the replica kept: the hits in the outbox, the outcomes, the audit log.
	term := newTerm()
	for _, r := range rec.Events(EventFalseMatch) {
		if f, _, ok := FalseMatchOf(r); ok {
			term.Remember(f)
		}
	}
	outs := map[string]*OutcomeRecord{}
	for _, o := range rec.Outcomes() {
		outs[o.HitID] = &o
	}
	for _, h := range []Hit{inform("hit-r1", "WX 12345", t0), inform("hit-r2", "KR 777", t0.Add(time.Minute)), armed,
		inform("hit-r1d", "WX 12345", t0.Add(45*time.Minute))} {
		term.Restore(h, outs[h.ID])
	}
	post.start(term)
	err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("login")))
	if err != nil {
		t.Fatalf("page after restart: %v", err)
	}
	if s := text(t, ctx, "#login-error"); !strings.Contains(s, "restarted: log in again") {
		t.Fatalf("login message after restart %q", s)
	}
	if err := chromedp.Do(ctx, shots(dir, "06-restarted")); err != nil {
		t.Fatal(err)
	}
	login("after restart")
	err = chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`.hit.pinned[data-id="hit-armed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.hit[data-id="hit-r1d"] .cleared-note`)),
		chromedp.Click(chromedp.CSS(`.hit[data-id="hit-armed"] button.open`)),
		chromedp.WaitVisible(chromedp.ID("ack-form")),
		chromedp.Focus(chromedp.ID("detail")),
		chromedp.KeyEvent("1"),
		chromedp.Click(chromedp.ID("ack-submit")),
		chromedp.WaitVisible(chromedp.CSS("#ack-submit")),
	)
	if err != nil {
		t.Fatalf("open the armed hit after restart: %v", err)
	}
	if s := text(t, ctx, "#ack-status"); !strings.Contains(s, "Press the button again") {
		t.Fatalf("Confirmed was not asked again: %q", s)
	}
	if len(rec.Outcomes()) != 3 {
		t.Fatal("Confirmed was sent before the officer confirmed it")
	}
	checkAccessibility(t, ctx, axe, "with a hit open")
	err = chromedp.Do(ctx, chromedp.Click(chromedp.ID("ack-submit")), chromedp.WaitVisible(chromedp.ID("ack-done")), shots(dir, "07-outcome-after-restart"))
	if err != nil {
		t.Fatalf("record the armed hit's outcome after restart: %v", err)
	}
	select {
	case o := <-waitOutcome(rec, "hit-armed"):
		if o.Outcome != OutcomeConfirmed || o.Officer != "anna" {
			t.Fatalf("outcome %+v", o)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no outcome recorded for the armed hit after the restart")
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(400, 800)); err != nil {
		t.Fatal(err)
	}
	checkAccessibility(t, ctx, axe, "on a narrow screen")
}

// waitOutcome delivers the outcome recorded for hit id.
func waitOutcome(rec *fakeRecorder, id string) <-chan OutcomeRecord {
	ch := make(chan OutcomeRecord, 1)
	go func() {
		for i := 0; i < 100; i++ {
			for _, o := range rec.Outcomes() {
				if o.HitID == id {
					ch <- o
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return ch
}
