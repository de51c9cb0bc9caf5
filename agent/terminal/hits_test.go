package terminal

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// stream is an open live stream read event by event.
type stream struct {
	resp *http.Response
	sc   *bufio.Scanner
}

func (c *client) stream(t *testing.T) *stream {
	t.Helper()
	// The deadline only guards against a hang; no assertion depends on it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/api/events", nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	return &stream{resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next returns the next event's name and data.
func (s *stream) next(t *testing.T) (string, string) {
	t.Helper()
	var name, data string
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if name != "" {
				return name, data
			}
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		}
	}
	t.Fatalf("stream ended: %v", s.sc.Err())
	return "", ""
}

// until reads events up to and including the first named want.
func (s *stream) until(t *testing.T, want string) (string, []string) {
	t.Helper()
	var seen []string
	for {
		name, data := s.next(t)
		seen = append(seen, name)
		if name == want {
			return data, seen
		}
	}
}

func TestStreamDeliversPublishedHit(t *testing.T) {
	r := newRig(t, testConfig(), false)
	c := r.client()
	mustLogin(t, c, "anna")
	s := c.stream(t)
	b, _ := s.until(t, "banner")
	var banner Banner
	if err := json.Unmarshal([]byte(b), &banner); err != nil || banner.ReplicaVersion != "epoch 1, delta 42" || !banner.LinkUp {
		t.Fatalf("banner %q: %v", b, err)
	}
	s.until(t, "ready")
	r.t.Publish(testHit("hit-customs", "customs")) // not for officers
	r.t.Publish(testHit("hit-border", "border"))
	data, seen := s.until(t, "hit")
	var got card
	if err := json.Unmarshal([]byte(data), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != "hit-border" || len(seen) != 1 {
		t.Fatalf("first event after ready: %v %+v, want the border hit only", seen, got)
	}
	if got.Action != "Arrest the driver" || got.Category != "art26-arrest" || strings.Join(got.Warnings, ",") != "armed,violent" {
		t.Fatalf("card lacks action, category or warnings: %+v", got)
	}
	// The officer must see at once what was read and whom the alert seeks.
	if got.Read.Value != "B-AB 123" || got.Read.Country != "DE" || got.Read.What != "Plate" || !got.Urgent || got.Rank != rankArrest {
		t.Fatalf("card does not say what was read or how urgent it is: %s", data)
	}
}

func TestStreamBacklogAndDuplicates(t *testing.T) {
	r := newRig(t, testConfig(), false)
	r.t.Publish(testHit("hit-1", "border"))
	r.t.Publish(testHit("hit-1", "border")) // resent by the agent
	r.t.Publish(testHit("hit-2", "customs"))
	c := r.client()
	mustLogin(t, c, "sven") // supervisor: border and customs
	s := c.stream(t)
	_, seen := s.until(t, "ready")
	if strings.Join(seen, ",") != "banner,hit,hit,ready" {
		t.Fatalf("backlog events %v, want banner, two hits, ready", seen)
	}
}

func TestRoleFilteringByPurposes(t *testing.T) {
	r := newRig(t, testConfig(), false)
	r.t.Publish(testHit("hit-border", "border"))
	r.t.Publish(testHit("hit-customs", "customs", "tax"))
	r.t.Publish(testHit("hit-none")) // an alert with no purposes: no one
	for _, tc := range []struct {
		user string
		see  map[string]bool
	}{
		{"anna", map[string]bool{"hit-border": true}},
		{"sven", map[string]bool{"hit-border": true, "hit-customs": true}},
		{"theo", map[string]bool{}}, // technicians see no hits whatever the config says
	} {
		c := r.client()
		mustLogin(t, c, tc.user)
		for _, id := range []string{"hit-border", "hit-customs", "hit-none", "hit-unknown"} {
			var d detail
			resp, err := c.do("GET", "/api/hits/"+id, nil, &d)
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.see[id]; (resp.StatusCode == http.StatusOK) != want {
				t.Errorf("%s viewing %s: %d, want visible=%v", tc.user, id, resp.StatusCode, want)
			}
			if resp.StatusCode == http.StatusOK && d.ID != id {
				t.Errorf("%s viewing %s got %s", tc.user, id, d.ID)
			}
			resp, _ = c.do("POST", "/api/hits/"+id+"/outcome", outcomeRequest{Outcome: "false_match"}, nil)
			if resp.StatusCode == http.StatusOK && !tc.see[id] {
				t.Errorf("%s acknowledged %s, which the role may not see", tc.user, id)
			}
		}
	}
	for _, o := range r.rec.Outcomes() {
		if o.HitID != "hit-border" && o.HitID != "hit-customs" {
			t.Errorf("outcome recorded for a hidden hit: %+v", o)
		}
	}
}

func TestViewIsAuditedBeforeShown(t *testing.T) {
	r := newRig(t, testConfig(), false)
	r.t.Publish(testHit("hit-1", "border"))
	c := r.client()
	mustLogin(t, c, "anna")
	var d detail
	resp, err := c.do("GET", "/api/hits/hit-1", nil, &d)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("view: %v %v", resp.StatusCode, err)
	}
	if d.Raw != "B-AB 123" || d.Value != "BAB123" || d.Country != "DE" || !strings.Contains(d.Explanation, "equals the alert's plate") {
		t.Fatalf("explanation incomplete: %+v", d)
	}
	views := r.rec.Events(EventHitView)
	if len(views) != 1 || views[0].Ref != "hit-1" || views[0].Device != "terminal:anna" || views[0].Alerts[0] != "SIS-1" {
		t.Fatalf("view audit records: %+v", views)
	}
	c.do("GET", "/api/hits/hit-1", nil, nil)
	if n := len(r.rec.Events(EventHitView)); n != 2 {
		t.Fatalf("second view made %d records in all, want 2", n)
	}
	// A hidden hit is not audited as viewed.
	r.t.Publish(testHit("hit-2", "customs"))
	c.do("GET", "/api/hits/hit-2", nil, nil)
	if n := len(r.rec.Events(EventHitView)); n != 2 {
		t.Fatalf("refused view audited as a view: %d records", n)
	}
}

func TestOutcomeRecorded(t *testing.T) {
	r := newRig(t, testConfig(), false)
	r.t.Publish(testHit("hit-1", "border"))
	c := r.client()
	mustLogin(t, c, "anna")
	watcher := r.client()
	mustLogin(t, watcher, "sven")
	s := watcher.stream(t)
	s.until(t, "ready")

	for _, bad := range []outcomeRequest{{Outcome: "arrested"}, {Outcome: ""}, {Outcome: "confirmed", Remark: strings.Repeat("x", 281)},
		{Outcome: "confirmed", Remark: "bell\x07"}} {
		if resp, _ := c.do("POST", "/api/hits/hit-1/outcome", bad, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("outcome %+v: %d, want 400", bad, resp.StatusCode)
		}
	}
	r.rec.failNext = errDisk
	if resp, _ := c.do("POST", "/api/hits/hit-1/outcome", outcomeRequest{Outcome: "confirmed"}, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("outcome with the recorder failing: %d", resp.StatusCode)
	}
	var b Banner
	if c.do("GET", "/api/banner", nil, &b); !b.RecordFailing {
		t.Fatal("the banner does not say that records cannot be written")
	}
	var got card
	resp, err := c.do("POST", "/api/hits/hit-1/outcome", outcomeRequest{Outcome: "confirmed", Remark: "  driver held, lane 2 "}, &got)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("outcome after a failed try: %v %v", resp.StatusCode, err)
	}
	b = Banner{}
	if c.do("GET", "/api/banner", nil, &b); b.RecordFailing {
		t.Fatal("the banner still says records fail after one was written")
	}
	outs := r.rec.Outcomes()
	if len(outs) != 1 {
		t.Fatalf("recorded %d outcomes, want 1", len(outs))
	}
	o := outs[0]
	if o.HitID != "hit-1" || o.AlertID != "SIS-1" || o.Outcome != OutcomeConfirmed || o.Remark != "driver held, lane 2" ||
		o.Officer != "anna" || o.Role != RoleOfficer || !o.Time.Equal(r.clock.Now()) {
		t.Fatalf("outcome record %+v", o)
	}
	if resp, _ := c.do("POST", "/api/hits/hit-1/outcome", outcomeRequest{Outcome: "false_match"}, nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("second outcome: %d, want 409", resp.StatusCode)
	}
	data, _ := s.until(t, "outcome")
	var ev OutcomeRecord
	if err := json.Unmarshal([]byte(data), &ev); err != nil || ev.HitID != "hit-1" || ev.Officer != "anna" {
		t.Fatalf("outcome event %q: %v", data, err)
	}
}

func TestSlowStreamIsDroppedNotBlocking(t *testing.T) {
	r := newRig(t, testConfig(), false)
	sub := r.t.subscribe(RoleOfficer)
	for i := range subscriberBuffer + 10 { // nobody reads: Publish must not block
		r.t.Publish(testHit("hit-"+string(rune('a'+i%26))+string(rune('a'+i/26)), "border"))
	}
	select {
	case <-sub.done:
	default:
		t.Fatal("a subscriber that fell behind was not dropped")
	}
}
