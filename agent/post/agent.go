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
)

// Agent is a running borderpost agent. Create it with New, run it with Run.
type Agent struct {
	cfg      config.Config
	log      *slog.Logger
	rep      *store.Replica
	index    *match.Index
	session  *bpsync.Session
	ln       net.Listener
	checks   atomic.Int64
	hits     atomic.Int64
	ready    atomic.Bool
	metrics  *metrics
	terminal *terminal.Terminal // nil when the officers' page is off

	kp         store.KeyProvider
	sets       atomic.Pointer[[]*alertSet] // what checks run against
	sessionSet chan struct{}               // closed once session is set
	scopeMu    sync.Mutex                  // held while scopes change
	scoped     bool                        // central assigned scopes: the whole list is not followed
	retiring   bool                        // scoped, but checks still use the whole list until the scopes hold their alerts
	runDone    chan struct{}               // closed when Run returns
	runCtx     context.Context             // Run's context, for the scopes' housekeeping
	scopes     map[string]*alertSet
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
	// free in the file until then.
	rep, err := store.Open(ctx, cfg.Store.Path, kp, store.Options{Logger: log, Compact: true})
	if err != nil {
		return nil, fmt.Errorf("open replica: %w", err)
	}
	a := &Agent{cfg: cfg, log: log, rep: rep, kp: kp,
		scopes: make(map[string]*alertSet), sessionSet: make(chan struct{}), runDone: make(chan struct{})}
	start := time.Now()
	if a.index, err = a.loadIndex(ctx, rep); err != nil {
		rep.Close()
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

// Run serves devices and syncs with central until ctx ends, then shuts
// down gracefully: in-flight checks finish, the broker session is closed,
// the replica is closed. Unacknowledged hits stay in the outbox.
func (a *Agent) Run(ctx context.Context) error {
	defer a.rep.Close()
	defer a.closeScopes()
	defer close(a.runDone)
	verifier, err := a.verifier()
	if err != nil {
		return err
	}
	link, err := a.linkConfig()
	if err != nil {
		return err
	}
	a.runCtx = ctx
	var scopes []bpsync.ScopeReplica
	for _, set := range a.scopes {
		scopes = append(scopes, a.scopeReplica(set))
		a.maintain(set)
	}
	a.session, err = bpsync.StartSession(ctx, bpsync.SessionConfig{
		Link: link, Agent: a.cfg.Agent.ID, Replica: a.rep, Verifier: verifier,
		Applied: a.index.Apply, Reloaded: a.reloadIndex, Window: a.cfg.Sync.HitWindow, Batch: a.cfg.Sync.HitBatch, ResendAfter: a.cfg.Sync.ResendAfter,
		StatusEvery: a.cfg.Sync.StatusEvery, MaxReplicaAge: a.cfg.Sync.MaxReplicaAge, Logger: a.log,
		Scoped: a.scoped, Scopes: scopes, Assigned: func(as bpsync.Assignment) { <-a.sessionSet; a.assign(as) },
	})
	if err != nil {
		return fmt.Errorf("start session with central: %w", err)
	}
	close(a.sessionSet)
	defer a.session.Close()

	a.ln, err = net.Listen("tcp", a.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (http.listen): %w", a.cfg.HTTP.Listen, err)
	}
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 15 * time.Second, IdleTimeout: 60 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(a.ln) }()
	ensCfg := &a.cfg.Devices.ENS
	if l := ensCfg.HTTP.Listen; l != "" {
		eln, err := net.Listen("tcp", l)
		if err != nil {
			return fmt.Errorf("listen on %s (devices.ens.http.listen): %w", l, err)
		}
		mux := http.NewServeMux()
		mux.Handle("POST /v1/ens", ensCfg.Handler(a))
		esrv := ens.NewServer(l, mux)
		go func() { errc <- esrv.Serve(eln) }()
		defer esrv.Close()
	}
	if feed := ensCfg.NewFeed(a); feed != nil {
		feed.Log = a.log
		go func() { errc <- feed.Run(ctx) }()
		a.log.Info("ENS feed on the local broker", "topic", ensCfg.MQTT.Topic)
	}
	if spool := ensCfg.NewSpool(a); spool != nil {
		go func() { errc <- spool.Run(ctx) }()
		a.log.Info("ENS spool directory watched", "dir", ensCfg.Spool.Dir)
	}
	if l := a.cfg.Devices.ANPR.Listen; l != "" {
		aln, err := net.Listen("tcp", l)
		if err != nil {
			return fmt.Errorf("listen on %s (devices.anpr.listen): %w", l, err)
		}
		go func() { errc <- a.cfg.Devices.ANPR.LineServer(a).Serve(ctx, aln) }()
		a.log.Info("ANPR line protocol listening", "addr", aln.Addr().String())
	}
	if tsrv, err := a.startTerminal(ctx, errc); err != nil {
		return err
	} else if tsrv != nil {
		defer tsrv.Close()
	}
	if l := a.cfg.Devices.MRZ.Listen; l != "" {
		mln, err := net.Listen("tcp", l)
		if err != nil {
			return fmt.Errorf("listen on %s (devices.mrz.listen): %w", l, err)
		}
		go func() { errc <- mrz.NewStreamServer(a, a.cfg.Devices.MRZ, a.log).Serve(ctx, mln) }()
		a.log.Info("MRZ line stream listening", "addr", mln.Addr().String())
	}
	go a.rep.Maintain(ctx, a.cfg.Store.PurgeEvery, a.cfg.Store.Retention)
	a.ready.Store(true)
	if err := a.rep.Audit(ctx, store.AuditRecord{Event: store.EventAgentStart, Ref: a.cfg.Agent.ID}); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	a.log.Info("agent ready", "agent", a.cfg.Agent.ID, "http", a.ln.Addr().String())
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("device listener: %w", err)
		}
	}
	a.ready.Store(false)
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		a.log.Warn("http shutdown", "err", err)
	}
	_ = a.rep.Audit(shut, store.AuditRecord{Event: store.EventAgentStop, Ref: a.cfg.Agent.ID})
	a.log.Info("agent stopped", "checks", a.checks.Load(), "hits", a.hits.Load())
	return nil
}

// loadIndex builds a match index of every alert rep holds.
func (a *Agent) loadIndex(ctx context.Context, rep *store.Replica) (*match.Index, error) {
	return match.Load(ctx, rep, matchOptions(a.cfg))
}

// matchOptions turns the match section into the engine's options.
func matchOptions(cfg config.Config) match.Options {
	return match.Options{NameThreshold: cfg.Match.NameThreshold, NameHits: cfg.Match.NameHits}
}

// reloadIndex rebuilds the match index from the replica after a snapshot
// replaced the alert set, and swaps it in.
func (a *Agent) reloadIndex() { a.reload(&alertSet{rep: a.rep, index: a.index}) }

// Close releases the replicas of an agent that was never Run (Run closes
// them itself when it returns).
func (a *Agent) Close() error {
	a.closeScopes()
	return a.rep.Close()
}

// Addr returns the address the HTTP server listens on, once Run has started it.
func (a *Agent) Addr() net.Addr {
	if a.ln == nil {
		return nil
	}
	return a.ln.Addr()
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
	mux.Handle("GET /metrics", a.metrics.handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !a.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
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
	for i, found := range a.lookupAll(c.Items, c.Time) {
		it := c.Items[i]
		kinds = append(kinds, string(it.Kind))
		for _, cand := range found {
			cands, items = append(cands, cand), append(items, it)
			hits = append(hits, store.Hit{
				ID: newID("hit"), CheckID: c.ID, Device: c.Device, Lane: c.Lane, Time: c.Time,
				Field: it.Field, ItemKind: string(it.Kind), Raw: it.Raw, Value: it.Value, Country: it.Country, Correction: it.Correction,
				AlertID: cand.Alert.ID, AlertVersion: cand.Alert.Version, Match: cand.Match, Score: cand.Score,
				Category: cand.Alert.Category, Action: cand.Alert.Action, Explanation: cand.Explanation,
			})
		}
	}
	recorded, err := a.rep.Record(ctx, store.CheckRecord{ID: c.ID, Device: c.Device, Items: len(c.Items)}, hits)
	if err != nil {
		a.metrics.refused.WithLabelValues(c.Device).Inc()
		return devices.Result{}, err
	}
	a.metrics.duration.WithLabelValues(checkKind(kinds)).Observe(time.Since(began).Seconds())
	a.metrics.checks.WithLabelValues(c.Device).Inc()
	a.metrics.hits.WithLabelValues(c.Device).Add(float64(len(recorded)))
	a.checks.Add(1)
	res := devices.Result{CheckID: c.ID, Hits: []devices.Hit{}}
	for _, h := range recorded {
		res.Hits = append(res.Hits, devices.Hit{ID: h.ID, AlertID: h.AlertID, AlertVersion: h.AlertVersion, Field: h.Field,
			Match: h.Match, Score: h.Score, Category: h.Category, Action: h.Action, Explanation: h.Explanation})
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
