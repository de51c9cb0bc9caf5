package sync

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/borderpost/borderpost/store"
)

// MaxMessage bounds any message the agent accepts from the broker. A delta
// of 10,000 alerts is about 5 MiB; anything far larger is refused unread.
const MaxMessage = 64 << 20

// Delta is the signed body of a watch-list change. Its hash (SHA-256 of the
// signed bytes) is what the next delta names as Prev. Binding: KindDelta
// and its stream.
type Delta struct {
	Binding
	Epoch   uint64        `json:"epoch"`
	Seq     uint64        `json:"seq"`
	Prev    string        `json:"prev"`   // hex hash of the previous delta; zeros for the first of an epoch
	Digest  string        `json:"digest"` // store.Digest of the alert set after this delta
	Issued  time.Time     `json:"issued"`
	Upserts []store.Alert `json:"upserts,omitempty"`
	Deletes []string      `json:"deletes,omitempty"`
}

// Change converts a verified delta into the store's form.
func (d *Delta) Change(hash [32]byte) (store.Change, error) {
	ch := store.Change{Epoch: d.Epoch, Seq: d.Seq, Hash: hash, Upserts: d.Upserts, Deletes: d.Deletes}
	prev, err := hex.DecodeString(d.Prev)
	if err != nil || len(prev) != 32 {
		return ch, fmt.Errorf("%w: delta %d: prev is not a 32-byte hex hash", ErrMessage, d.Seq)
	}
	copy(ch.PrevHash[:], prev)
	if ch.Digest, err = store.ParseDigest(d.Digest); err != nil {
		return ch, fmt.Errorf("%w: delta %d: digest is not a 32-byte hex hash", ErrMessage, d.Seq)
	}
	return ch, nil
}

// Head is central's signed statement of the latest delta, published
// retained so that an agent learns on connect whether it is behind.
// Binding: KindHead and its stream.
type Head struct {
	Binding
	Epoch   uint64    `json:"epoch"`
	Seq     uint64    `json:"seq"`
	Digest  string    `json:"digest"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
}

// Resync is an agent's request to be brought up to date: "I hold epoch E,
// sequence N".
type Resync struct {
	Agent string `json:"agent"`
	// Scope names the scope's stream; empty for the whole watch list.
	Scope string `json:"scope,omitempty"`
	Epoch uint64 `json:"epoch"`
	Seq   uint64 `json:"seq"`
}

// HitMessage carries consecutive hits from an agent's outbox, in sequence
// order: one when hits trickle in, up to the batch size when a backlog
// drains. Floor is the lowest sequence still in the outbox when it was
// sent: everything below it has been acknowledged, so central may move its
// cursor up to Floor-1.
type HitMessage struct {
	Agent string `json:"agent"`
	// Outbox names this run of the agent's outbox; central echoes it in
	// its Ack, and the agent takes only acks naming it.
	Outbox string      `json:"outbox"`
	Floor  uint64      `json:"floor"`
	Hits   []store.Hit `json:"hits"`
	// The agent sends Hits only sealed (SealHits): First and Last are the
	// sequences of the first and last hit in Sealed, the HPKE ciphertext
	// of the hits to central's hit key KeyID; Hits is then empty.
	First  uint64 `json:"first,omitempty"`
	Last   uint64 `json:"last,omitempty"`
	KeyID  string `json:"key_id,omitempty"`
	Sealed []byte `json:"sealed,omitempty"`
}

// Ack is central's signed acknowledgement: it has stored every hit of the
// agent up to and including sequence Upto, as numbered by the outbox
// Outbox (the HitMessage's). Binding: KindAck to the agent. An ack naming
// another outbox is refused, so that an old ack replayed after the
// agent's numbering restarted cannot delete hits central never received.
type Ack struct {
	Binding
	Outbox string `json:"outbox"`
	Upto   uint64 `json:"upto"`
}

// Status is an agent's retained status, also its last will (Link
// "offline").
type Status struct {
	Agent string `json:"agent"`
	// Post is the post's name as its officers and central's operators
	// call it (agent.post in the configuration).
	Post         string    `json:"post,omitempty"`
	Link         string    `json:"link"` // online or offline
	Time         time.Time `json:"time"`
	Epoch        uint64    `json:"epoch"`
	Seq          uint64    `json:"seq"`
	Digest       string    `json:"digest"`
	ReplicaAt    time.Time `json:"replica_at,omitzero"`
	OutboxDepth  int       `json:"outbox_depth"`
	OutboxOldest time.Time `json:"outbox_oldest,omitzero"`
	Freshness    Freshness `json:"freshness"`
	// Scopes are the scopes the agent follows, each with its replica;
	// empty when it follows the whole watch list (Epoch, Seq, Digest).
	Scopes []ScopeStatus `json:"scopes,omitempty"`
}
