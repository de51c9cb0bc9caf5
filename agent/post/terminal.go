package post

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
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
	cfg := tc.Config
	cfg.Post = a.cfg.Agent.Post
	t, err := terminal.New(cfg, terminal.Deps{Users: users, UsersFile: tc.Users, Checker: a, Recorder: officerRecorder{a}, State: a, Refs: replicaRefs{a.rep}, Hints: a, Namesakes: a, Logger: a.log})
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	if err := a.restoreTerminal(t); err != nil {
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
		th := a.terminalHit(h)
		th.Country, th.Name = items[i].Country, nameMatch(cands[i].Name)
		a.terminal.Publish(th)
	}
}

// terminalHit adds to a recorded hit what the page shows of its alert,
// read from the replica now (the match index need not hold alerts). A hit
// whose alert is gone from every replica (withdrawn, or expired and
// purged) keeps what the hit recorded and has no purposes, so no one sees
// it. An alert expired since the hit but not yet purged still shows: the
// hit was made while it stood, and the officer may be working it.
func (a *Agent) terminalHit(h store.Hit) terminal.Hit {
	th := terminal.Hit{Hit: h, Country: h.Country}
	if al, ok := a.heldAlert(h.AlertID, false); ok {
		th.Source, th.Warnings, th.Purposes = al.Source, al.Warnings, al.Purposes
		th.LegalBasis, th.Authority = al.LegalBasis, al.Authority
		subj := al.Subject
		th.Subject = &subj
	}
	return th
}

// heldAlert reads alert id from the first replica of the scope sets that
// holds it (live only, passing expired copies by, when live). A replica
// that cannot be read is logged and passed by: the page shows less, the
// check already stands.
func (a *Agent) heldAlert(id string, live bool) (store.Alert, bool) {
	for _, set := range *a.sets.Load() {
		al, ok, err := set.rep.Alert(id)
		if err != nil {
			a.log.Error("terminal: read an alert for the page", "alert", id, "err", err)
			continue
		}
		if !ok || live && al.Expired(time.Now()) {
			continue
		}
		return al, true
	}
	return store.Alert{}, false
}

// restoreTerminal gives a new terminal what the replica remembers: the
// open hits kept for officers and the hits and outcomes still waiting in
// the outbox (open hits must survive a restart), and the memory of false
// matches.
func (a *Agent) restoreTerminal(t *terminal.Terminal) error {
	if err := a.rep.FalseMatches(t.Remember); err != nil {
		return fmt.Errorf("read the remembered false matches: %w", err)
	}
	// Open hits the replica keeps for officers, whatever central has
	// acknowledged; and what the outbox still holds: hits not yet sent and
	// the outcomes recorded for them.
	hits, err := a.rep.OfficerHits()
	if err != nil {
		return fmt.Errorf("read the hits kept for officers: %w", err)
	}
	seen := map[string]bool{}
	for _, h := range hits {
		seen[h.ID] = true
	}
	outcomes := map[string]*terminal.OutcomeRecord{}
	for after := uint64(0); ; {
		page, err := a.rep.Pending(after, 1000)
		if err != nil {
			return fmt.Errorf("read the outbox for open hits: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for _, h := range page {
			after = h.Seq
			if o := h.Outcome; o != nil {
				outcomes[o.HitID] = &terminal.OutcomeRecord{ID: o.ID, HitID: o.HitID, AlertID: o.AlertID, Outcome: terminal.Outcome(o.Outcome),
					Remark: o.Remark, Officer: o.Officer, Role: terminal.Role(o.Role), Time: o.Time, Corrects: o.Corrects}
				continue
			}
			if !seen[h.ID] {
				seen[h.ID] = true
				hits = append(hits, h)
			}
		}
	}
	slices.SortFunc(hits, func(x, y store.Hit) int { return cmp.Compare(x.Seq, y.Seq) })
	for _, h := range hits {
		t.Restore(a.terminalHit(h), outcomes[h.ID])
	}
	if len(hits) > 0 {
		a.log.Info("terminal: hits restored from the outbox", "hits", len(hits), "outcomes", len(outcomes))
	}
	return nil
}

// plateCountries are the countries whose plates a post may meet: Europe
// and its neighbours, ISO 3166-1 alpha-2 as the index keys plates.
var plateCountries = strings.Fields(`AD AL AM AT AZ BA BE BG BY CH CY CZ DE DK DZ EE ES FI FR GB GE GR HR HU IE IL
	IQ IR IS IT KZ LB LI LT LU LV MA MC MD ME MK MT NL NO PL PT RO RS RU SA SE SI SK SM SY TN TR UA VA XK`)

// PlateElsewhere implements terminal.Hinter: the alerts that hold plate
// under a country other than country, by one keyed lookup per country.
// It records nothing: the manual check it follows is recorded.
func (a *Agent) PlateElsewhere(ctx context.Context, plate, country string) []terminal.Elsewhere {
	items := make([]devices.Item, 0, len(plateCountries))
	for _, c := range plateCountries {
		if c != country {
			items = append(items, devices.Item{Field: "manual.plate", Kind: devices.KindPlate, Value: plate, Raw: plate, Country: c})
		}
	}
	all, err := a.lookupAll(items, time.Now())
	if err != nil {
		a.log.Warn("plate under other countries: lookup failed; no hint given", "err", err)
		return nil
	}
	var out []terminal.Elsewhere
	for i, found := range all {
		for _, c := range found {
			th := a.terminalHit(store.Hit{AlertID: c.Alert.ID})
			out = append(out, terminal.Elsewhere{Country: items[i].Country, Purposes: th.Purposes})
		}
	}
	return out
}

// Namesakes implements terminal.NamesakeReader: the alerts of ids as the
// replicas hold them now, those gone (expired, withdrawn) left out. It
// records nothing: the terminal records the view.
func (a *Agent) Namesakes(ctx context.Context, ids []string) []terminal.Namesake {
	var out []terminal.Namesake
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		if al, ok := a.heldAlert(id, true); ok {
			out = append(out, terminal.Namesake{AlertID: al.ID, Version: al.Version, Category: al.Category, Action: al.Action,
				Purposes: al.Purposes, Subject: al.Subject})
		}
	}
	return out
}

// replicaRefs keys the terminal's references with the replica's index key.
type replicaRefs struct{ rep *store.Replica }

// Ref implements terminal.Refs; on error it returns "", which the
// terminal treats as "nothing remembered".
func (r replicaRefs) Ref(v string) string {
	ref, err := r.rep.Ref(v)
	if err != nil {
		return ""
	}
	return ref
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
	id := o.ID
	if id == "" {
		id = newID("out")
	}
	err := r.a.rep.RecordOutcome(ctx, store.Outcome{ID: id, HitID: o.HitID, AlertID: o.AlertID, Outcome: string(o.Outcome),
		Remark: o.Remark, Officer: o.Officer, Role: string(o.Role), Time: o.Time, Corrects: o.Corrects})
	if err == nil && r.a.session != nil {
		r.a.session.Notify()
	}
	return err
}

// Audit appends an audit record (views of hits, manual checks, logins).
// A record about the memory of false matches also keeps or drops that
// memory in the replica, in the same transaction, so that the agent
// loads it at start without reading the audit log.
func (r officerRecorder) Audit(ctx context.Context, rec store.AuditRecord) error {
	if f, forget, ok := terminal.FalseMatchOf(rec); ok {
		return r.a.rep.RememberFalseMatch(ctx, f, forget, rec)
	}
	return r.a.rep.Audit(ctx, rec)
}
