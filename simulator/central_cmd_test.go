package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/simulator/rig"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// syncBuffer is a bytes.Buffer a command writes to while the test reads.
type syncBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCentralCommandAcrossRestart runs the operator's three commands as
// the README gives them: keys, delegate, then central with the 2019 OFAC
// list, and central again, after a stop, with the 2021 list. The second
// run goes on from the first one's sequence and publishes only the
// difference; both agents end with its digest; a third run with the same
// list publishes nothing.
func TestCentralCommandAcrossRestart(t *testing.T) {
	old, cur := sharedData(t, "ofac/sdn_2019-01"), sharedData(t, "ofac/sdn_2021-07")
	dir := t.TempDir()
	t.Setenv("BORDERPOST_KEY_PASSPHRASE", "correct horse battery staple")
	run := func(c interface {
		SetArgs([]string)
		Execute() error
	}, args ...string) {
		t.Helper()
		c.SetArgs(args)
		if err := c.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	run(keysCmd(), "--dir", dir)
	run(delegateCmd(), "--root", filepath.Join(dir, "central.key"), "--out", filepath.Join(dir, "signing.key"), "--days", "1")
	f, err := os.Open(filepath.Join(dir, "central.pub"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := bpsync.ReadPublicKey(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	f, err = os.Open(filepath.Join(dir, "hits.pub"))
	if err != nil {
		t.Fatal(err)
	}
	hitKey, err := bpsync.ReadHitPublicKey(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	broker := synctest.StartMosquitto(t)
	var agents []*rig.Agent
	for i := range 2 {
		agents = append(agents, startAgent(t, rig.AgentOptions{ID: fmt.Sprintf("post-op-%d", i+1), Broker: broker.URL(), CentralKey: root, HitKey: hitKey}))
	}
	published := regexp.MustCompile(`published delta (\d+)/(\d+): (\d+) upserts, (\d+) deletes; the list holds (\d+) alerts, digest ([0-9a-f]{64})`)
	central := func(list string, wantLine *regexp.Regexp) []string {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		out := &syncBuffer{}
		cmd := centralCmd()
		cmd.SetOut(out)
		cmd.SetErr(out)
		cmd.SetArgs([]string{"--broker", broker.URL(), "--key", filepath.Join(dir, "signing.key"), "--data", filepath.Join(dir, "data"), "--ofac", list})
		done := make(chan error, 1)
		go func() { done <- cmd.ExecuteContext(ctx) }()
		var m []string
		waitFor(t, 60*time.Second, "central's first report", func() bool { m = wantLine.FindStringSubmatch(out.String()); return m != nil })
		if len(m) == 7 {
			for _, a := range agents {
				waitFor(t, 60*time.Second, a.Opts.ID+" holds central's digest", func() bool { s, err := a.Status(); return err == nil && s.Digest == m[6] })
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("central: %v\n%s", err, out.String())
		}
		t.Logf("central: %s", strings.SplitN(out.String(), "\n", 2)[0])
		return m
	}
	first := central(old, published)
	second := central(cur, published)
	if first[2] != "1" || second[2] != "2" || second[1] != first[1] {
		t.Errorf("the runs published deltas %s/%s and %s/%s; want 1 then 2 of one epoch", first[1], first[2], second[1], second[2])
	}
	if second[3] == second[5] || second[4] == "0" {
		t.Errorf("the second run published %s upserts and %s deletes for a list of %s: not a difference", second[3], second[4], second[5])
	}
	central(cur, regexp.MustCompile(`the list is unchanged since delta 2`))
}
