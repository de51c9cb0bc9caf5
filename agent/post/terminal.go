package post

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/borderpost/borderpost/agent/match"
	"github.com/borderpost/borderpost/agent/match/name"
	"github.com/borderpost/borderpost/agent/terminal"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// terminalServer builds the officers' page and binds its listener through
// listen when the configuration names one, and returns the component that
// serves it, or nil. a.terminal is set here, before anything serves, as
// every check reads it.
func (a *Agent) terminalServer(listen func(addr, setting string) (net.Listener, error)) (func(context.Context) error, error) {
	tc := a.cfg.Terminal
	if tc.Listen == "" {
		return nil, nil
	}
	f, err := os.Open(tc.Users)
	if err != nil {
		return nil, fmt.Errorf("terminal.users: %w (add accounts with `borderpost users add`)", err)
	}
	users, err := terminal.LoadUsers(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("terminal.users %s: %w", tc.Users, err)
	}
	t, err := terminal.New(tc.Config, terminal.Deps{Users: users, Checker: a, Recorder: officerRecorder{a}, State: a, Logger: a.log})
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	var cert tls.Certificate
	if tc.TLSCert != "" {
		if cert, err = tls.LoadX509KeyPair(tc.TLSCert, tc.TLSKey); err != nil {
			return nil, fmt.Errorf("terminal.tls_cert/tls_key: %w", err)
		}
	}
	ln, err := listen(tc.Listen, "terminal.listen")
	if err != nil {
		return nil, err
	}
	if tc.TLSCert != "" {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	a.terminal = t
	srv := &http.Server{Handler: t.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, IdleTimeout: 120 * time.Second}
	a.log.Info("officers' terminal listening", "addr", ln.Addr().String(), "tls", tc.TLSCert != "")
	return a.serveHTTP(srv, ln), nil
}

// publish shows recorded hits on the officers' terminal.
func (a *Agent) publish(hits []store.Hit, cands []match.Candidate, items []devices.Item) {
	if a.terminal == nil {
		return
	}
	for i, h := range hits {
		al := cands[i].Alert
		a.terminal.Publish(terminal.Hit{Hit: h, Source: al.Source, Warnings: al.Warnings, Purposes: al.Purposes,
			LegalBasis: al.LegalBasis, Authority: al.Authority, Country: items[i].Country, Name: nameMatch(cands[i].Name)})
	}
}

// nameMatch turns the name engine's explanation into the terminal's token
// table.
func nameMatch(x *name.Explanation) *terminal.NameMatch {
	if x == nil {
		return nil
	}
	m := &terminal.NameMatch{AlertName: x.AlertName, ExtraQuery: x.ExtraQuery, ExtraAlert: x.ExtraAlert}
	for _, p := range x.Pairs {
		m.Pairs = append(m.Pairs, terminal.TokenMatch{Query: p.Query, Alert: p.Alert, Method: p.Method.String(), Similarity: p.Similarity})
	}
	for _, e := range x.Evidence {
		m.Evidence = append(m.Evidence, terminal.NameFactRow{Field: e.Field, Query: e.Query, Alert: e.Alert, Effect: e.Effect})
	}
	return m
}

// Banner implements terminal.State: what officers must know about the
// link and the replica.
func (a *Agent) Banner() terminal.Banner {
	var b terminal.Banner
	var versions []string
	for _, set := range *a.sets.Load() {
		cur, err := set.rep.Cursor()
		if err != nil {
			continue
		}
		v := fmt.Sprintf("epoch %d, delta %d", cur.Epoch, cur.Seq)
		if set.scope != "" {
			v = set.scope + ": " + v
		}
		versions = append(versions, v)
		if b.ReplicaAsOf.IsZero() || cur.At.Before(b.ReplicaAsOf) {
			b.ReplicaAsOf = cur.At
		}
	}
	b.ReplicaVersion = strings.Join(versions, "; ")
	if len(versions) == 0 {
		b.ReplicaVersion = "no scope assigned yet"
	}
	if ob, err := a.rep.Outbox(); err == nil {
		b.OutboxDepth = ob.Depth
	}
	b.Fault, b.Remedy = a.health.fault()
	if a.session != nil {
		b.LinkUp = a.session.Connected()
		b.LinkDownSince = a.session.DownSince()
		f := a.session.Freshness()
		if !f.Confirmed.IsZero() {
			b.ReplicaAsOf = f.Confirmed
		}
		b.Stale, b.StaleReason = f.Stale, f.Reason
	}
	return b
}

// officerRecorder records what officers do on the terminal.
type officerRecorder struct{ a *Agent }

// Outcome puts an officer's outcome for a hit into the outbox, with its
// audit record, in one transaction; it reaches central like a hit.
func (r officerRecorder) Outcome(ctx context.Context, o terminal.OutcomeRecord) error {
	err := r.a.rep.RecordOutcome(ctx, store.Outcome{ID: newID("out"), HitID: o.HitID, AlertID: o.AlertID, Outcome: string(o.Outcome),
		Remark: o.Remark, Officer: o.Officer, Role: string(o.Role), Time: o.Time})
	if err == nil && r.a.session != nil {
		r.a.session.Notify()
	}
	return err
}

// Audit appends an audit record (views of hits, manual checks, logins).
func (r officerRecorder) Audit(ctx context.Context, rec store.AuditRecord) error {
	return r.a.rep.Audit(ctx, rec)
}
