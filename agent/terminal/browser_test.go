package terminal

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// artefactDir returns where the browser test leaves its screenshots:
// $BORDERPOST_ARTEFACTS, or borderpost-artefacts in the system's temporary
// folder, one sub-folder per test. t.TempDir would delete them.
func artefactDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("BORDERPOST_ARTEFACTS")
	if base == "" {
		base = os.Getenv("TEST_ARTIFACTS")
	}
	if base == "" {
		base = filepath.Join(os.TempDir(), "borderpost-artefacts")
	}
	dir := filepath.Join(base, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// browser starts headless Chromium. It fails, never skips, without it:
// the officer's page is only tested in a real browser.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s not found: the terminal's browser test needs Debian's chromium package; run `make test` as root, which installs it (%v)", chromiumPath, err)
	}
	// Not t.TempDir: Chromium's helpers may still be writing their profile
	// when the test ends, and a failed clean-up must not fail the test.
	profile, err := os.MkdirTemp("", "borderpost-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 1100),
	}
	// The deadline only stops a hung browser from hanging the suite.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return bctx
}

// screenshot saves the whole page as a PNG.
func screenshot(dir, name string) chromedp.Action[chromedp.Void] {
	shot := chromedp.FullScreenshot(100)
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		png, err := shot(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name), png, 0o644)
	})
}

// text reads an element's visible text.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// nameHit is a hit on a wanted person, with a token-level explanation.
func nameHit() Hit {
	h := testHit("hit-live-1", "border")
	h.Field, h.ItemKind = "consignee.name", "person"
	h.Raw, h.Value, h.Country = "Ivan PETROFF", "ivan petroff", ""
	h.Match, h.Score = "fuzzy", 0.91
	h.Action = "Discreet check: do not alert the subject"
	h.Category = "art36-discreet-check"
	h.Warnings = []string{"armed", "escape risk"}
	h.Explanation = "alert name \"ivan petrov\" (1 of 2)"
	h.Name = &NameMatch{AlertName: "ivan petrov",
		Pairs: []TokenMatch{{Query: "ivan", Alert: "ivan", Method: "exact", Similarity: 1},
			{Query: "petroff", Alert: "petrov", Method: "skeleton", Similarity: 0.89}},
		Evidence: []NameFactRow{{Field: "birth_date", Query: "1971", Alert: "1971-03-02", Effect: "agrees"}}}
	return h
}

func TestBrowserOfficerFlow(t *testing.T) {
	r := newRig(t, testConfig(), false)
	r.state.b = Banner{LinkUp: false, LinkDownSince: r.clock.Now().Add(-41 * time.Minute), ReplicaVersion: "epoch 3, delta 1207",
		ReplicaAsOf: r.clock.Now().Add(-50 * time.Minute), OutboxDepth: 2,
		Stale: true, StaleReason: "central's watch-list head expired 20 minutes ago",
		Fault: "disk full: checks cannot be recorded", Remedy: "free space on the disk holding /var/lib/borderpost/replica.db"}
	dir := artefactDir(t)
	ctx := browser(t)

	err := chromedp.Do(ctx,
		chromedp.Navigate(r.srv.URL),
		chromedp.WaitVisible(chromedp.ID("login-name")),
		chromedp.SendKeys(chromedp.ID("login-name"), "anna"),
		chromedp.SendKeys(chromedp.ID("login-password"), testPassword),
		screenshot(dir, "01-login.png"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("work")),
		chromedp.WaitVisible(chromedp.CSS("#live-state.ok")), // the stream is open
		screenshot(dir, "02-logged-in.png"),
	)
	if err != nil {
		t.Fatalf("log in: %v", err)
	}
	if s := text(t, ctx, "#live-state"); s != "live" {
		t.Fatalf("live state %q", s)
	}
	banners := text(t, ctx, "#banners")
	if !strings.Contains(banners, "LINK TO CENTRAL DOWN since 07:19:00 UTC (41 min)") || !strings.Contains(banners, "confirmed current 50 min ago") ||
		!strings.Contains(banners, "WATCH LIST MAY BE OUT OF DATE: central's watch-list head expired 20 minutes ago") ||
		!strings.Contains(banners, "CHECKS NOT RECORDED: disk full: checks cannot be recorded") || !strings.Contains(banners, "free space on the disk holding") {
		t.Fatalf("banners: %q", banners)
	}

	// A hit published after login appears without a reload.
	r.t.Publish(nameHit())
	sel := `.hit[data-id="hit-live-1"]`
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel)), screenshot(dir, "03-hit-arrived.png")); err != nil {
		t.Fatalf("live hit: %v", err)
	}
	cardText := text(t, ctx, sel)
	for _, want := range []string{"DISCREET CHECK", "WARNING: ARMED · ESCAPE RISK", "Waiting for your outcome", "Read: Name Ivan PETROFF"} {
		if !strings.Contains(strings.ToUpper(cardText), strings.ToUpper(want)) {
			t.Errorf("card %q lacks %q", cardText, want)
		}
	}

	// Open its explanation.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(sel+" button.open")),
		chromedp.WaitVisible(chromedp.CSS("#detail-body details.how summary")),
		chromedp.Click(chromedp.CSS("#detail-body details.how summary")),
		chromedp.WaitVisible(chromedp.CSS("#detail-body table.tokens")),
		screenshot(dir, "04-explanation.png"),
	)
	if err != nil {
		t.Fatalf("explanation: %v", err)
	}
	explain := text(t, ctx, "#detail-body")
	for _, want := range []string{"Ivan PETROFF", "petroff", "petrov", "skeleton", "0.89", "birth date: read 1971, alert 1971-03-02: agrees"} {
		if !strings.Contains(explain, want) {
			t.Errorf("explanation lacks %q:\n%s", want, explain)
		}
	}
	if v := r.rec.Events(EventHitView); len(v) != 1 || v[0].Ref != "hit-live-1" {
		t.Fatalf("view audit records %+v", v)
	}

	// Acknowledge it, keyboard first: '2' picks "false match".
	err = chromedp.Do(ctx,
		chromedp.Focus(chromedp.ID("detail")),
		chromedp.KeyEvent("2"),
		chromedp.SendKeys(chromedp.ID("ack-remark"), "different birth date on passport"),
		chromedp.Click(chromedp.ID("ack-submit")),
		chromedp.WaitVisible(chromedp.ID("ack-done")),
		chromedp.WaitReady(chromedp.CSS(sel+".settled")), // hidden: the list shows open hits only
		screenshot(dir, "05-acknowledged.png"),
	)
	if err != nil {
		t.Fatalf("acknowledge: %v", err)
	}
	var got OutcomeRecord
	select {
	case got = <-r.rec.got:
	case <-ctx.Done():
		t.Fatal("no outcome reached the recorder")
	}
	if got.HitID != "hit-live-1" || got.Outcome != OutcomeFalseMatch || got.Remark != "different birth date on passport" || got.Officer != "anna" {
		t.Fatalf("outcome %+v", got)
	}
	if done := text(t, ctx, "#ack-done"); !strings.Contains(done, "false match by anna") {
		t.Fatalf("page says %q", done)
	}

	// A manual check by plate, answered "no hit", audited.
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("check-kind"), "plate"),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`document.getElementById("check-kind").dispatchEvent(new Event("change"))`)(ctx, tg)
			return err
		}),
		chromedp.SendKeys(chromedp.ID("check-value"), "B-AB 123"),
		chromedp.SendKeys(chromedp.ID("check-country"), "D"),
		chromedp.Click(chromedp.ID("check-submit")),
		chromedp.WaitVisible(chromedp.CSS("#check-result p.ok")),
		screenshot(dir, "06-manual-check.png"),
	)
	if err != nil {
		t.Fatalf("manual check: %v", err)
	}
	result := text(t, ctx, "#check-result")
	checks := r.checker.Checks()
	if !strings.Contains(result, "NO HIT") || len(checks) != 1 || checks[0].Items[0].Value != "BAB123" || checks[0].Items[0].Country != "DE" {
		t.Fatalf("manual check: page %q, checks %+v", result, checks)
	}
	if a := r.rec.Events(EventManualCheck); len(a) != 1 || a[0].Ref != checks[0].ID {
		t.Fatalf("manual check audit %+v", a)
	}
}
