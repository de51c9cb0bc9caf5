package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
