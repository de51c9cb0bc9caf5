package terminal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

// Checker runs a manual check. The agent implements it; it must record the
// check and its hits, and publish the hits to the terminal (Publish),
// before it returns.
type Checker = devices.Checker

// Recorder writes what the terminal must keep.
type Recorder interface {
	// Outcome durably records an officer's outcome for a hit so that it
	// reaches central through the outbox, with an audit record, in one
	// transaction. It returns only once the outcome is on disk.
	Outcome(ctx context.Context, o OutcomeRecord) error
	// Audit appends one record to the agent's audit log.
	Audit(ctx context.Context, rec store.AuditRecord) error
}

// State says what officers must know about the agent itself.
type State interface {
	// Banner returns the current link and replica state. It is called
	// often (every BannerEvery per open page) and must not block.
	Banner() Banner
}

// Banner is the state shown at the top of every page.
type Banner struct {
	LinkUp        bool      `json:"link_up"`
	LinkDownSince time.Time `json:"link_down_since,omitzero"` // when the link to central was lost
	// ReplicaVersion names the replica's version as central does, e.g.
	// "epoch 3, delta 1207".
	ReplicaVersion string    `json:"replica_version"`
	ReplicaAsOf    time.Time `json:"replica_as_of,omitzero"` // when central last confirmed it current
	Stale          bool      `json:"stale"`                  // the stale-replica alarm
	StaleReason    string    `json:"stale_reason,omitempty"` // in plain words, for officers
	OutboxDepth    int       `json:"outbox_depth"`           // hits and outcomes waiting for central
	// Fault says why checks cannot be recorded (e.g. "disk full: checks
	// cannot be recorded") and Remedy what to do; empty when they can.
	Fault  string    `json:"fault,omitempty"`
	Remedy string    `json:"remedy,omitempty"`
	Now    time.Time `json:"now"` // set by the terminal, for ages
	// RecordFailing says the terminal's last write to the replica failed
	// (an outcome, an audit record): set by the terminal.
	RecordFailing bool `json:"record_failing,omitempty"`
}

// Audit events written by the terminal. The store's log takes any event
// name; these say who looked at what.
const (
	EventHitView      store.AuditEvent = "terminal.hit_view"     // an officer opened a hit's explanation
	EventManualCheck  store.AuditEvent = "terminal.manual_check" // an officer ran a manual check (Ref: check ID)
	EventLogin        store.AuditEvent = "terminal.login"
	EventLoginRefused store.AuditEvent = "terminal.login_refused"
	EventLogout       store.AuditEvent = "terminal.logout"
)

// Hinter tells whether a plate that gave no hit is sought under another
// country: a plate read or typed with the wrong country sign must not look
// clean. The agent implements it with keyed lookups of the plate under
// each country; it records nothing.
type Hinter interface {
	PlateElsewhere(ctx context.Context, plate, country string) []Elsewhere
}

// Elsewhere is an alert holding the plate under another country: that
// country, and the alert's purposes (which roles may be told).
type Elsewhere struct {
	Country  string
	Purposes []string
}

// NamesakeReader reads the alerts a hit names by reference: more alerts
// whose names match at or above the threshold than the agent reads for
// one name. The agent reads them from its replica when an officer opens the
// hit, not when the check is made; it records nothing (the terminal
// records the view).
type NamesakeReader interface {
	Namesakes(ctx context.Context, ids []string) []Namesake
}

// Namesake is one alert a hit names by reference, as read: its purposes
// say which roles may see it, as a hit's do.
type Namesake struct {
	AlertID  string
	Version  uint64
	Category string
	Action   string
	Purposes []string
	Subject  store.Subject
}

// Deps are what the terminal talks to. All but Refs, Logger and Now are
// required.
type Deps struct {
	Users    *Users
	Checker  Checker
	Recorder Recorder
	State    State
	// Refs keys the references under which the post remembers false
	// matches; without it they are keyed by a random key and forgotten
	// when the process ends.
	Refs Refs
	// Hints, if set, tells officers when a plate is sought under another
	// country than the one checked.
	Hints Hinter
	// Namesakes, if set, reads the alerts a hit names by reference, so
	// that the officer who opens it sees those the role may see.
	Namesakes NamesakeReader
	// UsersFile is the file Users was loaded from, if any: the terminal
	// takes up changes to it before each login, auditing them.
	UsersFile string
	Logger    *slog.Logger
	Now       func() time.Time // defaults to time.Now
}

// Terminal is the officers' terminal. Create it with New, mount Handler at
// "/", and call Publish for every recorded hit. Its methods are safe for
// concurrent use.
type Terminal struct {
	cfg       Config
	deps      Deps
	log       *slog.Logger
	now       func() time.Time
	purposes  map[Role]map[string]bool
	sessions  *sessions
	byUser    *limiter
	byAddr    *limiter
	hashes    chan struct{} // bounds concurrent password hashing (64 MiB each)
	dummy     passwordHash
	board     *board
	memory    *memory
	failing   atomic.Bool // the last write through Recorder failed
	users     atomic.Pointer[Users]
	usersMu   sync.Mutex // serialises reloads of the users file
	usersFile *usersFile
	mu        sync.Mutex
	subs      map[*subscriber]struct{}
	handler   http.Handler
}

// New returns a Terminal with cfg's policies (defaults filled in).
func New(cfg Config, deps Deps) (*Terminal, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if deps.Users == nil || deps.Checker == nil || deps.Recorder == nil || deps.State == nil {
		return nil, fmt.Errorf("%w: users, checker, recorder and state are required", ErrConfig)
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Refs == nil {
		deps.Refs = hmacRefs(randomBytes(32))
	}
	dummy, err := hashArgon("not a password of anyone", deps.Users.dummyParams())
	if err != nil {
		return nil, err
	}
	t := &Terminal{
		cfg: cfg, deps: deps, log: deps.Logger.With("component", "terminal"), now: deps.Now,
		purposes: map[Role]map[string]bool{},
		sessions: newSessions(cfg.SessionIdle, cfg.SessionMax),
		byUser:   newLimiter(cfg.LoginFailures, cfg.LoginWindow),
		byAddr:   newLimiter(cfg.AddressFailures, cfg.LoginWindow),
		hashes:   make(chan struct{}, 2),
		board:    newBoard(cfg.KeepHits),
		memory:   newMemory(),
		subs:     map[*subscriber]struct{}{},
	}
	if t.dummy, err = parseHash(dummy); err != nil {
		return nil, err
	}
	t.users.Store(deps.Users)
	if deps.UsersFile != "" {
		f := &usersFile{path: deps.UsersFile}
		if fi, err := os.Stat(f.path); err == nil {
			f.mod, f.size = fi.ModTime(), fi.Size()
		}
		if f.list, err = ReadUsersFile(f.path); err != nil {
			return nil, fmt.Errorf("%w: users file: %w", ErrConfig, err)
		}
		t.usersFile = f
	}
	for r, ps := range cfg.Purposes {
		m := map[string]bool{}
		for _, p := range ps {
			m[p] = true
		}
		t.purposes[r] = m
	}
	t.handler = t.routes()
	return t, nil
}

// Handler returns the terminal's page and API, to be mounted at "/".
func (t *Terminal) Handler() http.Handler { return t.handler }

// Publish shows a recorded hit on every open page whose role may see it.
// It never blocks: a page that cannot keep up is disconnected and gets the
// hit when it reconnects. A hit published twice is shown once. The
// terminal keeps h: the caller must not change its slices afterwards.
func (t *Terminal) Publish(h Hit) {
	h.ref = readRef(t.deps.Refs, &h)
	if !t.board.add(h, nil) {
		return
	}
	t.broadcast(&h, func() (string, any) { return "hit", t.cardOf(&h, nil) })
}

// Restore puts back a hit recorded before the agent restarted, with its
// outcome if one was recorded (o may be nil), without alerting any page.
// Call it at start, oldest first, before Handler serves.
func (t *Terminal) Restore(h Hit, o *OutcomeRecord) {
	h.ref = readRef(t.deps.Refs, &h)
	t.board.add(h, o)
}

// cardOf is h's card with its outcome and what the post remembers of it.
func (t *Terminal) cardOf(h *Hit, o *OutcomeRecord) card {
	return h.card(o, t.memory.get(h))
}

// newID returns a random reference with a readable prefix.
func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}
