package central

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	bpsync "github.com/borderpost/borderpost/sync"
)

// AgentView is one agent as the fleet view shows it.
type AgentView struct {
	Agent        string    `json:"agent"`
	Post         string    `json:"post,omitempty"` // the post's name, from its status
	Link         string    `json:"link"`
	LastSeen     time.Time `json:"last_seen"`
	Epoch        uint64    `json:"epoch"`
	Seq          uint64    `json:"seq"`
	Digest       string    `json:"digest"`
	InStep       bool      `json:"in_step"` // holds exactly central's current set
	Behind       bool      `json:"behind"`  // on an older epoch or sequence
	Silent       bool      `json:"silent"`  // offline, or no status for longer than the threshold
	Stale        bool      `json:"stale"`   // the agent shows its officers the stale-replica alarm
	OutboxDepth  int       `json:"outbox_depth"`
	OutboxOldest time.Time `json:"outbox_oldest,omitzero"`
	// ReplicaAsOf is when central last confirmed the agent's replica
	// current (a delta applied, or a head naming its sequence), or, before
	// any confirmation since the agent started, when its replica last
	// changed. Its age is how old the post's list may be.
	ReplicaAsOf time.Time `json:"replica_as_of,omitzero"`
	// Scopes are the agent's assigned scopes, each compared with
	// central's stream; for a scoped agent InStep and Behind sum them up.
	Scopes []ScopeView `json:"scopes,omitempty"`
}

// ScopeView is one scope of an agent in the fleet view.
type ScopeView struct {
	Scope  string `json:"scope"`
	Seq    uint64 `json:"seq"`
	Digest string `json:"digest"`
	Alerts int    `json:"alerts"`
	Held   bool   `json:"held"`    // the agent reports holding it
	InStep bool   `json:"in_step"` // with central's sequence and digest
	Behind bool   `json:"behind"`
}

// Fleet returns every agent that has reported a status, compared with
// central's current epoch, sequence and digest: agents silent for longer
// than silentAfter, or behind, are flagged. Sorted by agent ID.
func (c *Central) Fleet(now time.Time, silentAfter time.Duration) []AgentView {
	c.mu.Lock()
	defer c.mu.Unlock()
	digest := c.whole.digest.String()
	views := make([]AgentView, 0, len(c.statuses))
	for id, s := range c.statuses {
		v := viewOf(id, s, c.whole.epoch, c.whole.seq, digest, now, silentAfter)
		if names, scoped := c.assign[id]; scoped {
			c.scopeViews(&v, s, names)
		}
		views = append(views, v)
	}
	slices.SortFunc(views, func(a, b AgentView) int { return strings.Compare(a.Agent, b.Agent) })
	return views
}

func viewOf(id string, s bpsync.Status, epoch, seq uint64, digest string, now time.Time, silentAfter time.Duration) AgentView {
	v := AgentView{Agent: id, Post: s.Post, Link: s.Link, LastSeen: s.Time, Epoch: s.Epoch, Seq: s.Seq, Digest: s.Digest,
		Stale: s.Freshness.Stale, OutboxDepth: s.OutboxDepth, OutboxOldest: s.OutboxOldest}
	v.ReplicaAsOf = s.Freshness.Confirmed
	if v.ReplicaAsOf.IsZero() {
		v.ReplicaAsOf = s.ReplicaAt
	}
	v.InStep = s.Epoch == epoch && s.Seq == seq && s.Digest == digest
	v.Behind = s.Epoch < epoch || (s.Epoch == epoch && s.Seq < seq)
	v.Silent = s.Link != "online" || now.Sub(s.Time) > silentAfter
	return v
}

// scopeViews compares a scoped agent's scopes with central's streams: it
// is in step when it holds exactly its assigned scopes, each at central's
// sequence and digest. c.mu held.
func (c *Central) scopeViews(v *AgentView, s bpsync.Status, assigned []string) {
	held := make(map[string]bpsync.ScopeStatus, len(s.Scopes))
	for _, ss := range s.Scopes {
		held[ss.Scope] = ss
	}
	v.InStep, v.Behind = len(s.Scopes) == len(assigned), false
	for _, name := range assigned {
		st := c.scopes[name]
		ss, ok := held[name]
		sv := ScopeView{Scope: name, Seq: ss.Seq, Digest: ss.Digest, Alerts: ss.Alerts, Held: ok}
		sv.InStep = ok && ss.Epoch == st.epoch && ss.Seq == st.seq && ss.Digest == st.digest.String()
		sv.Behind = !ok || ss.Epoch < st.epoch || ss.Epoch == st.epoch && ss.Seq < st.seq
		v.InStep = v.InStep && sv.InStep
		v.Behind = v.Behind || sv.Behind
		v.Scopes = append(v.Scopes, sv)
	}
}

// WriteFleet prints the fleet view as a table an operator reads at a
// glance: agents needing attention carry a mark in the first column.
func WriteFleet(w io.Writer, views []AgentView, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tAGENT\tPOST\tLINK\tLAST SEEN\tREPLICA\tREPLICA AGE\tIN STEP\tOUTBOX\tOLDEST WAITING\tSCOPES")
	for _, v := range views {
		mark := ""
		switch {
		case v.Silent:
			mark = "SILENT"
		case v.Behind:
			mark = "BEHIND"
		case !v.InStep:
			mark = "DIFFERS"
		case v.Stale:
			mark = "STALE"
		}
		oldest := "-"
		if !v.OutboxOldest.IsZero() {
			oldest = now.Sub(v.OutboxOldest).Round(time.Second).String()
		}
		replica := fmt.Sprintf("%d/%d %.8s", v.Epoch, v.Seq, v.Digest)
		scopes := "-"
		if v.Scopes != nil {
			replica = "scoped"
			parts := make([]string, 0, len(v.Scopes))
			for _, sv := range v.Scopes {
				state := "in step"
				switch {
				case !sv.Held:
					state = "not held"
				case sv.Behind:
					state = "behind"
				case !sv.InStep:
					state = "differs"
				}
				parts = append(parts, fmt.Sprintf("%s %d/%d (%s)", sv.Scope, sv.Seq, sv.Alerts, state))
			}
			scopes = strings.Join(parts, ", ")
		}
		age := "-"
		if !v.ReplicaAsOf.IsZero() {
			age = now.Sub(v.ReplicaAsOf).Round(time.Second).String()
		}
		post := v.Post
		if post == "" {
			post = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s ago\t%s\t%s\t%v\t%d\t%s\t%s\n", mark, v.Agent, post, v.Link, now.Sub(v.LastSeen).Round(time.Second),
			replica, age, v.InStep, v.OutboxDepth, oldest, scopes)
	}
	return tw.Flush()
}
