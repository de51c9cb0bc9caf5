package post

import (
	"encoding/json"
	"net/http"
	"time"

	bpsync "github.com/borderpost/borderpost/sync"
)

// Status is what GET /v1/status reports: enough for a technician or a test
// to see whether the agent is linked, current and draining its outbox.
type Status struct {
	Agent string `json:"agent"`
	Ready bool   `json:"ready"`
	// NotReady says why the agent is not ready (e.g. "disk full: checks
	// cannot be recorded") and Remedy what to do; empty when ready.
	NotReady string    `json:"not_ready,omitempty"`
	Remedy   string    `json:"remedy,omitempty"`
	Link     string    `json:"link"`
	Connects int64     `json:"connects"`
	Epoch    uint64    `json:"epoch"`
	Seq      uint64    `json:"seq"`
	Digest   string    `json:"digest"`
	HeadSeq  uint64    `json:"head_seq"`
	Alerts   int       `json:"alerts"`
	Checks   int64     `json:"checks"`
	Hits     int64     `json:"hits"`
	Outbox   int       `json:"outbox_depth"`
	Oldest   time.Time `json:"outbox_oldest,omitzero"`
	// Freshness carries the stale-replica alarm officers must see.
	Freshness bpsync.Freshness `json:"freshness"`
	// Scopes are the scopes central assigned, each with its replica;
	// empty while the post follows the whole watch list.
	Scopes []bpsync.ScopeStatus `json:"scopes,omitempty"`
}

func (a *Agent) serveStatus(w http.ResponseWriter, r *http.Request) {
	st := Status{Agent: a.cfg.Agent.ID, Ready: a.ready.Load(), Link: "offline", Alerts: a.alertCount(),
		Checks: a.checks.Load(), Hits: a.hits.Load()}
	st.NotReady, st.Remedy = a.notReady()
	st.Ready = st.NotReady == ""
	if a.session != nil {
		if a.session.Connected() {
			st.Link = "online"
		}
		st.Connects = a.session.Connects()
		st.HeadSeq = a.session.Head().Seq
		st.Freshness = a.session.Freshness()
		st.Scopes = a.session.Status("").Scopes
	}
	if cur, err := a.rep.Cursor(); err == nil {
		st.Epoch, st.Seq, st.Digest = cur.Epoch, cur.Seq, cur.Digest.String()
	}
	if ob, err := a.rep.Outbox(); err == nil {
		st.Outbox, st.Oldest = ob.Depth, ob.Oldest
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(st)
}
