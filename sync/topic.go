package sync

// Topics of the wire protocol (docs/protocol.md). Per-agent topics carry the
// agent ID, which the broker's ACL ties to the client's identity.
const (
	TopicDelta = "bp/v1/watchlist/delta" // central to agents: signed deltas
	TopicHead  = "bp/v1/watchlist/head"  // central to agents, retained: signed head
)

// AgentTopic returns the per-agent topic of the given kind: "resync",
// "deltas", "replica", "hits", "acks" or "status".
func AgentTopic(agent, kind string) string { return "bp/v1/agents/" + agent + "/" + kind }
