// Package post owns one border post's running agent: it opens the replica
// (refusing to start without the right key), builds the match index,
// serves the devices, records every check with its hits in one
// transaction, and keeps the session with central.
//
// It is the only place where the parts meet; it must never log personal
// data, and it must never report a check as done before it is on disk.
package post

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/borderpost/borderpost/agent/config"
	"github.com/borderpost/borderpost/agent/match"
	"github.com/borderpost/borderpost/agent/terminal"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/anpr"
	"github.com/borderpost/borderpost/devices/ens"
	"github.com/borderpost/borderpost/devices/mrz"
	"github.com/borderpost/borderpost/devices/ocr"
	"github.com/borderpost/borderpost/devices/scan"
	"github.com/borderpost/borderpost/store"
	"github.com/borderpost/borderpost/store/tpm"
	bpsync "github.com/borderpost/borderpost/sync"
	"golang.org/x/sync/errgroup"
)

// Agent is a running borderpost agent. Create it with New, run it with Run.
type Agent struct {
	cfg     config.Config
	log     *slog.Logger
	rep     *store.Replica
	index   *match.Index
	session *bpsync.Session
	addr    atomic.Value // net.Addr of the HTTP listener, once Run bound it
	checks  atomic.Int64
	hits    atomic.Int64
	ready   atomic.Bool
	health  recordHealth // whether checks can be written to disk
	metrics *metrics
	// metricsAddr is /metrics' own listener's address, set by metricsServer.
	metricsAddr atomic.Value
	terminal    *terminal.Terminal // nil when the officers' page is off

	kp         store.KeyProvider
	warm       *store.WarmBudget           // memory the replicas fill by warming, together
	sets       atomic.Pointer[[]*alertSet] // what checks run against
	sessionSet chan struct{}               // closed once session is set
	scopeMu    sync.Mutex                  // held while scopes change
	scoped     bool                        // central assigned scopes: the whole list is not followed
	retiring   bool                        // scoped, but checks still use the whole list until the scopes hold their alerts
	stopped    bool                        // Run is stopping: no scope is opened any more; under scopeMu
	tasks      sync.WaitGroup              // scope work started by the session's callbacks; Run waits for it
	scopes     map[string]*alertSet
	persistNow chan struct{} // asks persistIndexes to look at once (persist.go)
}

// KeyProvider returns the data key provider the configuration names: the
// TPM on a post, or a development key file, used only because the
// configuration names it, and always with a loud warning. No key, no
// start: without one it fails.
func KeyProvider(cfg config.Config, log *slog.Logger) (store.KeyProvider, error) {
	k := cfg.Store.Key
	switch {
	case k.TPM != nil:
		blob := k.TPM.Blob
		if blob == "" {
			blob = tpm.BlobPathFor(cfg.Store.Path)
		}
		return &tpm.KeyProvider{Config: TPMConfig(k.TPM), BlobPath: blob}, nil
	case k.File != "":
		log.Warn("DEVELOPMENT KEY FILE IN USE: the replica's data key is stored in clear on disk; use a TPM-sealed key on a post",
			"key_file", k.File)
		return store.KeyFile{Path: k.File}, nil
	}
	return nil, fmt.Errorf("%w: the configuration names no data key (store.key.tpm or store.key.file)", store.ErrNoKey)
}

// TPMConfig turns the configuration's TPM section into store/tpm's form.
func TPMConfig(t *config.TPMKey) tpm.Config {
	return tpm.Config{Device: t.Device, Address: t.Address, PlatformAddress: t.PlatformAddress, PCRs: t.PCRs, Bank: t.Bank}
}

// Version is the build's version, shown in metrics; the command sets it.
type Version string

// New opens the replica and loads the match index. It fails closed: without
// a key, or with a key that does not match the replica, it returns an error
// and opens nothing.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Agent, error) {
	return NewVersion(ctx, cfg, log, "dev")
}

// NewVersion is New for a build that knows its version.
func NewVersion(ctx context.Context, cfg config.Config, log *slog.Logger, version string) (*Agent, error) {
	if log == nil {
		log = slog.Default()
	}
	kp, err := KeyProvider(cfg, log)
	if err != nil {
		return nil, err
	}
	// Compact at open: a snapshot switch leaves the old generation's pages
	// free in the file until then. The main replica warms first, within
	// the memory its scopes' replicas then share.
	warm := store.NewWarmBudget(0)
	rep, err := store.Open(ctx, cfg.Store.Path, kp, match.WithTerms(store.Options{Logger: log, Compact: true, Warm: true, WarmBudget: warm}))
	if err != nil {
		return nil, fmt.Errorf("open replica: %w", err)
	}
	a := &Agent{cfg: cfg, log: log, rep: rep, kp: kp, warm: warm, persistNow: make(chan struct{}, 1),
		scopes: make(map[string]*alertSet), sessionSet: make(chan struct{})}
	start := time.Now()
	if a.index, err = a.loadIndex(ctx, rep); err != nil {
		rep.Close()
		if errors.Is(err, store.ErrCorrupt) {
			return nil, fmt.Errorf("load replica into the match index: %w; the file %s is damaged: stop the agent and run `borderpost replica rebuild`", err, cfg.Store.Path)
		}
		return nil, fmt.Errorf("load replica into the match index: %w", err)
	}
	sa, scoped, err := readAssignment(cfg.Store.Path)
	if err == nil {
		a.scoped = scoped || cfg.Sync.Scoped
		err = a.openScopes(ctx, sa)
	}
	if err == nil && a.scoped {
		// A post that follows scopes holds nothing of the whole list.
		err = a.emptyWholeList(ctx)
	}
	if err != nil {
		a.closeScopes()
		rep.Close()
		return nil, err
	}
	a.publishSets()
	log.Info("match index loaded", "alerts", a.alertCount(), "scopes", len(a.scopes), "took", time.Since(start).Round(time.Millisecond))
	a.metrics = newMetrics(a, version)
	return a, nil
}

// Run serves devices and syncs with central until ctx ends or one of its
// components fails, then shuts down gracefully: in-flight checks finish,
// the broker session is closed, the replica is closed. It returns only
// once every component has ended, with the first failure, or nil after
// ctx ended. Unacknowledged hits stay in the outbox.
func (a *Agent) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer a.rep.Close()
	defer a.closeScopes()
	verifier, err := a.verifier()
	if err != nil {
		return err
	}
	hitKey, err := a.hitKey()
	if err != nil {
		return err
	}
	link, err := a.linkConfig()
	if err != nil {
		return err
	}
	// Every listener is bound and the officers' page built before anything
	// serves: a wrong address fails Run before a device is answered.
	var bound []net.Listener
	unbind := func() {
		for _, ln := range bound {
			ln.Close()
		}
	}
	comps, err := a.components(func(addr, setting string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s (%s): %w", addr, setting, err)
		}
		bound = append(bound, ln)
		return ln, nil
	})
	if err != nil {
		unbind()
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	var scopes []bpsync.ScopeReplica
	for _, set := range a.scopes {
		scopes = append(scopes, a.scopeReplica(gctx, set))
		a.maintain(gctx, set)
	}
	a.session, err = bpsync.StartSession(gctx, bpsync.SessionConfig{
		Link: link, Agent: a.cfg.Agent.ID, Post: a.cfg.Agent.Post, Replica: a.rep, Verifier: verifier, HitKey: hitKey,
		Applied: a.index.Apply, Reloaded: func() { a.reloadIndex(gctx) }, Window: a.cfg.Sync.HitWindow, Batch: a.cfg.Sync.HitBatch, ResendAfter: a.cfg.Sync.ResendAfter,
		StatusEvery: a.cfg.Sync.StatusEvery, MaxReplicaAge: a.cfg.Sync.MaxReplicaAge, Logger: a.log,
		Scoped: a.scoped, Scopes: scopes, Assigned: func(as bpsync.Assignment) error { <-a.sessionSet; return a.assign(gctx, as) },
		AssignmentSeq: a.assignmentInForce(),
	})
	if err != nil {
		unbind()
		return fmt.Errorf("start session with central: %w", err)
	}
	close(a.sessionSet)
	if err := a.rep.Audit(ctx, store.AuditRecord{Event: store.EventAgentStart, Ref: a.cfg.Agent.ID}); err != nil {
		// A full disk must not stop the agent: it serves its status and
		// says why it is not ready until a write succeeds again.
		a.recordFailed(fmt.Errorf("audit log: %w", err))
	}
	for _, c := range comps {
		g.Go(func() error { return c.runUntil(gctx) })
	}
	a.ready.Store(true)
	a.log.Info("agent ready", "agent", a.cfg.Agent.ID, "http", a.Addr().String())
	err = g.Wait()
	a.ready.Store(false)
	if err != nil {
		a.log.Error("agent stopping: a component failed", "err", err)
	}
	a.stop()
	// No delta comes any more: the next start loads what deltas changed.
	a.persistStale(context.WithoutCancel(ctx), 0)
	// The stop is recorded even though ctx has ended.
	_ = a.rep.Audit(context.WithoutCancel(ctx), store.AuditRecord{Event: store.EventAgentStop, Ref: a.cfg.Agent.ID})
	a.log.Info("agent stopped", "checks", a.checks.Load(), "hits", a.hits.Load())
	return err
}

// stop ends the session with central, then waits for the scopes' work it
// started: once it returns nothing but Run's deferred closes touches the
// replicas.
func (a *Agent) stop() {
	a.session.Close()
	a.scopeMu.Lock()
	a.stopped = true
	a.scopeMu.Unlock()
	a.tasks.Wait()
}

// component is one part of the running agent: run serves until ctx ends,
// then returns once it has stopped. An error, or a return before ctx
// ended, stops every other component and is what Run returns.
type component struct {
	name string
	run  func(ctx context.Context) error
}

// runUntil runs c until ctx ends and names c in its failure.
func (c component) runUntil(ctx context.Context) error {
	err := c.run(ctx)
	switch {
	case ctx.Err() == nil && err == nil:
		return fmt.Errorf("%s: %w", c.name, errEndedEarly)
	case ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return nil // stopped as asked
	case err != nil:
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return nil
}

// components returns the parts Run runs side by side, each with its
// listener bound through listen. A part is added by appending one
// component to the list.
func (a *Agent) components(listen func(addr, setting string) (net.Listener, error)) ([]component, error) {
	ln, err := listen(a.cfg.HTTP.Listen, "http.listen")
	if err != nil {
		return nil, err
	}
	a.addr.Store(ln.Addr())
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 15 * time.Second, IdleTimeout: 60 * time.Second}
	comps := []component{
		{"http", a.serveHTTP(srv, ln)},
		{"record probe", a.probeRecord},
		{"expired alerts out of the match index", func(ctx context.Context) error {
			a.expireIndexes(ctx, a.cfg.Store.PurgeEvery)
			return nil
		}},
		{"replica housekeeping", func(ctx context.Context) error {
			a.rep.Maintain(ctx, a.cfg.Store.PurgeEvery, a.cfg.Store.Retention)
			return nil
		}},
		{"match index files after deltas", func(ctx context.Context) error {
			a.persistIndexes(ctx)
			return nil
		}},
	}
	ensCfg := &a.cfg.Devices.ENS
	if l := ensCfg.HTTP.Listen; l != "" {
		eln, err := listen(l, "devices.ens.http.listen")
		if err != nil {
			return nil, err
		}
		mux := http.NewServeMux()
		mux.Handle("POST /v1/ens", ensCfg.Handler(a))
		comps = append(comps, component{"ENS HTTP", a.serveHTTP(ens.NewServer(l, mux), eln)})
	}
	if feed := ensCfg.NewFeed(a); feed != nil {
		feed.Log = a.log
		comps = append(comps, component{"ENS feed", feed.Run})
		a.log.Info("ENS feed on the local broker", "topic", ensCfg.MQTT.Topic)
	}
	if spool := ensCfg.NewSpool(a); spool != nil {
		comps = append(comps, component{"ENS spool", spool.Run})
		a.log.Info("ENS spool directory watched", "dir", ensCfg.Spool.Dir)
	}
	if l := a.cfg.Devices.ANPR.Listen; l != "" {
		aln, err := listen(l, "devices.anpr.listen")
		if err != nil {
			return nil, err
		}
		lines := a.cfg.Devices.ANPR.LineServer(a)
		comps = append(comps, component{"ANPR line server", func(ctx context.Context) error { return lines.Serve(ctx, aln) }})
		a.log.Info("ANPR line protocol listening", "addr", aln.Addr().String())
	}
	if serve, err := a.metricsServer(listen); err != nil {
		return nil, err
	} else if serve != nil {
		comps = append(comps, component{"metrics", serve})
	}
	if l := a.cfg.Devices.MRZ.Listen; l != "" {
		mln, err := listen(l, "devices.mrz.listen")
		if err != nil {
			return nil, err
		}
		stream := mrz.NewStreamServer(a, a.cfg.Devices.MRZ, a.log)
		comps = append(comps, component{"MRZ line stream", func(ctx context.Context) error { return stream.Serve(ctx, mln) }})
		a.log.Info("MRZ line stream listening", "addr", mln.Addr().String())
	}
	if term, err := a.terminalServer(listen); err != nil {
		return nil, err
	} else if term != nil {
		comps = append(comps, component{"officers' terminal", term})
	}
	return comps, nil
}

// shutdownWait bounds how long an HTTP server waits for requests in
// flight when the agent stops.
const shutdownWait = 10 * time.Second

// serveHTTP serves srv on ln until ctx ends, then shuts it down, letting
// requests in flight finish (within shutdownWait).
func (a *Agent) serveHTTP(srv *http.Server, ln net.Listener) func(context.Context) error {
	return func(ctx context.Context) error {
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		select {
		case err := <-served:
			return err // the listener failed
		case <-ctx.Done():
		}
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownWait)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil {
			a.log.Warn("http shutdown: requests in flight cut off", "addr", ln.Addr().String(), "err", err)
			srv.Close()
		}
		<-served
		return nil
	}
}

// loadIndex builds a match index of every alert rep holds.
func (a *Agent) loadIndex(ctx context.Context, rep *store.Replica) (*match.Index, error) {
	o := MatchOptions(a.cfg)
	o.Logger = a.log
	return match.Load(ctx, rep, o)
}

// MatchOptions turns the match section of cfg into the engine's options:
// what the agent and `borderpost check` both load their indexes with.
func MatchOptions(cfg config.Config) match.Options {
	return match.Options{NameThreshold: cfg.Match.NameThreshold, NameHits: cfg.Match.NameHits}
}

// reloadIndex rebuilds the match index from the replica after a snapshot
// replaced the alert set, and swaps it in.
func (a *Agent) reloadIndex(ctx context.Context) {
	a.reload(ctx, &alertSet{rep: a.rep, index: a.index})
}

// Close releases the replicas of an agent that was never Run (Run closes
// them itself when it returns).
func (a *Agent) Close() error {
	a.closeScopes()
	return a.rep.Close()
}

// Addr returns the address the HTTP server listens on, once Run has started it.
func (a *Agent) Addr() net.Addr {
	addr, _ := a.addr.Load().(net.Addr)
	return addr
}

func (a *Agent) verifier() (*bpsync.Verifier, error) {
	var keys []ed25519.PublicKey
	for _, p := range a.cfg.Trust.CentralKeys {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("trust.central_keys: %w", err)
		}
		k, err := bpsync.ReadPublicKey(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("trust.central_keys: %s: %w", p, err)
		}
		keys = append(keys, k)
	}
	return bpsync.NewVerifier(keys...), nil
}

// hitKey reads central's hit public key; without it the agent does not
// start, since its hits could not leave sealed.
func (a *Agent) hitKey() (*bpsync.HitPublicKey, error) {
	p := a.cfg.Sync.CentralHitKey
	if p == "" {
		return nil, fmt.Errorf("sync.central_hit_key: required: the file with central's hit public key (hits.pub from `simulator keys hit`); hits travel only sealed to it")
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("sync.central_hit_key: %w", err)
	}
	defer f.Close()
	k, err := bpsync.ReadHitPublicKey(f)
	if err != nil {
		return nil, fmt.Errorf("sync.central_hit_key: %s: %w", p, err)
	}
	return k, nil
}

func (a *Agent) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/scans", &scan.Handler{Checker: a, Logger: a.log})
	mux.Handle("POST /v1/ens", a.cfg.Devices.ENS.Handler(a))
	if a.cfg.Devices.ANPR.HTTP {
		mux.Handle("POST "+anpr.Path, a.cfg.Devices.ANPR.Handler(a))
	}
	if a.cfg.Devices.OCR.HTTP {
		mux.Handle("POST "+ocr.Path, a.cfg.Devices.OCR.Handler(a))
	}
	if a.cfg.Devices.MRZ.HTTP {
		mux.Handle("POST "+mrz.HTTPPath, mrz.NewHandler(a, a.cfg.Devices.MRZ, a.log))
	}
	mux.HandleFunc("GET /v1/status", a.serveStatus)
	if a.metricsOnDevicesListener() {
		mux.Handle("GET /metrics", a.metrics.handler()) // configured so; otherwise serveMetrics has its own listener
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if cause, remedy := a.notReady(); cause != "" {
			http.Error(w, strings.TrimSuffix("not ready: "+cause+"; "+remedy, "; "), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	return mux
}

// Check implements devices.Checker: it matches every item, then records the
// check and its hits in one transaction before answering.
func (a *Agent) Check(ctx context.Context, c devices.Check) (devices.Result, error) {
	if c.ID == "" {
		c.ID = newID("chk")
	}
	if c.Time.IsZero() {
		c.Time = time.Now().UTC()
	}
	began := time.Now()
	var hits []store.Hit
	var cands []match.Candidate // the alert behind each hit
	var items []devices.Item    // the item behind each hit
	kinds := make([]string, 0, len(c.Items))
	matched, err := a.lookupAll(c.Items, c.Time)
	if err != nil {
		a.metrics.refused.WithLabelValues(c.Device).Inc()
		return devices.Result{}, err
	}
	for i, found := range matched {
		it := c.Items[i]
		kinds = append(kinds, string(it.Kind))
		for _, cand := range found {
			cands, items = append(cands, cand), append(items, it)
			hits = append(hits, store.Hit{
				ID: newID("hit"), CheckID: c.ID, Device: c.Device, Lane: c.Lane, Time: c.Time,
				Field: it.Field, ItemKind: string(it.Kind), Raw: it.Raw, Value: it.Value, Country: it.Country, Correction: it.Correction,
				AlertID: cand.Alert.ID, AlertVersion: cand.Alert.Version, Match: cand.Match, Score: cand.Score,
				Category: cand.Alert.Category, Action: cand.Alert.Action, Warnings: cand.Alert.Warnings, Explanation: cand.Explanation,
				Namesakes: cand.Namesakes,
			})
		}
	}
	recorded, err := a.rep.Record(ctx, store.CheckRecord{ID: c.ID, Device: c.Device, Items: len(c.Items)}, hits)
	if err != nil {
		a.metrics.refused.WithLabelValues(a.metrics.device(c.Device)).Inc()
		a.recordFailed(err)
		return devices.Result{}, err
	}
	a.recordSucceeded(ctx)
	a.metrics.duration.WithLabelValues(checkKind(kinds)).Observe(time.Since(began).Seconds())
	device := a.metrics.device(c.Device)
	a.metrics.checks.WithLabelValues(device).Inc()
	a.metrics.hits.WithLabelValues(device).Add(float64(len(recorded)))
	a.checks.Add(1)
	res := devices.Result{CheckID: c.ID, Hits: []devices.Hit{}}
	for _, h := range recorded {
		res.Hits = append(res.Hits, devices.Hit{ID: h.ID, AlertID: h.AlertID, AlertVersion: h.AlertVersion, Field: h.Field,
			Match: h.Match, Score: h.Score, Category: h.Category, Action: h.Action, Explanation: h.Explanation, Namesakes: h.Namesakes})
	}
	if len(recorded) > 0 {
		a.publish(recorded, cands, items)
		a.hits.Add(int64(len(recorded)))
		a.log.Info("hit", "check", c.ID, "device", c.Device, "hits", len(recorded))
		if a.session != nil {
			a.session.Notify()
		}
	}
	return res, nil
}

// newID returns a random, unguessable reference with a readable prefix.
func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}
