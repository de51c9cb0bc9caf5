package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/borderpost/borderpost/simulator/central"
	"github.com/borderpost/borderpost/store"
	"github.com/borderpost/borderpost/sync/synctest"
)

// Started before its broker, central says within a couple of seconds what
// it waits for, instead of sitting silent until Ctrl-C.
func TestCentralSaysItWaitsForTheBroker(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BORDERPOST_KEY_PASSPHRASE", "")
	keys := keysCmd()
	keys.SetArgs([]string{"--dir", dir})
	keys.SetOut(&syncBuffer{})
	if err := keys.Execute(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	broker := "tcp://" + ln.Addr().String()
	ln.Close() // no broker there
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	cmd := centralCmd()
	cmd.SetOut(out)
	cmd.SetErr(out)
	cmd.SetArgs([]string{"--broker", broker, "--key", filepath.Join(dir, "central.key")})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	want := "waiting up to 30 s for the broker at " + broker + "; is it running?"
	waitFor(t, 5*time.Second, "central to say it waits for the broker", func() bool { return strings.Contains(out.String(), want) })
	cancel()
	<-done
}

// Under the name borderpost-central the binary is central's tool: central
// itself with the operator's other commands beneath it.
func TestCentralToolByName(t *testing.T) {
	root := rootFor("/usr/bin/borderpost-central")
	if root.Name() != "borderpost-central" {
		t.Fatalf("the central tool's root is %q", root.Name())
	}
	for _, sub := range []string{"keys", "delegate", "acl", "export", "diff", "fleet"} {
		if c, _, err := root.Find([]string{sub}); err != nil || c == root {
			t.Errorf("borderpost-central has no %s command", sub)
		}
	}
	if rootFor("bin/simulator").Name() != "simulator" {
		t.Error("the simulator's own name does not give the simulator")
	}
}

// No flag's help is mangled: the flag library takes a back-quoted word in
// a usage string for the value's name ("--key simulator keys").
func TestFlagHelpRendersAsWritten(t *testing.T) {
	for _, root := range []*cobra.Command{rootFor("simulator"), rootFor("borderpost-central")} {
		forEachFlag(root, func(c *cobra.Command, f *pflag.Flag) {
			if strings.Contains(f.Usage, "`") {
				t.Errorf("%s --%s: usage %q has back quotes, shown as the value's name", c.CommandPath(), f.Name, f.Usage)
			}
		})
	}
}

func forEachFlag(c *cobra.Command, do func(*cobra.Command, *pflag.Flag)) {
	c.LocalFlags().VisitAll(func(f *pflag.Flag) { do(c, f) })
	for _, sub := range c.Commands() {
		forEachFlag(sub, do)
	}
}

// The demo, run for a set time: it says it stops by itself (not "Ctrl-C"),
// labels the match column, prints a running count of scans, and ends with
// nothing lost.
func TestDemoForADuration(t *testing.T) {
	out := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()
	err := runDemo(ctx, out, demoOptions{agentBin: agentBinary, alerts: 300, rate: 40, share: 0.2, duration: 12 * time.Second, every: time.Second})
	text := out.String()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, text)
	}
	for _, want := range []string{"(stops by itself after 12s)", " match: ", " scans so far, ", "lost: 0"} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo does not say %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Ctrl-C") {
		t.Errorf("a demo with a duration says Ctrl-C:\n%s", text)
	}
}

// Officers' manual checks are hits at central too: the demo's summary
// counts them apart instead of reporting the difference as a negative
// number of lost hits.
func TestDemoTallyCountsManualChecksApart(t *testing.T) {
	var tally demoTally
	for _, id := range []string{"demo-000001", "demo-000002", "manual-7f3a", "demo-000003", "manual-9b1c", "mrz-1796000000-1"} {
		tally.add(store.Hit{CheckID: id})
	}
	s, lost := tally.summary(100, 3, 1, 0)
	if lost != 0 || !strings.Contains(s, "4 hits at the post (1 of them at the passport and declaration booth), 4 delivered to central") || !strings.Contains(s, "lost: 0; and 2 from officers' manual checks") {
		t.Errorf("summary %q, lost %d", s, lost)
	}
	if _, lost := tally.summary(100, 5, 1, 0); lost != 2 {
		t.Errorf("two of the scanners' hits missing counted as %d lost", lost)
	}
}

// fakeFleet is central as the fleet report sees it.
type fakeFleet struct {
	connected bool
	statuses  map[string]time.Time // agent -> last status
}

func (f fakeFleet) Connected() bool { return f.connected }

func (f fakeFleet) Fleet(now time.Time, silentAfter time.Duration) []central.AgentView {
	var vs []central.AgentView
	for id, seen := range f.statuses {
		vs = append(vs, central.AgentView{Agent: id, Link: "online", LastSeen: seen, InStep: true, Silent: now.Sub(seen) > silentAfter})
	}
	return vs
}

// When central itself has lost the broker the fleet view says so and
// shows the agents as central last saw them, instead of marking every one
// SILENT; an agent silent while central is connected is still marked.
func TestFleetReportWhenCentralLostTheBroker(t *testing.T) {
	lost := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	now := lost.Add(5 * time.Minute)
	f := fakeFleet{statuses: map[string]time.Time{"post-1": lost.Add(-5 * time.Second)}}
	var out strings.Builder
	writeFleetReport(&out, f, "ssl://central.example:8883", lost, now, time.Minute)
	if !strings.Contains(out.String(), "CENTRAL HAS LOST THE BROKER at ssl://central.example:8883 5m0s ago") || strings.Contains(out.String(), "SILENT") {
		t.Errorf("central without the broker:\n%s", out.String())
	}
	f.connected = true
	out.Reset()
	writeFleetReport(&out, f, "ssl://central.example:8883", now, now, time.Minute)
	if strings.Contains(out.String(), "LOST THE BROKER") || !strings.Contains(out.String(), "SILENT") {
		t.Errorf("an agent silent for 5 minutes while central is connected:\n%s", out.String())
	}
}

// Central's live log says which read a hit is on in words.
func TestFieldWords(t *testing.T) {
	for in, want := range map[string]string{"manual.name": "an officer's manual check of a name", "plate": "the plate", "ens.consignee.name": "the ens consignee name"} {
		if got := fieldWords(in); got != want {
			t.Errorf("fieldWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// Central's live log says an officer's outcome in words, without the
// officer's account or remark.
func TestOutcomeWords(t *testing.T) {
	got := outcomeWords(store.Outcome{Outcome: "false-match", Officer: "anna", Role: "officer", Remark: "namesake, born 1971"})
	if got != "a false match: not the alert's subject, by an officer" {
		t.Errorf("outcomeWords: %q", got)
	}
	if strings.Contains(got, "anna") || strings.Contains(got, "1971") {
		t.Errorf("the live log shows the officer or the remark: %q", got)
	}
}

// `export` works while central runs: hits.db is locked by central, which
// writes the export itself over its socket in the data folder.
func TestExportWhileCentralRuns(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BORDERPOST_KEY_PASSPHRASE", "")
	keys := keysCmd()
	keys.SetArgs([]string{"--dir", dir})
	keys.SetOut(&syncBuffer{})
	if err := keys.Execute(); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o700)
	hs, err := central.OpenHitStore(filepath.Join(data, "hits.db"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		h := store.Hit{ID: fmt.Sprintf("h%d", i+1), Seq: uint64(i + 1), CheckID: "c", Field: "plate", ItemKind: "plate", AlertID: "A1", Match: "exact"}
		if _, _, _, _, err := hs.Store("post-1", 0, []store.Hit{h}); err != nil {
			t.Fatal(err)
		}
	}
	hs.Close()

	broker := synctest.StartMosquitto(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	cmd := centralCmd()
	cmd.SetOut(out)
	cmd.SetErr(out)
	cmd.SetArgs([]string{"--broker", broker.URL(), "--key", filepath.Join(dir, "central.key"), "--data", data, "--alerts", "10"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	waitFor(t, 30*time.Second, "central publishing", func() bool { return strings.Contains(out.String(), "published delta") })

	exported := &syncBuffer{}
	exp := exportCmd()
	exp.SetOut(exported)
	exp.SetErr(&syncBuffer{})
	exp.SetArgs([]string{"--data", data})
	if err := exp.Execute(); err != nil {
		t.Fatalf("export while central runs: %v", err)
	}
	if lines := strings.Count(exported.String(), "\n"); lines != 3 || !strings.Contains(exported.String(), `"hit_id":"h2"`) {
		t.Errorf("exported %d lines, want 3:\n%s", lines, exported.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("central: %v", err)
	}
	// Stopped, central leaves no socket, and export reads the file itself.
	if _, err := os.Stat(filepath.Join(data, exportSocket)); err == nil {
		t.Error("central left its export socket behind")
	}
	exported = &syncBuffer{}
	exp = exportCmd()
	exp.SetOut(exported)
	exp.SetErr(&syncBuffer{})
	exp.SetArgs([]string{"--data", data})
	if err := exp.Execute(); err != nil || strings.Count(exported.String(), "\n") != 3 {
		t.Errorf("export with central stopped: %v\n%s", err, exported.String())
	}
}
