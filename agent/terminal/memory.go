package terminal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/borderpost/borderpost/store"
)

// Refs turns what was read into a keyed reference: equal values give equal
// references, and a reference does not reveal its value to anyone without
// the key. The agent derives it from the replica's index key, so that the
// post's memory of false matches can sit in the audit log by reference.
type Refs interface {
	Ref(value string) string
}

// Cleared says that an officer recorded a false match for the same read
// value against the same alert version at this post.
type Cleared struct {
	Time    time.Time `json:"time"`
	Officer string    `json:"officer"`
}

// Audit events of the post's memory of false matches. Ref is the keyed
// reference of the value read, Alerts the alert, Detail "alert version N".
const (
	// EventFalseMatch: an officer recorded a false match; later reads of
	// the same value against the same alert version are shown as cleared.
	EventFalseMatch store.AuditEvent = "terminal.false_match"
	// EventFalseMatchForgotten: a supervisor removed that memory.
	EventFalseMatchForgotten store.AuditEvent = "terminal.false_match_forgotten"
)

type memKey struct {
	ref     string
	alert   string
	version uint64
}

// memory is the post's memory of false matches, given at start
// (Remember) and kept in step as officers record them.
type memory struct {
	mu sync.Mutex
	m  map[memKey]Cleared
}

func newMemory() *memory { return &memory{m: map[memKey]Cleared{}} }

func (m *memory) get(h *Hit) *Cleared {
	if h.ref == "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.m[memKey{h.ref, h.AlertID, h.AlertVersion}]
	if !ok {
		return nil
	}
	return &c
}

func (m *memory) put(k memKey, c Cleared) {
	m.mu.Lock()
	m.m[k] = c
	m.mu.Unlock()
}

func (m *memory) forget(k memKey) {
	m.mu.Lock()
	delete(m.m, k)
	m.mu.Unlock()
}

// memRecord is the audit record that remembers (or forgets) h's pair.
func memRecord(ev store.AuditEvent, h *Hit, user string) store.AuditRecord {
	return store.AuditRecord{Event: ev, Ref: h.ref, Device: "terminal:" + user, Detail: fmt.Sprintf("alert version %d", h.AlertVersion),
		Hits: []string{h.ID}, Alerts: []string{h.AlertID}}
}

// FalseMatchOf reads an audit record the terminal wrote about its memory
// of false matches: the memory, whether the record forgets it, and false
// for records of other events. The agent uses it to keep that memory in
// the replica in the same transaction as the record.
func FalseMatchOf(rec store.AuditRecord) (f store.FalseMatch, forget bool, ok bool) {
	if rec.Event != EventFalseMatch && rec.Event != EventFalseMatchForgotten || rec.Ref == "" || len(rec.Alerts) != 1 {
		return f, false, false
	}
	var v uint64
	if _, err := fmt.Sscanf(rec.Detail, "alert version %d", &v); err != nil {
		return f, false, false
	}
	return store.FalseMatch{Ref: rec.Ref, AlertID: rec.Alerts[0], Version: v, Officer: strings.TrimPrefix(rec.Device, "terminal:"),
		Time: rec.Time}, rec.Event == EventFalseMatchForgotten, true
}

// Remember gives the terminal a false match the post remembers, at start
// (store.Replica.FalseMatches), before Handler serves.
func (t *Terminal) Remember(f store.FalseMatch) {
	t.memory.put(memKey{f.Ref, f.AlertID, f.Version}, Cleared{Time: f.Time, Officer: f.Officer})
}

// hmacRefs is the terminal's own Refs when the agent gives none: keyed
// with a random key, so memory lasts only as long as the process.
type hmacRefs []byte

func (k hmacRefs) Ref(v string) string {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil))
}

// readRef is the keyed reference of what h read: its kind, country and
// normalised value.
func readRef(refs Refs, h *Hit) string {
	return refs.Ref("terminal.read\x00" + h.ItemKind + "\x00" + h.Country + "\x00" + h.Value)
}

// group is equal for the hits of one read value against one alert
// version; the page folds such hits into one card. It reveals nothing of
// the value.
func (h *Hit) group() string {
	if h.ref == "" {
		return h.ID
	}
	s := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d", h.ref, h.AlertID, h.AlertVersion)))
	return hex.EncodeToString(s[:8])
}
