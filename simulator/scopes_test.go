package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/borderpost/borderpost/simulator/central"
	"github.com/borderpost/borderpost/simulator/rig"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// scopesUnderTest are the three kinds of post of issue 10.
var scopesUnderTest = []bpsync.Scope{
	{Name: "road", Rule: bpsync.ScopeRule{Subjects: []store.SubjectKind{store.SubjectVehicle}}},
	{Name: "postal", Rule: bpsync.ScopeRule{Subjects: []store.SubjectKind{store.SubjectPerson, store.SubjectCompany, store.SubjectDocument}}},
	{Name: "customs", Rule: bpsync.ScopeRule{Purposes: []string{"customs"}}},
}

// TestScopes: three posts with different scopes receive the same stream of
// changes and each ends holding exactly what its scope selects, in a
// replica file per scope and nothing else; an alert that loses the customs
// purpose stops hitting at the customs post and still hits at the road
// post; a scope central drops from a post is purged from its disk.
func TestScopes(t *testing.T) {
	root, signer := delegatedSigner(t)
	broker := synctest.StartMosquitto(t)
	assign := map[string][]string{"post-road": {"road"}, "post-postal": {"postal"}, "post-customs": {"customs"}}
	c := startCentral(t, central.Config{Broker: broker.URL(), Signer: signer, Scopes: scopesUnderTest, Assign: assign})

	// The list as central holds it, to compute each scope directly.
	list := map[string]store.Alert{}
	publish := func(ups []store.Alert, dels []string) {
		t.Helper()
		if _, err := c.Publish(ups, dels); err != nil {
			t.Fatal(err)
		}
		for _, a := range ups {
			list[a.ID] = a
		}
		for _, id := range dels {
			delete(list, id)
		}
	}
	gen := watchlist.NewGenerator(10, watchlist.DefaultMix)
	first := gen.Alerts(400)
	publish(first, nil)

	agents := map[string]*rig.Agent{}
	for id := range assign {
		// The customs post is configured scoped: it never follows the
		// whole list; the others follow it until their assignment arrives.
		agents[id] = startAgent(t, rig.AgentOptions{ID: id, Broker: broker.URL(), CentralKey: root, HitKey: c.HitPublicKey(), Scoped: id == "post-customs"})
	}
	view := func(id string) central.AgentView {
		for _, v := range c.Fleet(time.Now(), 10*time.Second) {
			if v.Agent == id {
				return v
			}
		}
		return central.AgentView{}
	}
	allInStep := func(what string) {
		t.Helper()
		for id := range agents {
			waitFor(t, 60*time.Second, id+" in step "+what, func() bool { v := view(id); return v.InStep && len(v.Scopes) > 0 && !v.Silent })
		}
	}
	allInStep("after the first list")

	// A stream of changes: new alerts, new versions whose purposes or
	// subject fields change (entering and leaving scopes), deletions.
	purposes := [][]string{{"customs"}, {"police"}, {"border", "customs"}, {"border"}}
	for round := range 4 {
		ups := gen.Alerts(40)
		var dels []string
		i := 0
		for _, a := range first[round*60 : round*60+60] {
			if _, ok := list[a.ID]; !ok {
				continue
			}
			if i%3 == 0 {
				dels = append(dels, a.ID)
			} else {
				b := list[a.ID]
				b.Version++
				b.Purposes = purposes[(i+round)%len(purposes)]
				ups = append(ups, b)
			}
			i++
		}
		publish(ups, dels)
	}
	allInStep("after the stream of changes")

	// Pick a vehicle alert for customs and the road: then it loses customs.
	var plate store.Alert
	for _, a := range list {
		if a.Subject.Kind == store.SubjectVehicle && a.Subject.Vehicle.Plate != "" && slices.Contains(a.Purposes, "customs") {
			plate = a
			break
		}
	}
	if plate.ID == "" {
		plate = gen.Alerts(1)[0]
		plate.Subject = store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "KX417TR", PlateCountry: "PL"}}
		plate.Purposes = []string{"customs", "border"}
		publish([]store.Alert{plate}, nil)
		allInStep("with the customs vehicle")
	}
	if !scanHits(t, agents["post-customs"], plate) || !scanHits(t, agents["post-road"], plate) {
		t.Fatalf("vehicle alert %s (purposes %v) does not hit at both the customs and the road post", plate.ID, plate.Purposes)
	}
	if scanHits(t, agents["post-postal"], plate) {
		t.Errorf("vehicle alert %s hits at the postal hub, whose scope has no vehicles", plate.ID)
	}
	narrowed := plate
	narrowed.Version++
	narrowed.Purposes = []string{"border"}
	publish([]store.Alert{narrowed}, nil)
	allInStep("after the vehicle lost customs")
	if scanHits(t, agents["post-customs"], narrowed) {
		t.Errorf("alert %s lost the customs purpose but still hits at the customs post", plate.ID)
	}
	if !scanHits(t, agents["post-road"], narrowed) {
		t.Errorf("alert %s no longer hits at the road post", plate.ID)
	}

	// Central drops postal from the postal hub while it is down, giving
	// it customs instead; it acts on the retained assignment when it
	// starts again.
	hub := agents["post-postal"]
	if err := hub.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Assign("post-postal", []string{"customs"}); err != nil {
		t.Fatal(err)
	}
	if err := hub.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the postal hub in step with its new scope", func() bool {
		v := view("post-postal")
		return v.InStep && len(v.Scopes) == 1 && v.Scopes[0].Scope == "customs"
	})
	assign["post-postal"] = []string{"customs"}
	var table strings.Builder
	central.WriteFleet(&table, c.Fleet(time.Now(), 10*time.Second), time.Now())
	t.Logf("fleet view:\n%s", table.String())
	// The operators' view from the retained messages alone agrees.
	observed, err := central.Observe(context.Background(), central.ObserveConfig{Broker: broker.URL(), Verifier: bpsync.NewVerifier(root),
		Wait: time.Second, SilentAfter: 10 * time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range observed {
		if !v.InStep || len(v.Scopes) != len(assign[v.Agent]) {
			t.Errorf("observed fleet view: %s in step %v with scopes %+v", v.Agent, v.InStep, v.Scopes)
		}
	}
	if len(observed) != 3 {
		t.Errorf("observed %d agents, want 3", len(observed))
	}

	// The posts that followed the whole list at first empty it once their
	// scopes hold their alerts.
	empty := store.Digest{}.String()
	for id, a := range agents {
		waitFor(t, 30*time.Second, id+" has emptied its whole-list replica", func() bool { s, err := a.Status(); return err == nil && s.Digest == empty })
	}
	// Each post holds exactly what its scopes select, and nothing else.
	for id, a := range agents {
		if err := a.Stop(); err != nil {
			t.Fatal(err)
		}
		for _, scope := range assign[id] {
			want := selectedIDs(list, scope)
			got := replicaIDs(t, a, scope)
			if !slices.Equal(got, want) {
				t.Errorf("%s scope %s holds %d alerts, central's list selects %d (first differences: %v)", id, scope, len(got), len(want), firstDiff(got, want))
			}
			// The raw file: every alert record in every generation (a
			// leftover generation or tombstone would show) is one of them.
			if n := rawAlertRecords(t, store.ScopePath(a.DB, scope)); n != len(want) {
				t.Errorf("%s scope %s: the raw file holds %d alert records, want %d", id, scope, n, len(want))
			}
			_, _, centralIDs, _ := c.ScopeState(scope)
			if !slices.Equal(centralIDs, want) {
				t.Errorf("central's scope %s holds %d alerts, the direct computation %d", scope, len(centralIDs), len(want))
			}
		}
		files, _ := filepath.Glob(filepath.Join(filepath.Dir(a.DB), "*.scope-*"))
		for _, f := range files {
			// replica.scope-NAME.db and what the store keeps beside it
			// (replica.scope-NAME.db.termtable, ...).
			name, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(f), strings.TrimSuffix(filepath.Base(a.DB), filepath.Ext(a.DB))+".scope-"), ".")
			if !slices.Contains(assign[id], name) {
				t.Errorf("%s keeps %s on disk, of a scope it does not follow", id, f)
			}
		}
		rep, err := a.OpenReplica(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		rep.Alerts(context.Background(), func(store.Alert) error { n++; return nil })
		var purged []string
		rep.AuditRecords(context.Background(), func(r store.AuditRecord) error {
			if r.Event == store.EventScopeDropped {
				purged = append(purged, r.Ref+": "+r.Detail)
			}
			return nil
		})
		rep.Close()
		if n != 0 {
			t.Errorf("%s's main replica holds %d alerts of the whole list", id, n)
		}
		if id == "post-customs" && slices.ContainsFunc(purged, func(s string) bool { return strings.HasPrefix(s, "whole-list") }) {
			t.Errorf("the scoped customs post held alerts of the whole list at some point: %v", purged)
		}
		if id == "post-postal" {
			if _, err := os.Stat(store.ScopePath(a.DB, "postal")); err == nil {
				t.Errorf("the dropped postal scope's replica is still on disk")
			}
			if !slices.ContainsFunc(purged, func(s string) bool { return strings.HasPrefix(s, "postal: ") }) {
				t.Errorf("the purge of the postal scope is not in the audit log: %v", purged)
			}
			t.Logf("postal hub audit: %v", purged)
		}
	}
}

// selectedIDs computes directly which alerts of list a scope selects.
func selectedIDs(list map[string]store.Alert, scope string) []string {
	var rule bpsync.ScopeRule
	for _, s := range scopesUnderTest {
		if s.Name == scope {
			rule = s.Rule
		}
	}
	var ids []string
	for id, a := range list {
		if rule.Selects(&a) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// rawAlertRecords counts the records in the alert and tombstone buckets
// of every generation of a replica file (store/README.md, "What is on
// disk"), reading the file with bbolt alone, without the key.
func rawAlertRecords(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if !strings.HasPrefix(string(name), "gen.") {
				return nil
			}
			for _, sub := range []string{"alerts", "tombs"} {
				if sb := b.Bucket([]byte(sub)); sb != nil {
					n += sb.Stats().KeyN
				}
			}
			return nil
		})
	})
	return n
}

// replicaIDs lists the alert IDs in a stopped agent's replica of scope.
func replicaIDs(t *testing.T, a *rig.Agent, scope string) []string {
	t.Helper()
	rep, err := a.OpenScope(context.Background(), scope)
	if err != nil {
		t.Fatalf("%s: open scope %s: %v", a.Opts.ID, scope, err)
	}
	defer rep.Close()
	var ids []string
	if err := rep.Alerts(context.Background(), func(al store.Alert) error { ids = append(ids, al.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	return ids
}

func firstDiff(got, want []string) []string {
	var d []string
	for _, id := range got {
		if !slices.Contains(want, id) && len(d) < 5 {
			d = append(d, "+"+id)
		}
	}
	for _, id := range want {
		if !slices.Contains(got, id) && len(d) < 10 {
			d = append(d, "-"+id)
		}
	}
	return d
}

// scanHits posts a plate scan of a vehicle alert and reports whether it
// hit that alert.
func scanHits(t *testing.T, a *rig.Agent, al store.Alert) bool {
	t.Helper()
	v := al.Subject.Vehicle
	body := fmt.Sprintf(`{"kind":"plate","value":%q,"country":%q,"device":"scope-test"}`, v.Plate, v.PlateCountry)
	resp, err := http.Post(a.URL+"/v1/scans", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		Hits []struct {
			AlertID string `json:"alert_id"`
		} `json:"hits"`
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s: scan answered %s: %s", a.Opts.ID, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	for _, h := range res.Hits {
		if h.AlertID == al.ID {
			return true
		}
	}
	return false
}

// TestPostBackToWholeList: central sends a scoped post back to the whole
// watch list; it drops its scope's replica and ends holding central's list.
func TestPostBackToWholeList(t *testing.T) {
	root, signer := delegatedSigner(t)
	broker := synctest.StartMosquitto(t)
	c := startCentral(t, central.Config{Broker: broker.URL(), Signer: signer, Scopes: scopesUnderTest[:1],
		Assign: map[string][]string{"post-back": {"road"}}})
	if _, err := c.Publish(watchlist.NewGenerator(12, watchlist.DefaultMix).Alerts(200), nil); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, rig.AgentOptions{ID: "post-back", Broker: broker.URL(), CentralKey: root, HitKey: c.HitPublicKey()})
	_, roadDigest, _, _ := c.ScopeState("road")
	waitFor(t, 30*time.Second, "the post holds its road scope", func() bool {
		s, err := a.Status()
		return err == nil && len(s.Scopes) == 1 && s.Scopes[0].Digest == roadDigest.String()
	})
	if err := c.Unassign("post-back"); err != nil {
		t.Fatal(err)
	}
	want := c.Digest().String()
	waitFor(t, 30*time.Second, "the post back on the whole list", func() bool {
		s, err := a.Status()
		return err == nil && len(s.Scopes) == 0 && s.Digest == want
	})
	if _, err := os.Stat(store.ScopePath(a.DB, "road")); err == nil {
		t.Error("the road scope's replica is still on disk")
	}
}
