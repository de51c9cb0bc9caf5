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
}

// Fleet returns every agent that has reported a status, compared with
// central's current epoch, sequence and digest: agents silent for longer
// than silentAfter, or behind, are flagged. Sorted by agent ID.
func (c *Central) Fleet(now time.Time, silentAfter time.Duration) []AgentView {
	c.mu.Lock()
	defer c.mu.Unlock()
	digest := c.digest.String()
	views := make([]AgentView, 0, len(c.statuses))
	for id, s := range c.statuses {
		views = append(views, viewOf(id, s, c.cfg.Epoch, c.seq, digest, now, silentAfter))
	}
	slices.SortFunc(views, func(a, b AgentView) int { return strings.Compare(a.Agent, b.Agent) })
	return views
}

func viewOf(id string, s bpsync.Status, epoch, seq uint64, digest string, now time.Time, silentAfter time.Duration) AgentView {
	v := AgentView{Agent: id, Link: s.Link, LastSeen: s.Time, Epoch: s.Epoch, Seq: s.Seq, Digest: s.Digest,
		Stale: s.Freshness.Stale, OutboxDepth: s.OutboxDepth, OutboxOldest: s.OutboxOldest}
	v.InStep = s.Epoch == epoch && s.Seq == seq && s.Digest == digest
	v.Behind = s.Epoch < epoch || (s.Epoch == epoch && s.Seq < seq)
	v.Silent = s.Link != "online" || now.Sub(s.Time) > silentAfter
	return v
}

// WriteFleet prints the fleet view as a table an operator reads at a
// glance: agents needing attention carry a mark in the first column.
func WriteFleet(w io.Writer, views []AgentView, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tAGENT\tLINK\tLAST SEEN\tREPLICA\tIN STEP\tOUTBOX\tOLDEST WAITING")
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s ago\t%d/%d %.8s\t%v\t%d\t%s\n", mark, v.Agent, v.Link, now.Sub(v.LastSeen).Round(time.Second),
			v.Epoch, v.Seq, v.Digest, v.InStep, v.OutboxDepth, oldest)
	}
	return tw.Flush()
}
