package post

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/borderpost/borderpost/agent/config"
	"github.com/borderpost/borderpost/devices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the agent's Prometheus metrics, on a registry of its own.
// Values that live elsewhere (replica, outbox, link) are read at scrape
// time, so they are never stale and cost nothing between scrapes.
type metrics struct {
	reg      *prometheus.Registry
	duration *prometheus.HistogramVec
	checks   *prometheus.CounterVec
	hits     *prometheus.CounterVec
	refused  *prometheus.CounterVec
	// devices are the device names counted under their own label; any
	// other name a device sends is counted as otherLabel.
	devices map[string]bool
}

// otherLabel counts checks from devices the configuration does not name,
// and kinds no device package produces.
const otherLabel = "other"

// knownKinds are the kind label's values besides otherLabel: the kinds
// the device packages produce, and "declaration". Read only.
var knownKinds = map[string]bool{"declaration": true,
	string(devices.KindPlate): true, string(devices.KindContainer): true, string(devices.KindDocument): true,
	string(devices.KindPerson): true, string(devices.KindCompany): true, string(devices.KindEORI): true,
	string(devices.KindIMO): true, string(devices.KindAircraft): true, string(devices.KindVIN): true,
	string(devices.KindFirearm): true, string(devices.KindPhone): true, string(devices.KindEmail): true}

// configuredDevices are the device names the configuration gives: the
// devices' sections, the ENS feeds' and officers' page's fixed names, and
// metrics.devices. Only these become label values.
func configuredDevices(cfg config.Config) map[string]bool {
	names := map[string]bool{"ens": true, "ens-mqtt": true, "terminal": true}
	for _, d := range append([]string{cfg.Devices.ANPR.Device, cfg.Devices.OCR.Device, cfg.Devices.MRZ.Device}, cfg.Metrics.Devices...) {
		if d != "" {
			names[d] = true
		}
	}
	delete(names, otherLabel)
	return names
}

// device is the label value for a check's device: its name when the
// configuration gives it, otherLabel for anything a device made up.
func (m *metrics) device(name string) string {
	if m.devices[name] {
		return name
	}
	return otherLabel
}

// checkBuckets span what a check costs: microseconds for an identifier,
// up to a millisecond for a whole declaration, more only when the disk is
// slow (the check's record is fsynced before the answer).
var checkBuckets = []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1}

func newMetrics(a *Agent, version string) *metrics {
	m := &metrics{
		reg:     prometheus.NewRegistry(),
		devices: configuredDevices(a.cfg),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "borderpost_check_duration_seconds",
			Help: "Time to match a check against the replica and record it with its hits, by kind of check.", Buckets: checkBuckets},
			[]string{"kind"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "borderpost_checks_total",
			Help: "Checks recorded, by device."}, []string{"device"}),
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "borderpost_hits_total",
			Help: "Hits recorded, by device."}, []string{"device"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "borderpost_checks_failed_total",
			Help: "Checks that could not be recorded (disk full, replica closed), by device."}, []string{"device"}),
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	keyProvider := "file"
	if a.cfg.Store.Key.File == "" {
		keyProvider = "tpm"
	}
	m.reg.MustRegister(m.duration, m.checks, m.hits, m.refused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "borderpost_build_info", Help: "Always 1; the labels give the build.",
			ConstLabels: prometheus.Labels{"version": version, "agent": a.cfg.Agent.ID, "key_provider": keyProvider}}, func() float64 { return 1 }),
		gauge("borderpost_ready", "1 when the agent is ready to record checks (as /readyz).", func() float64 {
			if cause, _ := a.notReady(); cause == "" {
				return 1
			}
			return 0
		}),
		gauge("borderpost_record_failing", "1 while checks cannot be recorded (disk full, replica unwritable); /v1/status says why.", func() float64 {
			if a.health.failing.Load() {
				return 1
			}
			return 0
		}),
		gauge("borderpost_replica_alerts", "Alerts held in the match index.", func() float64 { return float64(a.alertCount()) }),
		gauge("borderpost_replica_epoch", "Watch-list epoch the replica holds.", func() float64 { c, _ := a.rep.Cursor(); return float64(c.Epoch) }),
		gauge("borderpost_replica_sequence", "Watch-list sequence the replica holds.", func() float64 { c, _ := a.rep.Cursor(); return float64(c.Seq) }),
		gauge("borderpost_replica_age_seconds", "Seconds since central last confirmed the replica current.", func() float64 {
			if a.session == nil {
				return 0
			}
			f := a.session.Freshness()
			if f.Confirmed.IsZero() {
				c, _ := a.rep.Cursor()
				if c.At.IsZero() {
					return 0
				}
				return time.Since(c.At).Seconds()
			}
			return time.Since(f.Confirmed).Seconds()
		}),
		gauge("borderpost_replica_stale", "1 when officers are shown the stale-replica alarm.", func() float64 {
			if a.session != nil && a.session.Freshness().Stale {
				return 1
			}
			return 0
		}),
		gauge("borderpost_outbox_depth", "Hits waiting for central's acknowledgement.", func() float64 { o, _ := a.rep.Outbox(); return float64(o.Depth) }),
		gauge("borderpost_outbox_oldest_age_seconds", "Age of the oldest hit waiting for central, 0 when none waits.", func() float64 {
			o, _ := a.rep.Outbox()
			if o.Depth == 0 || o.Oldest.IsZero() {
				return 0
			}
			return time.Since(o.Oldest).Seconds()
		}),
		gauge("borderpost_mqtt_connected", "1 while the link to central's broker is up.", func() float64 {
			if a.session != nil && a.session.Connected() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "borderpost_mqtt_connects_total", Help: "Connections made to central's broker, reconnects included."},
			func() float64 {
				if a.session == nil {
					return 0
				}
				return float64(a.session.Connects())
			}),
		scopeCollector{a},
	)
	return m
}

// scopeCollector reports each scope the post follows; scopes come and go
// with central's assignments, so they are read at scrape time.
type scopeCollector struct{ a *Agent }

var (
	scopeAlertsDesc = prometheus.NewDesc("borderpost_scope_alerts", "Alerts held for each scope the post follows.", []string{"scope"}, nil)
	scopeSeqDesc    = prometheus.NewDesc("borderpost_scope_sequence", "Sequence of each scope's stream the post holds.", []string{"scope"}, nil)
)

func (scopeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- scopeAlertsDesc
	ch <- scopeSeqDesc
}

func (c scopeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, set := range *c.a.sets.Load() {
		if set.scope == "" {
			continue
		}
		ch <- prometheus.MustNewConstMetric(scopeAlertsDesc, prometheus.GaugeValue, float64(set.index.Len()), set.scope)
		if cur, err := set.rep.Cursor(); err == nil {
			ch <- prometheus.MustNewConstMetric(scopeSeqDesc, prometheus.GaugeValue, float64(cur.Seq), set.scope)
		}
	}
}

// handler serves the metrics in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// checkKind names a check for the latency histogram: the item kind of a
// single-item check (a scan), "declaration" for several items, otherLabel
// for a kind no device package produces.
func checkKind(kinds []string) string {
	if len(kinds) != 1 {
		return "declaration"
	}
	if knownKinds[kinds[0]] {
		return kinds[0]
	}
	return otherLabel
}

// metricsServer binds metrics.listen and returns the component that
// serves /metrics there until its context ends; nil when metrics are off
// or served on the devices' listener (routes).
func (a *Agent) metricsServer(listen func(addr, setting string) (net.Listener, error)) (func(context.Context) error, error) {
	l := a.cfg.Metrics.Listen
	if l == "" || a.metricsOnDevicesListener() {
		return nil, nil
	}
	ln, err := listen(l, "metrics.listen")
	if err != nil {
		return nil, err
	}
	a.metricsAddr.Store(ln.Addr().String())
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 15 * time.Second, IdleTimeout: 60 * time.Second}
	a.log.Info("metrics listening", "addr", ln.Addr().String())
	return a.serveHTTP(srv, ln), nil
}

// metricsOnDevicesListener reports whether metrics.listen names the
// devices' listener (http.listen), so routes serves /metrics. Port 0 picks
// a free port, so two listeners on it are two, not one.
func (a *Agent) metricsOnDevicesListener() bool {
	l := a.cfg.Metrics.Listen
	return l != "" && l == a.cfg.HTTP.Listen && !strings.HasSuffix(l, ":0")
}

// MetricsAddr returns the address of /metrics' own listener once Run has
// started it, or "" when metrics are off or on the devices' listener.
func (a *Agent) MetricsAddr() string {
	s, _ := a.metricsAddr.Load().(string)
	return s
}
