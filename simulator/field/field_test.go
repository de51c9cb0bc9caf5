package field

import (
	"testing"

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
