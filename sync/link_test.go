package sync

import (
	"bytes"
	"log/slog"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/sync/synctest"
)

// lockedBuffer is a log sink that the link's goroutines may write while
// the test reads it.
type lockedBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A link that cannot reach its broker says so at once, naming the broker,
// and says again when it reaches it: an agent cut off from central must
// not look healthy and silent.
func TestLinkSaysWhenTheBrokerIsUnreachable(t *testing.T) {
	broker := synctest.StartMosquitto(t)
	broker.Kill()
	var logs lockedBuffer
	l, err := Dial(LinkConfig{Broker: broker.URL(), ClientID: "post-unreachable", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(logs.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the link's log within 10 s:\n%s", what, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("cannot reach the MQTT broker")
	if !strings.Contains(logs.String(), broker.Addr()) {
		t.Errorf("the warning does not name the broker %s:\n%s", broker.Addr(), logs.String())
	}
	time.Sleep(2500 * time.Millisecond) // two more attempts: not two more warnings
	if n := strings.Count(logs.String(), "cannot reach the MQTT broker"); n != 1 {
		t.Errorf("%d warnings in 3 s of retries; want 1 until the next reminder", n)
	}
	broker.Restart()
	waitFor("MQTT broker reached")
}
