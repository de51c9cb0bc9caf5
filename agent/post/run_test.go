package post

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/borderpost/borderpost/agent/config"
	"github.com/borderpost/borderpost/agent/terminal"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
	"github.com/borderpost/borderpost/sync/synctest"
)

// Every test of the package ends with no goroutine of the agent left.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// runnable completes cfg so that Run can start it offline: a trusted
// central key, no reachable broker, every listener on loopback.
func runnable(t *testing.T, cfg config.Config) config.Config {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	keyFile := filepath.Join(t.TempDir(), "central.pub")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(pub)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Trust.CentralKeys = []string{keyFile}
	cfg.Sync.CentralHitKey = writeHitKey(t)
	cfg.MQTT.Broker = "tcp://127.0.0.1:1" // no central: the post works offline
	cfg.HTTP.Listen = freeAddr(t)
	return cfg
}

// withEveryDevice turns on every device listener, the ENS spool and the
// officers' page.
func withEveryDevice(t *testing.T, cfg config.Config) config.Config {
	t.Helper()
	dir := t.TempDir()
	cfg.Devices.ENS.HTTP.Listen = freeAddr(t)
	cfg.Devices.ENS.Spool.Dir = filepath.Join(dir, "spool")
	cfg.Devices.ENS.Spool.Interval = 20 * time.Millisecond
	cfg.Devices.ENS.MQTT.Broker = "tcp://127.0.0.1:1" // no local broker: the feed keeps trying
	cfg.Devices.ENS.MQTT.Topic = "post/ens/in"
	cfg.Devices.ANPR.Listen = freeAddr(t)
	cfg.Devices.MRZ.Listen = freeAddr(t)
	cfg.Terminal.Listen = freeAddr(t)
	cfg.Terminal.Users = filepath.Join(dir, "users")
	if err := os.WriteFile(cfg.Terminal.Users, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func freeAddr(t *testing.T) string {
	return net.JoinHostPort("127.0.0.1", itoa(synctest.FreePort(t)))
}

func itoa(n int) string { return strconv.Itoa(n) }

// startRun runs a on cfg in the background and returns Run's result.
func startRun(ctx context.Context, a *Agent) <-chan error {
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return done
}

// waitRun returns Run's result, failing the test if Run does not return.
func waitRun(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return within 20 s")
		return nil
	}
}

// waitReady polls /readyz until the agent answers ready.
func waitReady(t *testing.T, addr string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("Run ended before the agent was ready: %v", err)
		default:
		}
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the agent was not ready within 10 s")
}

// refused fails the test unless nothing listens on addr any more.
func refused(t *testing.T, what, addr string) {
	t.Helper()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections on %s after Run returned", what, addr)
	}
}

// At shutdown every component ends and Run returns only after all have:
// no goroutine is left blocked or running on the closed replica.
func TestRunLeavesNoGoroutineAtShutdown(t *testing.T) {
	cfg := withEveryDevice(t, runnable(t, seedReplica(t)))
	before := goleak.IgnoreCurrent()
	a, err := New(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startRun(ctx, a)
	waitReady(t, cfg.HTTP.Listen, done)
	cancel()
	if err := waitRun(t, done); err != nil {
		t.Fatalf("Run after a clean stop: %v", err)
	}
	goleak.VerifyNone(t, before)
	for what, addr := range map[string]string{"http": cfg.HTTP.Listen, "ENS HTTP": cfg.Devices.ENS.HTTP.Listen,
		"ANPR": cfg.Devices.ANPR.Listen, "MRZ": cfg.Devices.MRZ.Listen, "terminal": cfg.Terminal.Listen} {
		refused(t, what, addr)
	}
}

// A device that fails stops every other component: Run returns its error,
// and nothing serves on the closed replica any more.
func TestRunStopsEverythingWhenADeviceFails(t *testing.T) {
	cfg := withEveryDevice(t, runnable(t, seedReplica(t)))
	// The spool directory cannot be made under a regular file: the spool
	// fails at its first poll.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Devices.ENS.Spool.Dir = filepath.Join(blocker, "spool")
	before := goleak.IgnoreCurrent()
	a, err := New(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	err = waitRun(t, startRun(context.Background(), a))
	if err == nil || !strings.Contains(err.Error(), "spool") {
		t.Fatalf("Run returned %v; want the spool's failure", err)
	}
	goleak.VerifyNone(t, before)
	for what, addr := range map[string]string{"http": cfg.HTTP.Listen, "ENS HTTP": cfg.Devices.ENS.HTTP.Listen,
		"ANPR": cfg.Devices.ANPR.Listen, "MRZ": cfg.Devices.MRZ.Listen, "terminal": cfg.Terminal.Listen} {
		refused(t, what, addr)
	}
}

// A listener that cannot be bound fails Run with its error, and leaves
// none of the others serving.
func TestRunFailsWhenAListenerCannotBind(t *testing.T) {
	cfg := withEveryDevice(t, runnable(t, seedReplica(t)))
	cfg.Devices.ENS.Spool.Dir = ""
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg.Devices.MRZ.Listen = taken.Addr().String()
	before := goleak.IgnoreCurrent()
	a, err := New(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	err = waitRun(t, startRun(context.Background(), a))
	if err == nil || !strings.Contains(err.Error(), "devices.mrz.listen") {
		t.Fatalf("Run returned %v; want the MRZ listener's failure", err)
	}
	goleak.VerifyNone(t, before)
	for what, addr := range map[string]string{"http": cfg.HTTP.Listen, "ENS HTTP": cfg.Devices.ENS.HTTP.Listen,
		"ANPR": cfg.Devices.ANPR.Listen, "terminal": cfg.Terminal.Listen} {
		refused(t, what, addr)
	}
}

// Hits checked while Run starts are on the officers' page: the page is in
// place before any device is answered, so no hit misses it, and no check
// reads it while Run sets it (run with -race).
func TestHitsCheckedWhileRunStartsReachTheTerminal(t *testing.T) {
	cfg := runnable(t, seedReplica(t, store.Alert{ID: "veh-1", Version: 1, Action: "seize", Purposes: []string{"border"},
		Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "HHAB123", PlateCountry: "DE"}}}))
	cfg.Terminal.Listen = freeAddr(t)
	cfg.Terminal.Users = filepath.Join(t.TempDir(), "users")
	cfg.Terminal.Purposes = map[terminal.Role][]string{terminal.RoleOfficer: {"border"}}
	const password = "correct horse battery staple"
	hash, err := terminal.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	// A long users file keeps the page's start busy while checks arrive.
	var users strings.Builder
	for i := range 40000 {
		fmt.Fprintf(&users, "{\"name\":\"officer-%d\",\"role\":\"officer\",\"hash\":%q}\n", i, hash)
	}
	if err := os.WriteFile(cfg.Terminal.Users, []byte(users.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// A logger without a lock of its own: the text handler's mutex would
	// order the checks' log lines and Run's, and hide a race from -race.
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const want = 20
	hitIDs := make(chan string, want)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Post("http://"+cfg.HTTP.Listen+"/v1/scans", "application/json",
					strings.NewReader(`{"kind":"plate","value":"HHAB123","country":"DE","device":"anpr-1"}`))
				if err != nil {
					continue // not listening yet
				}
				var res devices.Result
				json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				if len(res.Hits) == 1 {
					select {
					case hitIDs <- res.Hits[0].ID:
					default:
					}
				}
			}
		}()
	}
	done := startRun(ctx, a)
	var ids []string
	for len(ids) < want {
		select {
		case id := <-hitIDs:
			ids = append(ids, id)
		case err := <-done:
			t.Fatalf("Run ended: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d checks answered within 10 s, want %d", len(ids), want)
		}
	}
	close(stop)
	wg.Wait()
	waitReady(t, cfg.HTTP.Listen, done)

	jar, _ := cookiejar.New(nil)
	page := &http.Client{Jar: jar}
	base := "http://" + cfg.Terminal.Listen
	var sess struct {
		CSRF string `json:"csrf"`
	}
	resp, err := page.Get(base + "/api/session")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	req, _ := http.NewRequest("POST", base+"/api/login", strings.NewReader(`{"name":"officer-0","password":"`+password+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", sess.CSRF)
	if resp, err = page.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("terminal login: %d", resp.StatusCode)
	}
	missing := 0
	for _, id := range ids {
		resp, err := page.Get(base + "/api/hits/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of the first %d hits are not on the officers' page", missing, len(ids))
	}
	cancel()
	if err := waitRun(t, done); err != nil {
		t.Fatal(err)
	}
}
