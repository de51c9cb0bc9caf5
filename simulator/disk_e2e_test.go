package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/borderpost/borderpost/simulator/central"
	"github.com/borderpost/borderpost/simulator/rig"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/sync/synctest"
)

// readyz returns /readyz's status code and body.
func readyz(url string) (int, string) {
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEndToEndFullDisk replays issue 15's measurement on a small scale: a
// real agent with its replica on a 32 MB tmpfs, the disk filled. Checks
// fail and the agent says so (not ready, with the reason); central's next
// delta cannot be applied, and the replica is reported stale with the disk
// as the cause instead of staying green; the agent's resync requests back
// off and central does not send the same delta over and over; restarted
// on the full disk the agent comes up and says why it is not ready
// instead of exiting; once space is freed it is ready again and catches
// up.
func TestEndToEndFullDisk(t *testing.T) {
	disk := synctest.SmallDisk(t, "32m")
	pub, signer := delegatedSigner(t)
	broker := synctest.StartMosquitto(t)
	c := startCentral(t, central.Config{Broker: broker.URL(), Signer: signer})
	a, err := rig.Prepare(rig.AgentOptions{Binary: agentBinary, Dir: disk, ID: "post-disk", Broker: broker.URL(), CentralKey: pub, HitKey: c.HitPublicKey(),
		Output: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Kill)
	gen := watchlist.NewGenerator(15, watchlist.DefaultMix)
	if _, err := c.Publish(gen.Alerts(2000), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "agent holds the first delta", func() bool { s, err := a.Status(); return err == nil && s.Seq == 1 })

	filler, err := os.Create(filepath.Join(disk, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for {
		if _, err := filler.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	filler.Close()
	failed := 0
	for i := 0; i < 20000 && failed == 0; i++ {
		resp, err := http.Post(a.URL+"/v1/scans", "application/json", strings.NewReader(`{"kind":"plate","value":"B123XYZ","country":"DE","device":"gate-1"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("20000 checks recorded on a full disk: the test did not fill it")
	}
	if code, body := readyz(a.URL); code != http.StatusServiceUnavailable || !strings.Contains(body, "disk full") {
		t.Fatalf("readyz once checks fail: %d %q", code, body)
	}
	if s, _ := a.Status(); s.Ready || s.NotReady != "disk full: checks cannot be recorded" {
		t.Fatalf("status once checks fail: ready=%v not_ready=%q", s.Ready, s.NotReady)
	}

	// Central moves on with a delta the full disk cannot take.
	before := c.Stats()
	if _, err := c.Publish(gen.Alerts(4000), nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, 50*time.Second, "the replica stuck behind reported stale with the disk as the cause", func() bool {
		s, err := a.Status()
		return err == nil && s.Seq == 1 && s.Fresh.Stale && strings.Contains(s.Fresh.Reason, "no space left on device")
	})
	staleAfter := time.Since(start)
	time.Sleep(max(0, 40*time.Second-staleAfter))
	st := c.Stats()
	resent, limited, bytes := st.Resyncs-before.Resyncs, st.ReplaysLimited-before.ReplaysLimited, st.ReplayBytes-before.ReplayBytes
	t.Logf("stale after %s; in %s central answered %d resync requests (%d KiB replayed), refused %d as repeats",
		staleAfter.Round(time.Second), time.Since(start).Round(time.Second), resent, bytes>>10, limited)
	if resent > 4 {
		t.Errorf("central replayed the stuck delta %d times in 40s; the backoff and the replay window allow at most 4", resent)
	}

	// Restarted on the full disk, the agent comes up and says why it is
	// not ready.
	a.Stop()
	if err := a.StartServing(context.Background()); err != nil {
		t.Fatalf("agent restarted on a full disk: %v", err)
	}
	waitFor(t, 10*time.Second, "the restarted agent says the disk is full", func() bool {
		code, body := readyz(a.URL)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "disk full")
	})
	time.Sleep(3 * time.Second)
	if resp, err := http.Get(a.URL + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the agent restarted on a full disk no longer serves: %v", err)
	} else {
		resp.Body.Close()
	}

	// Space freed: ready again, and it catches up with central.
	os.Remove(filepath.Join(disk, "filler"))
	waitFor(t, 10*time.Second, "agent ready once space is freed", func() bool { code, _ := readyz(a.URL); return code == http.StatusOK })
	waitFor(t, 60*time.Second, "agent caught up with central", func() bool {
		s, err := a.Status()
		return err == nil && s.Seq == 2 && !s.Fresh.Stale
	})
}
