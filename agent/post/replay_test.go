package post

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/borderpost/borderpost/agent/config"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/simulator/central"
	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
	"github.com/borderpost/borderpost/sync/synctest"
)

// capture is one message central published, as a recorder on bp/v1/#
// received it.
type capture struct {
	topic   string
	payload []byte
}

// fromCentral reports whether central (not an agent) publishes on topic.
func fromCentral(topic string) bool {
	parts := strings.Split(topic, "/")
	if len(parts) == 5 && parts[2] == "agents" {
		switch parts[4] {
		case "hits", "status", "resync", "replica":
			return false
		}
	}
	return true
}

// TestReplayedCentralMessagesChangeNothing (issue 15): every message
// central signed in a run (whole-list and scope deltas, heads, snapshots,
// assignments for this post and another, acknowledgements for both, and
// the root's delegation), replayed on every topic the post subscribes to,
// in order and shuffled, twice, leaves the post's scopes, cursors and
// digests as they were; the planted alerts still hit; every refused
// message leaves exactly one audit record. The old code took an old
// assignment for the one in force and dropped scopes, and left refused
// heads and acknowledgements unaudited.
func TestReplayedCentralMessagesChangeNothing(t *testing.T) {
	ctx := context.Background()
	broker := synctest.StartMosquitto(t)
	rootPub, rootPriv, _ := ed25519.GenerateKey(rand.Reader)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer := bpsync.NewSigner(priv)
	cert, err := bpsync.Delegate(bpsync.NewSigner(rootPriv), pub, time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	signer.Cert = cert

	var mu gosync.Mutex
	var captured []capture
	recorder, err := bpsync.Dial(bpsync.LinkConfig{Broker: broker.URL(), ClientID: "recorder", Transient: true, Logger: quiet,
		Subscriptions: map[string]bpsync.Handler{"bp/v1/#": func(topic string, p []byte) {
			if !fromCentral(topic) || len(p) == 0 {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, c := range captured {
				if c.topic == topic && bytes.Equal(c.payload, p) {
					return // a retained message delivered again
				}
			}
			captured = append(captured, capture{topic, bytes.Clone(p)})
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer recorder.Close()
	waitFor(t, 10*time.Second, "recorder connected", recorder.Connected)

	scopes := []bpsync.Scope{
		{Name: "road", Rule: bpsync.ScopeRule{Subjects: []store.SubjectKind{store.SubjectVehicle}}},
		{Name: "postal", Rule: bpsync.ScopeRule{Subjects: []store.SubjectKind{store.SubjectDocument}}},
	}
	// KeepDeltas 1: a post that starts empty gets a snapshot, not replays.
	c, err := central.Start(central.Config{Broker: broker.URL(), Signer: signer, Scopes: scopes, KeepDeltas: 1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, 10*time.Second, "central connected", c.Connected)
	car := store.Alert{ID: "CAR", Version: 1, Action: "seize", Subject: store.Subject{Kind: store.SubjectVehicle, Vehicle: &store.Vehicle{Plate: "MAB1234", PlateCountry: "DE"}}}
	doc := store.Alert{ID: "DOC", Version: 1, Action: "seize", Subject: store.Subject{Kind: store.SubjectDocument, Document: &store.Document{Number: "C01X00T47", Country: "DE"}}}
	gun := store.Alert{ID: "GUN", Version: 1, Subject: store.Subject{Kind: store.SubjectFirearm, Firearm: &store.Firearm{Serial: "SN-123456"}}}
	carV2 := car
	carV2.Version = 2
	// Two road deltas: a post given the road scope later gets a snapshot.
	for _, a := range []store.Alert{car, doc, gun, carV2} {
		if _, err := c.Publish([]store.Alert{a}, nil); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	cfg := config.Defaults()
	cfg.Agent.ID = "post-test"
	cfg.Store.Path = filepath.Join(dir, "replica.db")
	cfg.Store.Key.File = filepath.Join(dir, "data.key")
	if err := store.WriteKeyFile(cfg.Store.Key.File); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "central.pub")
	os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(rootPub)+"\n"), 0o600)
	cfg.Trust.CentralKeys = []string{keyFile}
	hitKeyFile := filepath.Join(dir, "central-hits.pub")
	os.WriteFile(hitKeyFile, []byte(c.HitPublicKey().String()+"\n"), 0o600)
	cfg.Sync.CentralHitKey = hitKeyFile
	cfg.MQTT.Broker = broker.URL()
	cfg.HTTP.Listen = "127.0.0.1:0"
	var a *Agent
	start := func() (stop func()) {
		t.Helper()
		var err error
		if a, err = New(ctx, cfg, quiet); err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(runCtx) }()
		return func() { cancel(); <-done }
	}
	stop := start()
	defer func() { stop() }()

	inStep := func(rep *store.Replica, seq uint64, digest store.Digest) bool {
		cur, err := rep.Cursor()
		return err == nil && cur.Seq == seq && cur.Digest == digest
	}
	wholeInStep := func() bool {
		a.scopeMu.Lock()
		defer a.scopeMu.Unlock()
		return !a.scoped && inStep(a.rep, c.Seq(), c.Digest())
	}
	scopesInStep := func(names ...string) func() bool {
		return func() bool {
			a.scopeMu.Lock()
			defer a.scopeMu.Unlock()
			if len(a.scopes) != len(names) || a.retiring {
				return false
			}
			for _, n := range names {
				seq, digest, _, _ := c.ScopeState(n)
				if a.scopes[n] == nil || !inStep(a.scopes[n].rep, seq, digest) {
					return false
				}
			}
			return true
		}
	}
	check := func(item devices.Item) devices.Result {
		t.Helper()
		res, err := a.Check(ctx, devices.Check{Device: "test", Items: []devices.Item{item}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	plate := devices.Item{Field: "plate", Kind: devices.KindPlate, Value: "MAB1234", Country: "DE"}
	passport := devices.Item{Field: "document", Kind: devices.KindDocument, Value: "C01X00T47", Country: "DE"}
	outboxEmpty := func() bool { ob, err := a.rep.Outbox(); return err == nil && ob.Depth == 0 }

	waitFor(t, 20*time.Second, "whole list from a snapshot", wholeInStep)
	if st := c.Stats(); st.Snapshots == 0 {
		t.Fatal("the post caught up without a snapshot; the run must hold one")
	}
	check(plate) // a hit, acknowledged by central
	waitFor(t, 10*time.Second, "hit acknowledged", outboxEmpty)
	// Another post's hit, so that its acknowledgement is in the run.
	otherAcked := make(chan struct{}, 1)
	other, err := bpsync.Dial(bpsync.LinkConfig{Broker: broker.URL(), ClientID: "post-other", Logger: quiet,
		Subscriptions: map[string]bpsync.Handler{bpsync.AgentTopic("post-other", "acks"): func(string, []byte) {
			select {
			case otherAcked <- struct{}{}:
			default:
			}
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	waitFor(t, 10*time.Second, "other post connected", other.Connected)
	otherHits, err := bpsync.SealHits(c.HitPublicKey(), "post-other", 1, []store.Hit{{ID: "hit-other-1", Seq: 1, Time: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	otherHits.Outbox = "b3V0Ym94LW90aGVy"
	otherMsg, _ := json.Marshal(otherHits)
	if err := other.Publish(bpsync.AgentTopic("post-other", "hits"), false, otherMsg); err != nil {
		t.Fatal(err)
	}
	select {
	case <-otherAcked:
	case <-time.After(10 * time.Second):
		t.Fatal("central did not acknowledge the other post's hit")
	}
	if err := c.Assign("post-other", []string{"postal"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Unassign("post-other"); err != nil {
		t.Fatal(err)
	}

	// Assigned a scope, then two.
	if err := c.Assign("post-test", []string{"road"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "scope road", scopesInStep("road"))
	if err := c.Assign("post-test", []string{"road", "postal"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "scopes road and postal", scopesInStep("road", "postal"))
	carV3 := car
	carV3.Version = 3
	if _, err := c.Publish([]store.Alert{carV3}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "live scope delta", scopesInStep("road", "postal"))
	check(passport)
	waitFor(t, 10*time.Second, "hit acknowledged", outboxEmpty)
	time.Sleep(500 * time.Millisecond) // the recorder's last messages

	type state struct {
		cursors map[string]store.Cursor
		saved   string
	}
	snapshot := func() state {
		a.scopeMu.Lock()
		defer a.scopeMu.Unlock()
		s := state{cursors: map[string]store.Cursor{}}
		cur, _ := a.rep.Cursor()
		s.cursors["whole"] = cur
		for n, set := range a.scopes {
			cur, _ := set.rep.Cursor()
			s.cursors[n] = cur
		}
		b, _ := os.ReadFile(assignmentPath(cfg.Store.Path))
		s.saved = string(b)
		return s
	}
	audits := func() int {
		a.scopeMu.Lock()
		defer a.scopeMu.Unlock()
		n := 0
		for _, rep := range append([]*store.Replica{a.rep}, func() []*store.Replica {
			var reps []*store.Replica
			for _, set := range a.scopes {
				reps = append(reps, set.rep)
			}
			return reps
		}()...) {
			rep.AuditRecords(ctx, func(store.AuditRecord) error { n++; return nil })
		}
		return n
	}
	before := snapshot()

	mu.Lock()
	msgs := slices.Clone(captured)
	mu.Unlock()
	msgs = append(msgs, capture{"(root's delegation)", cert})
	// What the post holds in force: the last head of each of its streams
	// on that stream's head topic, the last assignment for it, and its
	// own acknowledgements (already applied: applying them again changes
	// nothing). Everything else is refused.
	inForce := map[string][]byte{}
	kinds := map[string]int{}
	for _, m := range msgs {
		inForce[m.topic] = m.payload
		kinds[m.topic]++
	}
	topics := []string{bpsync.AgentTopic("post-test", "acks"), bpsync.AgentTopic("post-test", "scopes")}
	for _, n := range []string{"road", "postal"} {
		topics = append(topics, bpsync.ScopeTopic(n, "delta"), bpsync.ScopeTopic(n, "head"),
			bpsync.AgentScopeTopic("post-test", n, "deltas"), bpsync.AgentScopeTopic("post-test", n, "snapshot"))
	}
	accepted := func(topic string, m capture) bool {
		switch {
		case topic == bpsync.AgentTopic("post-test", "acks"):
			return m.topic == topic
		case strings.HasSuffix(topic, "/head"), topic == bpsync.AgentTopic("post-test", "scopes"):
			return m.topic == topic && bytes.Equal(m.payload, inForce[topic])
		}
		return false
	}
	refusals := 0
	for _, topic := range topics {
		for _, m := range msgs {
			if !accepted(topic, m) {
				refusals++
			}
		}
	}
	var seen []string
	for tp, n := range kinds {
		seen = append(seen, fmt.Sprintf("%s:%d", tp, n))
	}
	sort.Strings(seen)
	t.Logf("%d messages recorded (%s); %d replays per round refused", len(msgs), strings.Join(seen, " "), refusals)
	for _, want := range []string{bpsync.TopicDelta, bpsync.TopicHead, bpsync.AgentTopic("post-test", "snapshot"),
		bpsync.AgentTopic("post-test", "acks"), bpsync.AgentTopic("post-other", "acks"), bpsync.AgentTopic("post-other", "scopes"),
		bpsync.AgentTopic("post-test", "scopes"), bpsync.ScopeTopic("road", "delta"), bpsync.AgentScopeTopic("post-test", "road", "snapshot")} {
		if kinds[want] == 0 {
			t.Fatalf("the run holds no message on %s", want)
		}
	}

	replayer, err := bpsync.Dial(bpsync.LinkConfig{Broker: broker.URL(), ClientID: "replayer", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer replayer.Close()
	waitFor(t, 10*time.Second, "replayer connected", replayer.Connected)
	startAudits := audits()
	seed := time.Now().UnixNano()
	t.Logf("shuffle seed %d", seed)
	rng := mrand.New(mrand.NewPCG(uint64(seed), 0))
	rounds := 0
	for _, shuffled := range []bool{false, true, false, true} {
		order := slices.Clone(msgs)
		if shuffled {
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		for _, m := range order {
			for _, topic := range topics {
				for replayer.Publish(topic, false, m.payload) != nil {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
		rounds++
	}
	want := startAudits + rounds*refusals
	deadline := time.Now().Add(30 * time.Second)
	for audits() != want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // nothing more comes
	if got := audits(); got != want {
		t.Errorf("%d audit records after the replays, want %d (%d before, %d refusals in each of %d rounds)", got, want, startAudits, refusals, rounds)
	}
	after := snapshot()
	if after.saved != before.saved {
		t.Errorf("the saved assignment changed:\n%s\nwas\n%s", after.saved, before.saved)
	}
	if len(after.cursors) != len(before.cursors) {
		t.Errorf("streams followed %v after the replays, were %v", after.cursors, before.cursors)
	}
	for n, cur := range before.cursors {
		if got := after.cursors[n]; got.Epoch != cur.Epoch || got.Seq != cur.Seq || got.Hash != cur.Hash || got.Digest != cur.Digest {
			t.Errorf("%s: cursor %+v after the replays, was %+v", n, got, cur)
		}
	}
	for _, item := range []devices.Item{plate, passport} {
		if res := check(item); len(res.Hits) != 1 {
			t.Errorf("planted %s: hits %+v after the replays, want one", item.Field, res.Hits)
		}
	}

	// After a restart the assignment in force is still known: the older
	// ones are refused again, the one in force (retained) is no no-op.
	stop()
	stop = start()
	waitFor(t, 20*time.Second, "scopes after the restart", func() bool {
		select {
		case <-a.sessionSet:
			return a.session.Connected() && scopesInStep("road", "postal")()
		default:
			return false
		}
	})
	time.Sleep(500 * time.Millisecond) // the retained assignment, taken as a no-op
	startAudits = audits()
	scopesTopic := bpsync.AgentTopic("post-test", "scopes")
	refusals = 0
	for _, m := range msgs {
		if m.topic == scopesTopic && !accepted(scopesTopic, m) {
			refusals++
			for replayer.Publish(scopesTopic, false, m.payload) != nil {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	want = startAudits + refusals
	deadline = time.Now().Add(10 * time.Second)
	for audits() != want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if got := audits(); got != want || refusals == 0 {
		t.Errorf("after a restart: %d audit records, want %d (%d older assignments replayed)", got, want, refusals)
	}
	if s := snapshot(); s.saved != before.saved || len(s.cursors) != len(before.cursors) {
		t.Errorf("after a restart an older assignment changed the scopes: %v, saved %s", s.cursors, s.saved)
	}
	if res := check(passport); len(res.Hits) != 1 {
		t.Errorf("planted document after a restart: hits %+v", res.Hits)
	}
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
