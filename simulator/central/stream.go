package central

import (
	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
)

// stream is one signed sequence of deltas with its own epoch, sequence,
// digest and replay history: the whole watch list, or one scope's share
// of it.
type stream struct {
	scope   string // "" for the whole watch list
	rule    bpsync.ScopeRule
	epoch   uint64
	alerts  map[string]store.Alert
	digest  store.Digest
	seq     uint64
	last    [32]byte
	history map[uint64][]byte // seq -> signed delta as published
	// dirty is set when a delta of this scope could not be published: the
	// next share is computed over the whole list, not the changes alone.
	dirty bool
}

func newStream(scope string, rule bpsync.ScopeRule, epoch uint64) *stream {
	return &stream{scope: scope, rule: rule, epoch: epoch, alerts: make(map[string]store.Alert), history: make(map[uint64][]byte)}
}

// stream returns the stream's name in signed bodies.
func (st *stream) stream() string {
	if st.scope == "" {
		return bpsync.StreamWhole
	}
	return bpsync.ScopeStream(st.scope)
}

// topic returns the stream's broadcast topic: "delta" or "head".
func (st *stream) topic(kind string) string {
	if st.scope == "" {
		if kind == "head" {
			return bpsync.TopicHead
		}
		return bpsync.TopicDelta
	}
	return bpsync.ScopeTopic(st.scope, kind)
}

// agentTopic returns the stream's topic for one agent: "deltas" or
// "snapshot".
func (st *stream) agentTopic(agent, kind string) string {
	if st.scope == "" {
		return bpsync.AgentTopic(agent, kind)
	}
	return bpsync.AgentScopeTopic(agent, st.scope, kind)
}

// share returns the changes that bring the scope in step with the whole
// list for the given alert IDs (all of them when ids is nil): alerts the
// rule selects and the scope lacks, or holds in another version, are
// upserts; alerts it holds that the list dropped, or that the rule no
// longer selects, are deletes.
func (st *stream) share(whole map[string]store.Alert, ids []string) (upserts []store.Alert, deletes []string) {
	if ids == nil {
		for id := range whole {
			ids = append(ids, id)
		}
		for id := range st.alerts {
			if _, ok := whole[id]; !ok {
				ids = append(ids, id)
			}
		}
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		a, listed := whole[id]
		held, holds := st.alerts[id]
		switch {
		case listed && st.rule.Selects(&a):
			if !holds || held.Version != a.Version {
				upserts = append(upserts, a)
			}
		case holds:
			deletes = append(deletes, id)
		}
	}
	return upserts, deletes
}
