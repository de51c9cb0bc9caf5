package field

import (
	"context"
	"testing"
	"time"

	"github.com/borderpost/borderpost/simulator/watchlist"
)

func TestPlannerPlantsExactly(t *testing.T) {
	alerts := watchlist.NewGenerator(1, watchlist.DefaultMix).Alerts(500)
	for _, c := range []struct{ scans, planted int }{{2000, 100}, {1000, 7}, {10, 10}, {997, 0}} {
		next, err := planner(Config{RunID: "t", Scans: c.scans, Planted: c.planted, Alerts: alerts})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i := range c.scans {
			if next(i).alert != "" {
				n++
			}
		}
		if n != c.planted {
			t.Errorf("%d scans, %d planted: planner planted %d", c.scans, c.planted, n)
		}
	}
}

// A sender that fell behind its schedule (a busy machine) sends the late
// reads at once instead of dropping them, so the rate a run reports is
// the agent's, not the sender's; one ahead of its schedule waits.
func TestPacerCatchesUp(t *testing.T) {
	p := newPacer(time.Now().Add(-time.Second), 1000)
	for i := range 1000 { // all due already
		if err := p.wait(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	if p.timer != nil {
		t.Fatal("the pacer slept although every read was late")
	}
	if got, want := p.due(500).Sub(p.start), 500*time.Millisecond; got != want {
		t.Fatalf("read 500 due %v after the start, want %v", got, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := newPacer(time.Now(), 1).wait(ctx, 10); err == nil {
		t.Fatal("a read due in 10 s went at once although the run was cancelled")
	}
}
