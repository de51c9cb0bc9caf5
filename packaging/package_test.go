//go:build package

package packaging

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/borderpost/borderpost/simulator/central"
	"github.com/borderpost/borderpost/simulator/field"
	"github.com/borderpost/borderpost/simulator/watchlist"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// Test versions carry "~pkgtest" so that a leftover from an interrupted run
// is recognised and purged, and nothing else ever is.
const (
	oldVersion = "0.0.1~pkgtest1"
	newVersion = "0.0.1~pkgtest2"
	testCommit = "0123456789abcdef0123456789abcdef01234567"
)

// builds are the output folders of packaging/build.sh made once by TestMain:
// two of the same commit and version (reproducibility), one newer (upgrade).
var builds struct{ a, b, newer string }

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "packaging tests install packages: run them as root (make test-package)")
			os.Exit(1)
		}
		fmt.Println("packaging tests skipped: they install packages and must run as root (make test-package)")
		os.Exit(0)
	}
	tmp, err := os.MkdirTemp("", "borderpost-package-")
	if err != nil {
		panic(err)
	}
	code := func() int {
		// The tools are built once, so that the second build can start
		// from an empty Go build cache without rebuilding them.
		tools := filepath.Join(tmp, "tools")
		for _, tool := range []string{nfpmModule, cdxModule} {
			install := exec.Command("go", "install", tool)
			install.Env = append(os.Environ(), "GOBIN="+tools)
			if out, err := install.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "go install %s: %v\n%s", tool, err, out)
				return 1
			}
		}
		env := []string{"NFPM=" + filepath.Join(tools, "nfpm"), "CDX=" + filepath.Join(tools, "cyclonedx-gomod")}
		builds.a, builds.b, builds.newer = filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), filepath.Join(tmp, "newer")
		for _, b := range []struct {
			out, version, windows string
			env                   []string
		}{
			{builds.a, oldVersion, "1", env},
			// Reproducible means from scratch too: nothing from the first
			// build's cache.
			{builds.b, oldVersion, "1", append(env, "GOCACHE="+filepath.Join(tmp, "gocache"))},
			{builds.newer, newVersion, "0", env},
		} {
			start := time.Now()
			if out, err := build(b.out, b.version, b.windows, b.env...); err != nil {
				fmt.Fprintf(os.Stderr, "build.sh %s: %v\n%s", b.version, err, out)
				return 1
			}
			fmt.Printf("built %s into %s in %s\n", b.version, b.out, time.Since(start).Round(time.Millisecond))
		}
		return m.Run()
	}()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// sourceDateEpoch is the commit's time, as `make package` takes it; a
// fixed date when there is no repository.
func sourceDateEpoch() string {
	out, err := exec.Command("git", "log", "-1", "--format=%ct").Output()
	if s := strings.TrimSpace(string(out)); err == nil && s != "" {
		return s
	}
	return "1764201600"
}

// The tools' versions are build.sh's.
const (
	nfpmModule = "github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2"
	cdxModule  = "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0"
)

func build(out, version, windows string, env ...string) ([]byte, error) {
	cmd := exec.Command("sh", "build.sh")
	cmd.Env = append(os.Environ(), "OUT="+out, "VERSION="+version, "COMMIT="+testCommit,
		"SOURCE_DATE_EPOCH="+sourceDateEpoch(), "WINDOWS="+windows, "GOARCH=amd64")
	cmd.Env = append(cmd.Env, env...)
	return cmd.CombinedOutput()
}

func deb(dir, version string) string {
	return filepath.Join(dir, "borderpost_"+version+"_amd64.deb")
}

func sum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestReproducibleBuild: two builds of one commit give byte-identical
// binaries, package, SBOM and (unsigned) Windows executable, and the
// binary carries the version, the commit and the commit's date.
func TestReproducibleBuild(t *testing.T) {
	for _, rel := range []string{
		"stage/borderpost",
		"stage-windows/borderpost.exe",
		"borderpost_" + oldVersion + "_amd64.deb",
		"borderpost_" + oldVersion + "_amd64.cdx.json",
	} {
		a, b := sum(t, filepath.Join(builds.a, rel)), sum(t, filepath.Join(builds.b, rel))
		if a != b {
			t.Errorf("%s differs between two builds of one commit: %s and %s", rel, a, b)
		} else {
			t.Logf("%s: sha256 %s in both builds", rel, a)
		}
	}
	out, err := exec.Command(filepath.Join(builds.a, "stage/borderpost"), "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), oldVersion) || !strings.Contains(string(out), testCommit) {
		t.Errorf("borderpost version: %v %q", err, out)
	}
	strs, _ := os.ReadFile(filepath.Join(builds.a, "stage/borderpost"))
	epoch, _ := strconv.ParseInt(sourceDateEpoch(), 10, 64)
	date := time.Unix(epoch, 0).UTC().Format(time.RFC3339)
	if !bytes.Contains(strs, []byte(date)) {
		t.Errorf("build date %s (from SOURCE_DATE_EPOCH) not stamped into the binary", date)
	}
	root, _ := filepath.Abs("..")
	if bytes.Contains(strs, []byte(root+"/")) || bytes.Contains(strs, []byte("/pkg/mod/")) {
		t.Error("the binary holds a path of the build machine (-trimpath missing?)")
	}
	var bom struct {
		BOMFormat  string `json:"bomFormat"`
		Components []struct {
			Name, Version string
		} `json:"components"`
	}
	b, _ := os.ReadFile(filepath.Join(builds.a, "borderpost_"+oldVersion+"_amd64.cdx.json"))
	if err := json.Unmarshal(b, &bom); err != nil || bom.BOMFormat != "CycloneDX" {
		t.Fatalf("SBOM: %v, format %q", err, bom.BOMFormat)
	}
	found := false
	for _, c := range bom.Components {
		found = found || c.Name == "go.etcd.io/bbolt"
	}
	if !found {
		t.Errorf("SBOM lists %d components but not go.etcd.io/bbolt", len(bom.Components))
	}
}

// TestWindowsSignature: the executable is signed by the build's test
// certificate, a changed byte breaks the signature, and another CA does not
// vouch for it.
func TestWindowsSignature(t *testing.T) {
	exe := filepath.Join(builds.a, "borderpost_"+oldVersion+"_windows_amd64.exe")
	verify := func(ca, path string) (string, error) {
		out, err := exec.Command("osslsigncode", "verify", "-CAfile", ca, "-in", path).CombinedOutput()
		return string(out), err
	}
	caA, caB := filepath.Join(builds.a, "borderpost-test-ca.pem"), filepath.Join(builds.b, "borderpost-test-ca.pem")
	if out, err := verify(caA, exe); err != nil || !strings.Contains(out, "Signature verification: ok") {
		t.Fatalf("signed executable does not verify: %v\n%s", err, out)
	}
	if out, err := verify(caB, exe); err == nil {
		t.Errorf("another build's test CA vouches for the executable:\n%s", out)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/3] ^= 0xff // inside the code, covered by the signed hash
	tampered := filepath.Join(t.TempDir(), "tampered.exe")
	os.WriteFile(tampered, b, 0o644)
	if out, err := verify(caA, tampered); err == nil {
		t.Errorf("a changed executable still verifies:\n%s", out)
	}
}

// TestLintian: the package passes lintian without errors; warnings are
// logged.
func TestLintian(t *testing.T) {
	if _, err := exec.LookPath("lintian"); err != nil {
		t.Fatal("lintian not installed: apt-get install lintian")
	}
	out, err := exec.Command("lintian", "--fail-on", "error", deb(builds.a, oldVersion)).CombinedOutput()
	t.Logf("lintian:\n%s", out)
	if err != nil {
		t.Fatalf("lintian: %v", err)
	}
}

// dpkg runs dpkg, waiting while another package manager holds its lock.
func dpkg(t *testing.T, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		cmd := exec.Command("dpkg", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err == nil {
			return string(out)
		}
		if strings.Contains(string(out), "lock") && time.Now().Before(deadline) {
			time.Sleep(2 * time.Second)
			continue
		}
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// packageStatus is dpkg's abbreviated status ("ii", "rc") or "" when dpkg
// does not know the package.
func packageStatus() (status, version string) {
	out, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Version}", "borderpost").Output()
	if err != nil {
		return "", ""
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		return strings.Join(f, ""), ""
	}
	return f[0], f[1]
}

type fileWant struct {
	path        string
	dir         bool
	owner, grp  string
	mode        os.FileMode
	mustContain string
}

func checkFile(t *testing.T, w fileWant) {
	t.Helper()
	fi, err := os.Lstat(w.path)
	if err != nil {
		t.Errorf("%s: %v", w.path, err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	owner, grp := strconv.Itoa(int(st.Uid)), strconv.Itoa(int(st.Gid))
	if u, err := user.LookupId(owner); err == nil {
		owner = u.Username
	}
	if g, err := user.LookupGroupId(grp); err == nil {
		grp = g.Name
	}
	if fi.IsDir() != w.dir || owner != w.owner || grp != w.grp || fi.Mode().Perm() != w.mode {
		t.Errorf("%s: dir=%t %s:%s %#o, want dir=%t %s:%s %#o", w.path, fi.IsDir(), owner, grp, fi.Mode().Perm(), w.dir, w.owner, w.grp, w.mode)
	}
	if w.mustContain != "" {
		b, _ := os.ReadFile(w.path)
		if !strings.Contains(string(b), w.mustContain) {
			t.Errorf("%s lacks %q", w.path, w.mustContain)
		}
	}
}

func exists(path string) bool { _, err := os.Lstat(path); return err == nil }

// handAgent is the installed agent started by hand as its own user, the
// way systemd would start it.
type handAgent struct {
	cmd    *exec.Cmd
	exited chan error
	url    string
	log    string
}

func startAgent(t *testing.T, url, logPath string) *handAgent {
	t.Helper()
	u, err := user.Lookup("borderpost")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("/usr/bin/borderpost", "run", "--config", "/etc/borderpost/agent.yaml")
	cmd.Dir = "/var/lib/borderpost"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "JOURNAL_STREAM=8:1"} // log as under the journal
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &handAgent{cmd: cmd, exited: make(chan error, 1), url: url, log: logPath}
	go func() { a.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if a.cmd != nil {
			a.cmd.Process.Kill()
			<-a.exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-a.exited:
			a.cmd = nil
			b, _ := os.ReadFile(logPath)
			t.Fatalf("agent exited while starting: %v\n%s", err, b)
		case <-time.After(100 * time.Millisecond):
		}
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("agent not ready within 30s")
		}
	}
}

// stop ends the agent with SIGTERM, as `systemctl stop` in prerm does.
func (a *handAgent) stop(t *testing.T) {
	t.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-a.exited:
		if err != nil {
			t.Errorf("agent stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("agent did not stop within 30s of SIGTERM")
	}
	a.cmd = nil
}

type agentStatus struct {
	Ready  bool   `json:"ready"`
	Link   string `json:"link"`
	Digest string `json:"digest"`
	Alerts int    `json:"alerts"`
	Outbox int    `json:"outbox_depth"`
	Hits   int64  `json:"hits"`
}

func (a *handAgent) status() (agentStatus, error) {
	var s agentStatus
	resp, err := http.Get(a.url + "/v1/status")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestLifecycle installs the package, checks what it put where, runs the
// agent by hand against Mosquitto and a simulated central, leaves hits
// unsent, upgrades the package over it, checks that the replica, the keys
// and the unsent hits survived and are delivered, then removes and purges
// the package and checks that exactly what Debian policy expects is left.
func TestLifecycle(t *testing.T) {
	switch st, v := packageStatus(); {
	case st == "":
	case strings.Contains(v, "~pkgtest"):
		dpkg(t, "--purge", "borderpost") // left by an interrupted run of this test
	default:
		t.Fatalf("borderpost %s is installed (%s) on this machine: this test will not touch it", v, st)
	}
	t.Cleanup(func() {
		if st, v := packageStatus(); st != "" && strings.Contains(v, "~pkgtest") {
			exec.Command("dpkg", "--purge", "borderpost").Run()
		}
	})

	// Install.
	dpkg(t, "-i", deb(builds.a, oldVersion))
	if st, v := packageStatus(); st != "ii" || v != oldVersion {
		t.Fatalf("after install: status %q version %q", st, v)
	}
	for _, w := range []fileWant{
		{path: "/usr/bin/borderpost", owner: "root", grp: "root", mode: 0o755},
		{path: "/usr/lib/systemd/system/borderpost.service", owner: "root", grp: "root", mode: 0o644, mustContain: "ReadWritePaths=/var/lib/borderpost"},
		{path: "/etc/borderpost", dir: true, owner: "root", grp: "borderpost", mode: 0o750},
		{path: "/etc/borderpost/agent.yaml", owner: "root", grp: "borderpost", mode: 0o640, mustContain: "path: /var/lib/borderpost/replica.db"},
		{path: "/var/lib/borderpost", dir: true, owner: "borderpost", grp: "borderpost", mode: 0o700},
		{path: "/usr/share/doc/borderpost/copyright", owner: "root", grp: "root", mode: 0o644},
		{path: "/usr/share/doc/borderpost/setup.md", owner: "root", grp: "root", mode: 0o644},
	} {
		checkFile(t, w)
	}
	if out, _ := exec.Command("dpkg-query", "-W", "-f=${Conffiles}", "borderpost").Output(); !strings.Contains(string(out), "/etc/borderpost/agent.yaml") {
		t.Errorf("agent.yaml is not a conffile: %q", out)
	}
	pw := strings.Split(strings.TrimSpace(run(t, "getent", "passwd", "borderpost")), ":")
	if uid, _ := strconv.Atoi(pw[2]); uid >= 1000 || pw[5] != "/var/lib/borderpost" || pw[6] != "/usr/sbin/nologin" {
		t.Errorf("borderpost user: %q (want a system uid, home /var/lib/borderpost, no login)", pw)
	}
	if !exists("/etc/systemd/system/multi-user.target.wants/borderpost.service") {
		t.Error("the unit is not enabled at boot")
	}
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		if out, err := exec.Command(sa, "verify", "/usr/lib/systemd/system/borderpost.service").CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("installed unit: systemd-analyze verify: %v\n%s", err, out)
		}
	}
	if out := run(t, "/usr/bin/borderpost", "version"); !strings.Contains(out, oldVersion) || !strings.Contains(out, testCommit) {
		t.Errorf("borderpost version: %q", out)
	}
	// The shipped configuration is a template: its check is the
	// technician's list of what is still to provide, every file by its line.
	out, err := exec.Command("/usr/bin/borderpost", "config", "check", "/etc/borderpost/agent.yaml").CombinedOutput()
	if err == nil {
		t.Errorf("config check passed the unedited template, whose key and certificate files do not exist:\n%s", out)
	}
	for _, want := range []string{"store.key.file", "trust.central_keys", "sync.central_hit_key", "does not exist"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("config check of the template does not name %q:\n%s", want, out)
		}
	}

	// The technician's steps (INSTALL.md): data key, central's key, config.
	broker := synctest.StartMosquitto(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	run(t, "/usr/bin/borderpost", "keys", "init", "--key-file", "/etc/borderpost/dev-data.key")
	run(t, "chown", "borderpost:borderpost", "/etc/borderpost/dev-data.key")
	os.WriteFile("/etc/borderpost/central-signing.pub", []byte(base64.StdEncoding.EncodeToString(pub)+"\n"), 0o644)
	hitKey, err := bpsync.GenerateHitKey()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile("/etc/borderpost/central-hits.pub", []byte(hitKey.Public().String()+"\n"), 0o644)
	port := synctest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg := fmt.Sprintf(`agent: {id: post-pkg-01, post: "package lifecycle test"}
store: {path: /var/lib/borderpost/replica.db, key: {file: /etc/borderpost/dev-data.key}}
mqtt: {broker: %s, keepalive: 2s}
trust: {central_keys: [/etc/borderpost/central-signing.pub]}
http: {listen: 127.0.0.1:%d}
metrics: {listen: "127.0.0.1:0"}
sync: {hit_window: 32, resend_after: 3s, status_every: 1s, central_hit_key: /etc/borderpost/central-hits.pub}
log: {level: info, format: json}
`, broker.URL(), port)
	if err := os.WriteFile("/etc/borderpost/agent.yaml", []byte(cfg), 0o640); err != nil {
		t.Fatal(err)
	}
	run(t, "/usr/bin/borderpost", "config", "check", "/etc/borderpost/agent.yaml")
	keySum, pubSum, cfgSum := sum(t, "/etc/borderpost/dev-data.key"), sum(t, "/etc/borderpost/central-signing.pub"), sum(t, "/etc/borderpost/agent.yaml")

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := central.Start(central.Config{Broker: broker.URL(), Signer: bpsync.NewSigner(priv), Logger: quiet, HitKeys: []*bpsync.HitKey{hitKey}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	waitFor(t, 15*time.Second, "central connected", c.Connected)

	logPath := filepath.Join(t.TempDir(), "agent.log")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("agent log:\n%s", b)
		}
	})
	a := startAgent(t, url, logPath)
	waitFor(t, 15*time.Second, "agent linked", func() bool { s, err := a.status(); return err == nil && s.Link == "online" })
	alerts := watchlist.NewGenerator(1, watchlist.DefaultMix).Alerts(300)
	if _, err := c.Publish(alerts, nil); err != nil {
		t.Fatal(err)
	}
	digest := c.Digest().String()
	waitFor(t, 20*time.Second, "agent holds central's watch list", func() bool {
		s, err := a.status()
		return err == nil && s.Digest == digest && s.Alerts == len(alerts)
	})

	// Hits that reach central.
	scan := func(runID string, planted int) field.Report {
		rep, err := field.Run(context.Background(), field.Config{URL: url, RunID: runID, Scans: 200, Planted: planted,
			Concurrency: 4, Seed: uint64(planted), Alerts: alerts})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Refused != 0 || len(rep.Missed) != 0 || len(rep.Unexpected) != 0 {
			t.Fatalf("field %s: %d refused, %d missed, %d unexpected", runID, rep.Refused, len(rep.Missed), len(rep.Unexpected))
		}
		return rep
	}
	scan("before", 10)
	waitFor(t, 30*time.Second, "10 hits at central, outbox empty", func() bool {
		s, err := a.status()
		return err == nil && s.Outbox == 0 && len(c.Hits("post-pkg-01")) == 10
	})

	// Hits that cannot leave: the broker is down.
	broker.Kill()
	waitFor(t, 20*time.Second, "agent sees the link down", func() bool { s, err := a.status(); return err == nil && s.Link == "offline" })
	unsent := scan("unsent", 7)
	if s, _ := a.status(); s.Outbox != 7 {
		t.Fatalf("outbox holds %d hits, want the 7 unsent", s.Outbox)
	}
	a.stop(t)
	checkFile(t, fileWant{path: "/var/lib/borderpost/replica.db", owner: "borderpost", grp: "borderpost", mode: 0o600})
	// The journal beside it holds the audit log and the unsent hits.
	checkFile(t, fileWant{path: "/var/lib/borderpost/replica.db.journal", owner: "borderpost", grp: "borderpost", mode: 0o600})
	dbSum, journalSum := sum(t, "/var/lib/borderpost/replica.db"), sum(t, "/var/lib/borderpost/replica.db.journal")

	// Upgrade over it.
	dpkg(t, "-i", deb(builds.newer, newVersion))
	if st, v := packageStatus(); st != "ii" || v != newVersion {
		t.Fatalf("after upgrade: status %q version %q", st, v)
	}
	if out := run(t, "/usr/bin/borderpost", "version"); !strings.Contains(out, newVersion) {
		t.Errorf("after upgrade, borderpost version: %q", out)
	}
	for path, want := range map[string]string{"/etc/borderpost/dev-data.key": keySum, "/etc/borderpost/central-signing.pub": pubSum,
		"/etc/borderpost/agent.yaml": cfgSum, "/var/lib/borderpost/replica.db": dbSum, "/var/lib/borderpost/replica.db.journal": journalSum} {
		if got := sum(t, path); got != want {
			t.Errorf("%s changed in the upgrade", path)
		}
	}
	checkFile(t, fileWant{path: "/var/lib/borderpost", dir: true, owner: "borderpost", grp: "borderpost", mode: 0o700})
	checkFile(t, fileWant{path: "/etc/borderpost/agent.yaml", owner: "root", grp: "borderpost", mode: 0o640})

	a = startAgent(t, url, logPath)
	s, err := a.status()
	if err != nil || s.Digest != digest || s.Alerts != len(alerts) || s.Outbox != 7 {
		t.Fatalf("after upgrade the agent holds digest %s (%d alerts) and %d unsent hits (%v); want %s, %d, 7",
			s.Digest, s.Alerts, s.Outbox, err, digest, len(alerts))
	}
	broker.Restart()
	waitFor(t, 60*time.Second, "the 7 unsent hits at central, outbox empty", func() bool {
		s, err := a.status()
		return err == nil && s.Outbox == 0 && len(c.Hits("post-pkg-01")) == 17
	})
	got := make(map[string]bool)
	for _, h := range c.Hits("post-pkg-01") {
		got[h.CheckID+" "+h.AlertID] = true
	}
	for _, p := range unsent.Planted {
		if !got[p.ScanID+" "+p.AlertID] {
			t.Errorf("unsent hit (scan %s, alert %s) never reached central after the upgrade", p.ScanID, p.AlertID)
		}
	}
	a.stop(t)

	// Remove: programs go, configuration and data stay.
	dpkg(t, "--remove", "borderpost")
	if st, _ := packageStatus(); st != "rc" {
		t.Errorf("after remove: status %q, want rc (config files remain)", st)
	}
	for _, p := range []string{"/usr/bin/borderpost", "/usr/lib/systemd/system/borderpost.service", "/usr/share/doc/borderpost"} {
		if exists(p) {
			t.Errorf("after remove: %s is still there", p)
		}
	}
	for _, p := range []string{"/etc/borderpost/agent.yaml", "/etc/borderpost/dev-data.key", "/var/lib/borderpost/replica.db", "/var/lib/borderpost/replica.db.journal"} {
		if !exists(p) {
			t.Errorf("after remove: %s is gone (remove must keep configuration and data)", p)
		}
	}

	// Purge: configuration and data go too; the system user stays.
	dpkg(t, "--purge", "borderpost")
	if st, _ := packageStatus(); st != "" && st != "un" && st != "pn" {
		t.Errorf("after purge: dpkg still knows borderpost as %q", st)
	}
	for _, p := range []string{"/etc/borderpost", "/var/lib/borderpost", "/etc/systemd/system/multi-user.target.wants/borderpost.service",
		"/var/lib/systemd/deb-systemd-helper-enabled/borderpost.service.dsh-also",
		"/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/borderpost.service"} {
		if exists(p) {
			t.Errorf("after purge: %s is still there", p)
		}
	}
	if _, err := user.Lookup("borderpost"); err != nil {
		t.Errorf("after purge the system user is gone (%v): Debian leaves system users in place", err)
	}
}
