package post

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/store"
	"github.com/borderpost/borderpost/sync/synctest"
)

// seedReplicaIn is seedReplica with the replica and its key in dir. The
// replica is copied sparsely, as bbolt leaves it (its file grows by
// truncation), so that its unused pages take no space on the small disk.
func seedReplicaIn(t *testing.T, dir string, alerts ...store.Alert) {
	t.Helper()
	cfg := seedReplica(t, alerts...)
	for _, f := range []string{cfg.Store.Path, store.JournalPath(cfg.Store.Path), cfg.Store.Key.File} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.OpenFile(filepath.Join(dir, filepath.Base(f)), os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(b); off += 4096 {
			blk := b[off:min(off+4096, len(b))]
			if strings.Trim(string(blk), "\x00") == "" {
				continue
			}
			if _, err := out.WriteAt(blk, int64(off)); err != nil {
				t.Fatal(err)
			}
		}
		if err := out.Truncate(int64(len(b))); err != nil {
			t.Fatal(err)
		}
		out.Close()
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var plateAlert = store.Alert{ID: "veh-1", Version: 1, Action: "seize",
	Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "HH AB 123", PlateCountry: "DE"}}}

// TestFullDiskMakesAgentNotReady: when checks cannot be recorded because
// the disk is full, the devices get errors, and readiness, the status, the
// officers' banner and the metrics all say so and why; once space is freed
// the agent is ready again without a check having to arrive.
func TestFullDiskMakesAgentNotReady(t *testing.T) {
	disk := synctest.SmallDisk(t, "24m")
	seedReplicaIn(t, disk, plateAlert)
	cfg := seedReplica(t)
	cfg.Store.Path, cfg.Store.Key.File = filepath.Join(disk, "replica.db"), filepath.Join(disk, "data.key")
	cfg.Metrics.Devices = []string{"anpr-1"}
	a, srv := serveAgent(t, cfg)
	a.ready.Store(true)
	// Run runs the record probe as one of its components; serveAgent
	// serves the routes alone, so the test runs the probe itself.
	probeCtx, stopProbe := context.WithCancel(context.Background())
	probed := make(chan struct{})
	go func() { defer close(probed); a.probeRecord(probeCtx) }()
	t.Cleanup(func() { stopProbe(); <-probed })
	if code, _ := get(t, srv.URL+"/readyz"); code != http.StatusOK {
		t.Fatalf("readyz before the disk filled: %d", code)
	}
	filler := synctest.FillDisk(t, disk)
	refused := 0
	for i := 0; i < 5000 && refused == 0; i++ {
		code, _ := post(t, srv.URL+"/v1/scans", "application/json", `{"kind":"plate","value":"HH AB 123","country":"D","device":"anpr-1"}`)
		if code != http.StatusOK {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("5000 checks recorded on a full disk: the test did not fill it")
	}
	code, body := get(t, srv.URL+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "disk full: checks cannot be recorded") || !strings.Contains(body, "free space") {
		t.Fatalf("readyz with a full disk: %d %q", code, body)
	}
	_, status := get(t, srv.URL+"/v1/status")
	if !strings.Contains(status, `"ready":false`) || !strings.Contains(status, `"not_ready":"disk full: checks cannot be recorded"`) || !strings.Contains(status, `"remedy":"free space on the disk holding `) {
		t.Fatalf("status with a full disk: %s", status)
	}
	if b := a.Banner(); b.Fault != "disk full: checks cannot be recorded" || b.Remedy == "" {
		t.Fatalf("officers' banner with a full disk: %+v", b)
	}
	metrics := scrape(t, a)
	for _, want := range []string{"borderpost_record_failing 1", "borderpost_ready 0", `borderpost_checks_failed_total{device="anpr-1"}`} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("metrics with a full disk lack %q", want)
		}
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := get(t, srv.URL+"/readyz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("agent not ready 10s after the disk was freed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	metrics = scrape(t, a)
	if !strings.Contains(metrics, "borderpost_record_failing 0") || !strings.Contains(metrics, "borderpost_ready 1") {
		t.Fatal("metrics still show the outage after recovery")
	}
	restored := false
	a.rep.AuditRecords(context.Background(), func(r store.AuditRecord) error {
		restored = restored || r.Event == store.EventRecordRestored
		return nil
	})
	if !restored {
		t.Error("the audit log does not record the end of the outage")
	}
	if code, _ := post(t, srv.URL+"/v1/scans", "application/json", `{"kind":"plate","value":"HH AB 123","country":"D","device":"anpr-1"}`); code != http.StatusOK {
		t.Fatalf("check after recovery: %d", code)
	}
}

// TestAgentStartsOnFullDisk: an agent started while its disk is full
// comes up, serves its health and status, and says why it is not ready;
// it does not exit.
func TestAgentStartsOnFullDisk(t *testing.T) {
	disk := synctest.SmallDisk(t, "24m")
	seedReplicaIn(t, disk, plateAlert)
	cfg := seedReplica(t)
	cfg.Store.Path, cfg.Store.Key.File = filepath.Join(disk, "replica.db"), filepath.Join(disk, "data.key")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Listen = ln.Addr().String()
	cfg.Metrics.Listen = "127.0.0.1:0"
	cfg.Sync.CentralHitKey = writeHitKey(t)
	ln.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0") // a broker that never answers
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	cfg.MQTT.Broker = "tcp://" + dead.Addr().String()
	filler := synctest.FillDisk(t, disk)
	// Use up the replica's own free pages too, as an agent that ran into
	// the full disk did before it was restarted: record until a write
	// fails, reopen (which frees pages of the last transactions), again,
	// until a reopened replica cannot record at all.
	for round := 0; ; round++ {
		rep, err := store.Open(context.Background(), cfg.Store.Path, store.KeyFile{Path: cfg.Store.Key.File}, store.Options{})
		if err != nil {
			t.Fatalf("reopen on a full disk, round %d: %v", round, err)
		}
		n := 0
		for ; n < 100000; n++ {
			if err := rep.Audit(context.Background(), store.AuditRecord{Event: store.EventAgentStart, Ref: "post-test"}); err != nil {
				break
			}
		}
		rep.Close()
		if n == 100000 || round == 50 {
			t.Fatal("the replica keeps recording on a full disk: the test did not fill it")
		}
		if n == 0 {
			break
		}
	}

	a, err := New(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatalf("agent refused to start on a full disk: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select { // already received if the agent exited
		case <-ran:
		case <-time.After(15 * time.Second):
		}
	})
	url := "http://" + cfg.HTTP.Listen
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-ran:
			t.Fatalf("agent exited on a full disk: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("agent did not serve within 10s")
		}
	}
	// Let the start's audit record fail and settle.
	var code int
	var body string
	for time.Now().Before(deadline) {
		select {
		case err := <-ran:
			t.Fatalf("agent exited on a full disk: %v", err)
		default:
		}
		if code, body = get(t, url+"/readyz"); strings.Contains(body, "disk full") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "disk full: checks cannot be recorded") {
		t.Fatalf("readyz on a full disk: %d %q", code, body)
	}
	if code, body := get(t, url+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz on a full disk: %d %q", code, body)
	}
	if _, status := get(t, url+"/v1/status"); !strings.Contains(status, `"not_ready":"disk full`) {
		t.Fatalf("status on a full disk: %s", status)
	}
	select {
	case err := <-ran:
		t.Fatalf("agent exited on a full disk: %v", err)
	default:
	}
	os.Remove(filler)
	for {
		if code, _ := get(t, url+"/readyz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal(fmt.Sprintf("agent not ready after the disk was freed: %s", body))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
