package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/borderpost/borderpost/store"
)

// SnapshotManifest is the signed description of a snapshot: the state it
// brings the replica to, and the SHA-256 of each chunk, so that every chunk
// is authenticated by the one signature. Binding: KindSnapshot, its
// stream, to the agent.
type SnapshotManifest struct {
	Binding
	ID     string    `json:"id"` // distinguishes one transfer from the next
	Epoch  uint64    `json:"epoch"`
	Seq    uint64    `json:"seq"`
	Hash   string    `json:"hash"`   // hex hash of delta Seq: the next delta names it
	Digest string    `json:"digest"` // store.Digest of the whole alert set
	Count  int       `json:"count"`
	Chunks []string  `json:"chunks"` // hex SHA-256 of each chunk's alerts, in order
	Issued time.Time `json:"issued"`
}

// SnapshotChunk carries part of a snapshot's alerts; Alerts is the JSON
// array whose bytes the manifest's hash covers.
type SnapshotChunk struct {
	ID     string          `json:"id"`
	Index  int             `json:"index"`
	Alerts json.RawMessage `json:"alerts"`
}

// SnapshotMessage is one message on an agent's snapshot topic: a signed
// manifest (an Envelope) or a chunk.
type SnapshotMessage struct {
	Manifest json.RawMessage `json:"manifest,omitempty"`
	Chunk    *SnapshotChunk  `json:"chunk,omitempty"`
}

// ChunkHash returns the hash a manifest lists for a chunk's alerts.
func ChunkHash(alerts []byte) string {
	sum := sha256.Sum256(alerts)
	return hex.EncodeToString(sum[:])
}

// maxAhead bounds the chunks a loader keeps while an earlier one is late.
const maxAhead = 64

// snapshotStall is how long a snapshot may go without a chunk before it is
// abandoned and asked for again.
const snapshotStall = 30 * time.Second

// loading is a snapshot being received.
type loading struct {
	m        SnapshotManifest
	w        *store.Snapshot
	next     int
	ahead    map[int][]byte
	progress time.Time
}

// HandleSnapshot is the Handler for the agent's snapshot topic. A
// manifest starts a transfer (abandoning an older one); chunks are added in
// order; when the last chunk is in, the snapshot commits only if the alert
// set has the manifest's digest.
func (w *Watchlist) HandleSnapshot(topic string, payload []byte) {
	w.gate.enter()
	defer w.gate.leave()
	if err := w.handleSnapshot(context.Background(), topic, payload); err != nil {
		w.log.Warn("snapshot message refused", "topic", topic, "err", err)
	}
}

func (w *Watchlist) handleSnapshot(ctx context.Context, topic string, payload []byte) error {
	if len(payload) > MaxMessage {
		return w.refuse(ctx, store.EventSnapshotRefused, topic, "", fmt.Errorf("%w: %d bytes, limit %d", ErrMessage, len(payload), MaxMessage))
	}
	var msg SnapshotMessage
	if err := decodeStrict(payload, &msg); err != nil {
		return w.refuse(ctx, store.EventSnapshotRefused, topic, "", fmt.Errorf("%w: snapshot message: %w", ErrMessage, err))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return errStopped
	}
	switch {
	case msg.Manifest != nil && msg.Chunk == nil:
		return w.beginSnapshot(ctx, topic, msg.Manifest)
	case msg.Chunk != nil && msg.Manifest == nil:
		return w.addChunk(ctx, topic, msg.Chunk)
	}
	return w.refuse(ctx, store.EventSnapshotRefused, topic, "", fmt.Errorf("%w: a snapshot message holds a manifest or a chunk", ErrMessage))
}

func (w *Watchlist) beginSnapshot(ctx context.Context, topic string, signed []byte) error {
	var m SnapshotManifest
	if _, err := w.verify.Open(signed, Binding{Kind: KindSnapshot, Stream: w.stream, To: w.agent}, &m); err != nil {
		return w.refuse(ctx, store.EventSnapshotRefused, topic, "", err)
	}
	if w.snap != nil && w.snap.m.ID == m.ID {
		return nil // redelivered
	}
	ref := fmt.Sprintf("%s %d/%d", m.ID, m.Epoch, m.Seq)
	hash, err1 := hex.DecodeString(m.Hash)
	_, err2 := store.ParseDigest(m.Digest)
	if err1 != nil || len(hash) != 32 || err2 != nil || len(m.Chunks) == 0 {
		return w.refuse(ctx, store.EventSnapshotRefused, topic, ref, fmt.Errorf("%w: manifest hash, digest or chunk list malformed", ErrMessage))
	}
	// A snapshot only moves the replica forward: an old manifest replayed
	// would roll it back to a state central has since changed.
	cur, err := w.rep.Cursor()
	if err != nil {
		return fmt.Errorf("read replica cursor: %w", err)
	}
	if fresh := cur.Epoch == 0 && cur.Seq == 0; !fresh && (m.Epoch < cur.Epoch || m.Epoch == cur.Epoch && m.Seq <= cur.Seq) {
		return w.refuse(ctx, store.EventSnapshotRefused, topic, ref, fmt.Errorf("%w: snapshot at %d/%d, replica at %d/%d",
			ErrStale, m.Epoch, m.Seq, cur.Epoch, cur.Seq))
	}
	w.abandonSnapshot("a newer snapshot started")
	var h [32]byte
	copy(h[:], hash)
	sw, err := w.rep.BeginSnapshot(m.Epoch, m.Seq, h)
	if err != nil {
		return fmt.Errorf("begin snapshot %s: %w", m.ID, err)
	}
	w.snap = &loading{m: m, w: sw, ahead: make(map[int][]byte), progress: time.Now()}
	w.log.Info("snapshot started", "id", m.ID, "epoch", m.Epoch, "seq", m.Seq, "alerts", m.Count, "chunks", len(m.Chunks))
	return nil
}

func (w *Watchlist) addChunk(ctx context.Context, topic string, c *SnapshotChunk) error {
	s := w.snap
	ref := fmt.Sprintf("%s chunk %d", c.ID, c.Index)
	if s == nil || c.ID != s.m.ID {
		// Chunks of a topic arrive after their manifest: this one belongs
		// to a transfer finished, abandoned or never started.
		return w.refuse(ctx, store.EventSnapshotRefused, topic, ref, fmt.Errorf("%w: a chunk of no snapshot in progress", ErrStale))
	}
	if c.Index < 0 || c.Index >= len(s.m.Chunks) || ChunkHash(c.Alerts) != s.m.Chunks[c.Index] {
		err := fmt.Errorf("%w: snapshot %s chunk %d does not match its manifest", ErrSignature, s.m.ID, c.Index)
		w.abandonSnapshot("a chunk failed its checksum")
		w.requestResync()
		return w.refuse(ctx, store.EventSnapshotRefused, topic, ref, err)
	}
	if c.Index < s.next {
		return nil // redelivered
	}
	if c.Index > s.next {
		if len(s.ahead) < maxAhead {
			s.ahead[c.Index] = c.Alerts
		}
		return nil
	}
	s.ahead[c.Index] = c.Alerts
	for {
		raw, ok := s.ahead[s.next]
		if !ok {
			break
		}
		delete(s.ahead, s.next)
		var alerts []store.Alert
		if err := json.Unmarshal(raw, &alerts); err != nil {
			w.abandonSnapshot("a chunk did not decode")
			return w.refuse(ctx, store.EventSnapshotRefused, topic, ref, fmt.Errorf("%w: chunk %d: %w", ErrMessage, s.next, err))
		}
		if err := s.w.Add(ctx, alerts); err != nil {
			w.abandonSnapshot("a chunk was refused by the store")
			w.requestResync()
			return w.refuse(ctx, store.EventSnapshotRefused, topic, ref, err)
		}
		s.next++
		s.progress = time.Now()
	}
	if s.next < len(s.m.Chunks) {
		return nil
	}
	digest, _ := store.ParseDigest(s.m.Digest)
	w.snap = nil
	if err := s.w.Commit(ctx, digest); err != nil {
		w.requestResync()
		return fmt.Errorf("commit snapshot %s: %w", s.m.ID, err) // the store audited it
	}
	w.current = time.Now()
	clear(w.ahead)
	w.log.Info("snapshot applied", "id", s.m.ID, "epoch", s.m.Epoch, "seq", s.m.Seq, "alerts", s.m.Count)
	if w.reloaded != nil {
		w.reloaded()
	}
	return nil
}

// abandonSnapshot aborts a snapshot in progress. w.mu held.
func (w *Watchlist) abandonSnapshot(why string) {
	if w.snap == nil {
		return
	}
	if err := w.snap.w.Abort(); err != nil && !errors.Is(err, store.ErrBusy) {
		w.log.Error("abort snapshot", "err", err)
	}
	w.log.Info("snapshot abandoned", "id", w.snap.m.ID, "reason", why, "chunks", w.snap.next, "of", len(w.snap.m.Chunks))
	w.snap = nil
}

// BuildSnapshot splits alerts into chunks of at most chunk alerts and
// returns the messages of one transfer: the manifest m, completed with its
// count and chunk hashes and signed, then the chunks in order.
func BuildSnapshot(s *Signer, m SnapshotManifest, alerts []store.Alert, chunk int) ([][]byte, error) {
	if chunk <= 0 {
		chunk = 2000
	}
	if m.Kind != KindSnapshot || m.To == "" || m.Stream == "" {
		return nil, fmt.Errorf("%w: a snapshot manifest names kind %q, its stream and its agent; got %s", ErrBinding, KindSnapshot, m.Binding)
	}
	m.Count, m.Chunks = len(alerts), nil
	var chunks []SnapshotChunk
	for i := 0; i < len(alerts) || i == 0; i += chunk {
		part := alerts[i:min(i+chunk, len(alerts))]
		raw, err := json.Marshal(part)
		if err != nil {
			return nil, err
		}
		m.Chunks = append(m.Chunks, ChunkHash(raw))
		chunks = append(chunks, SnapshotChunk{ID: m.ID, Index: len(chunks), Alerts: raw})
		if len(alerts) == 0 {
			break
		}
	}
	signed, _, err := s.Seal(m)
	if err != nil {
		return nil, err
	}
	first, err := json.Marshal(SnapshotMessage{Manifest: signed})
	if err != nil {
		return nil, err
	}
	msgs := [][]byte{first}
	for i := range chunks {
		b, err := json.Marshal(SnapshotMessage{Chunk: &chunks[i]})
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, b)
	}
	return msgs, nil
}
