package post

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/agent/config"
	"github.com/borderpost/borderpost/devices"
)

// scrape returns the metrics text the agent serves.
func scrape(t *testing.T, a *Agent) string {
	t.Helper()
	rec := httptest.NewRecorder()
	a.metrics.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// Device names come from whoever sends a check; made up by the thousand,
// they must not become series: only configured names are labels, the rest
// count as "other".
func TestMetricsDeviceLabelsBounded(t *testing.T) {
	cfg := seedReplica(t)
	cfg.Devices.ANPR.Device = "anpr-gate-a"
	cfg.Metrics.Devices = []string{"scanner-1"}
	a, _ := serveAgent(t, cfg)
	ctx := context.Background()
	const madeUp = 300
	for i := range madeUp {
		c := devices.Check{Device: fmt.Sprintf("made-up-%d", i), Items: []devices.Item{{Kind: devices.KindPlate, Value: "X1", Country: "DE"}}}
		if _, err := a.Check(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"anpr-gate-a", "scanner-1"} {
		if _, err := a.Check(ctx, devices.Check{Device: d, Items: []devices.Item{{Kind: devices.KindPlate, Value: "X1", Country: "DE"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Check(ctx, devices.Check{Device: "x", Items: []devices.Item{{Kind: "made-up-kind", Value: "X1"}}}); err != nil {
		t.Fatal(err)
	}
	body := scrape(t, a)
	series := 0
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "borderpost_checks_total{") || strings.HasPrefix(line, "borderpost_hits_total{") {
			series++
		}
	}
	if series > 6 {
		t.Errorf("%d check and hit series after %d made-up device names, want at most 6 (two configured names and other)", series, madeUp)
	}
	for _, want := range []string{
		fmt.Sprintf(`borderpost_checks_total{device="other"} %d`, madeUp+1),
		`borderpost_checks_total{device="anpr-gate-a"} 1`,
		`borderpost_checks_total{device="scanner-1"} 1`,
		`borderpost_check_duration_seconds_count{kind="other"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "made-up") {
		t.Error("a made-up device name or kind became a label value")
	}
}

// runAgent runs an agent on cfg until the test ends; without a broker in
// cfg it works offline.
func runAgent(t *testing.T, cfg config.Config) *Agent {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	keyFile := filepath.Join(t.TempDir(), "central.pub")
	os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(pub)+"\n"), 0o600)
	cfg.Trust.CentralKeys = []string{keyFile}
	cfg.Sync.CentralHitKey = writeHitKey(t)
	if cfg.MQTT.Broker == "" {
		cfg.MQTT.Broker = "tcp://127.0.0.1:1" // no central
	}
	a, err := New(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); !a.ready.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("agent not ready after 10s")
		}
	}
	return a
}

// /metrics is served on its own listener, not on the one devices reach.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	cfg := seedReplica(t)
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Metrics.Listen = "127.0.0.1:0"
	a := runAgent(t, cfg)
	if code, _ := get(t, "http://"+a.Addr().String()+"/metrics"); code != http.StatusNotFound {
		t.Errorf("devices' listener answers /metrics with %d, want 404", code)
	}
	if a.MetricsAddr() == "" {
		t.Fatal("no metrics listener")
	}
	if code, _ := get(t, "http://"+a.MetricsAddr()+"/metrics"); code != http.StatusOK {
		t.Errorf("metrics listener answers %d", code)
	}
}
