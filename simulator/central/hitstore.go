package central

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/borderpost/borderpost/store"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Layout of a hit store file:
//
//	agents/<agent ID>/hits      seq (8 bytes, big-endian) -> JSON store.Hit
//	agents/<agent ID>/ids       entry ID -> seq, for de-duplication
//	agents/<agent ID>/outcomes  arrival counter (8 bytes, big-endian) -> JSON store.Outcome
//	agents/<agent ID>/held      seq -> empty: stored seqs above the cursor
//	agents/<agent ID>/meta      "cursor" -> seq: every seq up to it is stored
//
// A hit whose seq is already taken by a hit with another ID (an agent that
// lost its disk numbers its outbox from 1 again) is kept under the seq
// followed by its ID, so that nothing is overwritten and key order is
// still seq order.
var (
	bucketAgents   = []byte("agents")
	bucketHits     = []byte("hits")
	bucketIDs      = []byte("ids")
	bucketOutcomes = []byte("outcomes")
	bucketHeld     = []byte("held")
	bucketMeta     = []byte("meta")
	keyCursor      = []byte("cursor")
)

// hitStoreLockTimeout is how long OpenHitStore waits for another process to
// release the file.
const hitStoreLockTimeout = time.Second

// exportPage is the number of hits Export reads per read transaction; it
// writes each page outside the transaction so that a slow reader never
// holds one open for long.
const exportPage = 256

// ErrInvalidHit is returned, wrapped, by Store for a batch it refuses as a
// whole: an empty agent ID, a hit without an ID, or a hit with seq 0.
var ErrInvalidHit = errors.New("invalid hit")

// HitStore keeps central's hits on disk, per agent, de-duplicated by entry
// ID, with the agent's acknowledgement cursor: what Store reports as stored
// is on disk (fsynced) and survives a crash. Its methods are safe for
// concurrent use; concurrent Store calls share one transaction and one
// fsync. One process at a time may open a file.
type HitStore struct {
	db *bolt.DB
}

// OpenHitStore opens the hit store at path, creating the file if it does not
// exist. It waits at most a second for another process holding the file and
// then fails with an error naming the path. It refuses a bbolt file that
// holds anything other than a hit store.
func OpenHitStore(path string) (*HitStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: hitStoreLockTimeout, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("open hit store %s: the file is locked by another process (is another central running?): %w", path, err)
		}
		return nil, fmt.Errorf("open hit store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if !bytes.Equal(name, bucketAgents) {
				return fmt.Errorf("not a hit store: it holds a bucket %q", name)
			}
			return nil
		}); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(bucketAgents)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open hit store %s: %w", path, err)
	}
	// Messages from many agents arrive on their own goroutines: group them
	// into one fsync, with a short delay so that a lone message stays fast.
	db.MaxBatchDelay = 2 * time.Millisecond
	return &HitStore{db: db}, nil
}

// Close closes the file. Calls after Close fail.
func (s *HitStore) Close() error {
	return s.db.Close()
}

// Store records a batch of entries from one agent's outbox in one bbolt
// transaction, and returns only once that transaction is committed and
// fsynced (it may share the transaction with concurrent calls), so that
// upto may be acknowledged at once.
//
// Entries whose ID is already stored (in this or any earlier batch) are
// skipped and counted in dups. An entry whose Outcome is set is an
// officer's outcome: it is stored for Outcomes and Export, counted in
// outcomes and not returned in fresh. fresh holds the new hits in batch
// order.
//
// Every entry, hit or outcome, takes its seq: upto is the highest seq up to
// which every entry of this agent is stored. floor is the lowest seq still
// in the agent's outbox (0 when unknown): everything below it was
// acknowledged before, so upto is at least floor-1. Stored seqs above upto
// are kept, and upto moves over them once the gap fills. upto moves back
// only when the agent's numbering restarted (a replaced or restored
// replica: a new hit under a seq already counted); the count then starts
// again from floor.
//
// A batch with an empty agent ID, an entry without an ID, or an entry with
// seq 0 is refused whole with an error wrapping ErrInvalidHit, and nothing of
// it is stored. On any error nothing of the batch is stored and upto must
// not be acknowledged.
func (s *HitStore) Store(agent string, floor uint64, hits []store.Hit) (fresh []store.Hit, dups, outcomes int, upto uint64, err error) {
	if err := checkAgent(agent); err != nil {
		return nil, 0, 0, 0, err
	}
	for i, h := range hits {
		switch {
		case h.ID == "":
			return nil, 0, 0, 0, fmt.Errorf("store hits of %s: entry %d (seq %d): %w: no ID", agent, i, h.Seq, ErrInvalidHit)
		case len(h.ID) > bolt.MaxKeySize:
			return nil, 0, 0, 0, fmt.Errorf("store hits of %s: entry %d (seq %d): %w: ID longer than %d bytes", agent, i, h.Seq, ErrInvalidHit, bolt.MaxKeySize)
		case h.Seq == 0:
			return nil, 0, 0, 0, fmt.Errorf("store hits of %s: entry %d (%s): %w: seq 0", agent, i, h.ID, ErrInvalidHit)
		}
	}
	err = s.db.Batch(func(tx *bolt.Tx) error {
		// Batch may run this more than once: start afresh every time.
		fresh, dups, outcomes, upto = fresh[:0], 0, 0, 0
		b, err := agentBuckets(tx, agent, true)
		if err != nil {
			return err
		}
		cursor := b.cursor()
		if restarted(hits, cursor, func(id string) bool { return b.ids.Get([]byte(id)) != nil },
			func(seq uint64) bool { return b.held.Get(u64key(seq)) != nil }) {
			// The agent numbers afresh: its old count means nothing now.
			cursor = 0
			if err := b.clearHeld(); err != nil {
				return err
			}
		}
		for _, h := range hits {
			if b.ids.Get([]byte(h.ID)) != nil {
				// Stored already; it still counts, as after a restart.
				dups++
				if h.Seq > cursor {
					if err := b.held.Put(u64key(h.Seq), []byte{}); err != nil {
						return err
					}
				}
				continue
			}
			seq := u64key(h.Seq)
			if err := b.ids.Put([]byte(h.ID), seq); err != nil {
				return err
			}
			if h.Seq > cursor {
				if err := b.held.Put(seq, []byte{}); err != nil {
					return err
				}
			}
			if h.Outcome != nil {
				data, err := json.Marshal(h.Outcome)
				if err != nil {
					return err
				}
				n, err := b.outcomes.NextSequence()
				if err != nil {
					return err
				}
				if err := b.outcomes.Put(u64key(n), data); err != nil {
					return err
				}
				outcomes++
				continue
			}
			data, err := json.Marshal(h)
			if err != nil {
				return err
			}
			key := seq
			if b.hits.Get(key) != nil {
				key = append(key, h.ID...)
			}
			if err := b.hits.Put(key, data); err != nil {
				return err
			}
			fresh = append(fresh, h)
		}
		if floor > 0 && floor-1 > cursor {
			cursor = floor - 1
		}
		// Drop held seqs the floor covered, and move over contiguous ones.
		c := b.held.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.First() {
			held := binary.BigEndian.Uint64(k)
			if held > cursor+1 {
				break
			}
			if held == cursor+1 {
				cursor++
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		upto = cursor
		return b.meta.Put(keyCursor, u64key(cursor))
	})
	if err != nil {
		return nil, 0, 0, 0, fmt.Errorf("store hits of %s: %w", agent, err)
	}
	return fresh, dups, outcomes, upto, nil
}

// restarted reports whether an agent's hit numbering started again: a
// hit central has not stored carries a sequence central already holds
// another hit under (at or below the contiguous cursor, or held above
// it). It happens when a post's replica is replaced or restored from a
// backup. Acknowledging by the old count would make the agent drop hits
// central never received, so the count restarts from the agent's floor.
func restarted(hits []store.Hit, cursor uint64, stored func(id string) bool, held func(seq uint64) bool) bool {
	for _, h := range hits {
		if !stored(h.ID) && (h.Seq <= cursor || held(h.Seq)) {
			return true
		}
	}
	return false
}

// clearHeld forgets the seqs held above the cursor.
func (b *agentStore) clearHeld() error {
	c := b.held.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// Hits returns the distinct hits stored for an agent, in seq order (none,
// and no error, for an agent never seen). Outcomes are not among them.
func (s *HitStore) Hits(agent string) ([]store.Hit, error) {
	out, err := agentValues[store.Hit](s.db, agent, func(b *agentStore) *bolt.Bucket { return b.hits })
	if err != nil {
		return nil, fmt.Errorf("hits of %s: %w", agent, err)
	}
	return out, nil
}

// Outcomes returns the distinct officers' outcomes stored for an agent, in
// the order they arrived (none, and no error, for an agent never seen).
func (s *HitStore) Outcomes(agent string) ([]store.Outcome, error) {
	out, err := agentValues[store.Outcome](s.db, agent, func(b *agentStore) *bolt.Bucket { return b.outcomes })
	if err != nil {
		return nil, fmt.Errorf("outcomes of %s: %w", agent, err)
	}
	return out, nil
}

// agentValues decodes the JSON values of one of an agent's buckets, in key
// order; none, and no error, for an agent never seen.
func agentValues[T any](db *bolt.DB, agent string, bucket func(*agentStore) *bolt.Bucket) ([]T, error) {
	var out []T
	err := db.View(func(tx *bolt.Tx) error {
		b, err := agentBuckets(tx, agent, false)
		if b == nil || err != nil {
			return err
		}
		return bucket(b).ForEach(func(_, v []byte) error {
			var x T
			if err := json.Unmarshal(v, &x); err != nil {
				return err
			}
			out = append(out, x)
			return nil
		})
	})
	return out, err
}

// Agents returns the IDs of every agent that has had a batch stored, sorted
// (byte order).
func (s *HitStore) Agents() ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAgents).ForEach(func(k, v []byte) error {
			if v == nil {
				out = append(out, string(k))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	return out, nil
}

// exportLine is one line of Export.
type exportLine struct {
	Agent    string            `json:"agent"`
	Hit      json.RawMessage   `json:"hit"`
	Outcomes []json.RawMessage `json:"outcomes"`
}

// Export writes every stored hit of every agent, or of one agent when agent
// is not empty, to w as JSON Lines, one object per hit:
//
//	{"agent": "...", "hit": {store.Hit}, "outcomes": [{store.Outcome}, ...]}
//
// with the officers' outcomes for that hit (joined by hit ID, whenever they
// arrived, in arrival order; [] when there are none). Lines are sorted by
// agent (byte order), then seq. An outcome whose hit is not stored appears
// nowhere. An unknown agent yields no lines and no error.
//
// Export reads in short transactions of a few hundred hits and writes
// outside them, so it never holds up Store; hits stored while it runs may
// or may not appear. It stops when ctx is done, and returns the number of
// lines written, with the first error.
func (s *HitStore) Export(ctx context.Context, w io.Writer, agent string) (int, error) {
	agents := []string{agent}
	if agent == "" {
		var err error
		if agents, err = s.Agents(); err != nil {
			return 0, fmt.Errorf("export hits: %w", err)
		}
	}
	n := 0
	for _, a := range agents {
		m, err := s.exportAgent(ctx, w, a)
		n += m
		if err != nil {
			return n, fmt.Errorf("export hits of %s: %w", a, err)
		}
	}
	return n, nil
}

// exportAgent writes one agent's lines for Export.
func (s *HitStore) exportAgent(ctx context.Context, w io.Writer, agent string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	joined := make(map[string][]json.RawMessage)
	err := s.db.View(func(tx *bolt.Tx) error {
		b, err := agentBuckets(tx, agent, false)
		if b == nil || err != nil {
			return err
		}
		return b.outcomes.ForEach(func(_, v []byte) error {
			var o struct {
				HitID string `json:"hit_id"`
			}
			if err := json.Unmarshal(v, &o); err != nil {
				return err
			}
			joined[o.HitID] = append(joined[o.HitID], bytes.Clone(v))
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	var (
		n    int
		last []byte // key of the last hit written; nil before the first page
		buf  bytes.Buffer
		enc  = json.NewEncoder(&buf)
		none = []json.RawMessage{}
	)
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		buf.Reset()
		lines := 0
		err := s.db.View(func(tx *bolt.Tx) error {
			b, err := agentBuckets(tx, agent, false)
			if b == nil || err != nil {
				return err
			}
			c := b.hits.Cursor()
			k, v := c.First()
			if last != nil {
				if k, v = c.Seek(last); k != nil && bytes.Equal(k, last) {
					k, v = c.Next()
				}
			}
			for ; k != nil && lines < exportPage; k, v = c.Next() {
				var h struct {
					ID string `json:"hit_id"`
				}
				if err := json.Unmarshal(v, &h); err != nil {
					return fmt.Errorf("hit at key %x: %w", k, err)
				}
				outs := joined[h.ID]
				if outs == nil {
					outs = none
				}
				if err := enc.Encode(exportLine{Agent: agent, Hit: v, Outcomes: outs}); err != nil {
					return err
				}
				last = bytes.Clone(k)
				lines++
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		if lines == 0 {
			return n, nil
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return n, err
		}
		n += lines
	}
}

// agentStore is one agent's buckets.
type agentStore struct {
	hits, ids, outcomes, held, meta *bolt.Bucket
}

// agentBuckets returns an agent's buckets, creating them when create is
// set (tx writable); without create it returns nil for an unknown agent.
func agentBuckets(tx *bolt.Tx, agent string, create bool) (*agentStore, error) {
	root := tx.Bucket(bucketAgents)
	if !create {
		if agent == "" {
			return nil, nil
		}
		ab := root.Bucket([]byte(agent))
		if ab == nil {
			return nil, nil
		}
		b := &agentStore{hits: ab.Bucket(bucketHits), ids: ab.Bucket(bucketIDs), outcomes: ab.Bucket(bucketOutcomes),
			held: ab.Bucket(bucketHeld), meta: ab.Bucket(bucketMeta)}
		if b.hits == nil || b.ids == nil || b.outcomes == nil || b.held == nil || b.meta == nil {
			return nil, fmt.Errorf("agent %s: buckets missing: the file is damaged", agent)
		}
		return b, nil
	}
	ab, err := root.CreateBucketIfNotExists([]byte(agent))
	if err != nil {
		return nil, err
	}
	var b agentStore
	for _, sub := range []struct {
		name []byte
		dst  **bolt.Bucket
	}{{bucketHits, &b.hits}, {bucketIDs, &b.ids}, {bucketOutcomes, &b.outcomes}, {bucketHeld, &b.held}, {bucketMeta, &b.meta}} {
		if *sub.dst, err = ab.CreateBucketIfNotExists(sub.name); err != nil {
			return nil, err
		}
	}
	return &b, nil
}

// cursor returns the agent's persisted cursor, 0 when none.
func (b *agentStore) cursor() uint64 {
	if v := b.meta.Get(keyCursor); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func checkAgent(agent string) error {
	switch {
	case agent == "":
		return fmt.Errorf("store hits: %w: no agent ID", ErrInvalidHit)
	case len(agent) > bolt.MaxKeySize:
		return fmt.Errorf("store hits: %w: agent ID longer than %d bytes", ErrInvalidHit, bolt.MaxKeySize)
	}
	return nil
}

func u64key(n uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n)
}
