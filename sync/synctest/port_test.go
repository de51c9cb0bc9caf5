package synctest

import "testing"

// The kernel's ephemeral range is where outgoing connections and ":0"
// listeners get their ports; a restartable broker's port must not be in it.
func TestPickPortStaysOutOfTheEphemeralRange(t *testing.T) {
	lo, hi := pickRange()
	seen := map[int]bool{}
	for range 50 {
		p := FreePort(t)
		if p < lo || p >= hi {
			t.Fatalf("port %d outside %d-%d", p, lo, hi-1)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
	if hi > 32768 {
		t.Fatalf("pick range ends at %d, inside the default ephemeral range", hi)
	}
}
