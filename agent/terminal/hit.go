package terminal

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/borderpost/borderpost/store"
)

// Hit is what the agent publishes to the terminal after recording a check:
// the hit as the outbox holds it, plus what the page needs from its alert.
type Hit struct {
	store.Hit
	Source     string   // SIS, EUROPOL, NATIONAL, ...
	Warnings   []string // warning markers, in plain words ("armed", "violent")
	Purposes   []string // the alert's purposes: which roles may see the hit
	LegalBasis string
	Authority  string
	Country    string // plate country or document issuing state, if any
	// Name explains a name match token by token; nil for identifiers.
	Name *NameMatch
	// Subject is the alert's subject as the replica holds it when the hit
	// is published; nil if the alert could not be read.
	Subject *store.Subject

	ref string // keyed reference of what was read, set by Publish
}

// NameMatch is how a name matched: the alert's name that matched best,
// each aligned pair of tokens with its similarity, the tokens left over and
// the evidence weighed (birth date, nationality, sex).
type NameMatch struct {
	AlertName  string        `json:"alert_name"`
	Pairs      []TokenMatch  `json:"pairs"`
	ExtraQuery []string      `json:"extra_query,omitempty"`
	ExtraAlert []string      `json:"extra_alert,omitempty"`
	Evidence   []NameFactRow `json:"evidence,omitempty"`
}

// TokenMatch is one query token (or run of tokens) aligned with one in the
// alert's name.
type TokenMatch struct {
	Query      string  `json:"query"`
	Alert      string  `json:"alert"`
	Method     string  `json:"method"` // exact, variant, merge, fuzzy, skeleton, initial, legal-form
	Similarity float64 `json:"similarity"`
}

// NameFactRow is one piece of evidence beside the name.
type NameFactRow struct {
	Field  string `json:"field"` // birth_date, nationality, sex
	Query  string `json:"query"`
	Alert  string `json:"alert"`
	Effect string `json:"effect"` // agrees, partly agrees, conflicts
}

// Outcome is what the officer found when acting on a hit.
type Outcome string

// The outcomes an officer may record.
const (
	OutcomeConfirmed     Outcome = "confirmed"      // the subject is the one sought
	OutcomeFalseMatch    Outcome = "false_match"    // a different person or object
	OutcomeNotFound      Outcome = "not_found"      // the subject was not found
	OutcomeNotActionable Outcome = "not_actionable" // the action could not be taken
)

// ParseOutcome returns the Outcome named by s, or an ErrInput error.
func ParseOutcome(s string) (Outcome, error) {
	switch o := Outcome(s); o {
	case OutcomeConfirmed, OutcomeFalseMatch, OutcomeNotFound, OutcomeNotActionable:
		return o, nil
	}
	return "", fmt.Errorf("%w: outcome must be confirmed, false_match, not_found or not_actionable", ErrInput)
}

// OutcomeRecord is an officer's acknowledgement of a hit, for central.
type OutcomeRecord struct {
	ID      string    `json:"id"`
	HitID   string    `json:"hit_id"`
	AlertID string    `json:"alert_id"`
	Outcome Outcome   `json:"outcome"`
	Remark  string    `json:"remark,omitempty"` // at most 280 characters, may hold personal data
	Officer string    `json:"officer"`          // account name
	Role    Role      `json:"role"`
	Time    time.Time `json:"time"`
	// Corrects is the ID of the outcome this one corrects (a supervisor's
	// correction); that one stays on record.
	Corrects string `json:"corrects,omitempty"`
}

// card is a hit as the live list shows it: what to do, why to be careful,
// what was read and whom or what the alert seeks.
type card struct {
	ID         string         `json:"id"`
	Time       time.Time      `json:"time"`
	Device     string         `json:"device,omitempty"`
	Lane       string         `json:"lane,omitempty"`
	Field      string         `json:"field"`
	Kind       string         `json:"kind"`
	Category   string         `json:"category"`
	Action     string         `json:"action"`
	Warnings   []string       `json:"warnings"`
	Source     string         `json:"source,omitempty"`
	Match      string         `json:"match"`
	Score      float64        `json:"score"`
	Outcome    *OutcomeRecord `json:"outcome,omitempty"`
	Rank       int            `json:"rank"`        // 0 most urgent
	Urgent     bool           `json:"urgent"`      // pinned until an outcome is recorded
	ActionKind string         `json:"action_kind"` // arrest, refuse, seize, check, inform
	Confidence string         `json:"confidence"`  // exact, close, possible
	Read       readView       `json:"read"`
	Subject    *subjectView   `json:"subject,omitempty"`
	Group      string         `json:"group"` // equal for reads of one value against one alert version
	Cleared    *Cleared       `json:"cleared,omitempty"`
}

// detail is a hit as the explanation shows it; sending one is a view that
// the audit log records.
type detail struct {
	card
	AlertID      string     `json:"alert_id"`
	AlertVersion uint64     `json:"alert_version"`
	CheckID      string     `json:"check_id"`
	Raw          string     `json:"raw,omitempty"`
	Value        string     `json:"value"`
	Country      string     `json:"country,omitempty"`
	Correction   string     `json:"correction,omitempty"`
	Explanation  string     `json:"explanation,omitempty"`
	Name         *NameMatch `json:"name,omitempty"`
	LegalBasis   string     `json:"legal_basis,omitempty"`
	Authority    string     `json:"authority,omitempty"`
	// Namesakes are the alerts the hit names by reference that the
	// viewer's role may see: more alerts whose names match the read at or
	// above the threshold, past the hits read, best first. Those the role
	// may not see are left out, count included.
	Namesakes []namesakeView `json:"namesakes,omitempty"`
}

// namesakeView is one alert a hit names by reference, as the details
// show it.
type namesakeView struct {
	AlertID      string       `json:"alert_id"`
	AlertVersion uint64       `json:"alert_version"`
	Category     string       `json:"category"`
	Action       string       `json:"action"`
	Subject      *subjectView `json:"subject,omitempty"`
}

// namesakes turns the alerts read for h's references into their views,
// keeping those a role serving purposes may see.
func (h *Hit) namesakes(read []Namesake, role Role, purposes map[string]bool) []namesakeView {
	var out []namesakeView
	for _, n := range read {
		if !slices.Contains(h.Hit.Namesakes, n.AlertID) {
			continue // the reader answers for what it was asked only
		}
		subj := n.Subject
		x := Hit{Hit: store.Hit{ItemKind: h.ItemKind, Raw: h.Raw, Value: h.Value}, Purposes: n.Purposes, Subject: &subj}
		if !x.visibleTo(role, purposes) {
			continue
		}
		out = append(out, namesakeView{AlertID: n.AlertID, AlertVersion: n.Version, Category: n.Category, Action: n.Action, Subject: x.subject()})
	}
	return out
}

func (h *Hit) card(o *OutcomeRecord, cleared *Cleared) card {
	w := h.Warnings
	if w == nil {
		w = []string{}
	}
	rank, kind := h.triage()
	return card{ID: h.ID, Time: h.Time, Device: h.Device, Lane: h.Lane, Field: h.Field, Kind: h.ItemKind,
		Category: h.Category, Action: h.Action, Warnings: w, Source: h.Source, Match: h.Match, Score: h.Score, Outcome: o,
		Rank: rank, Urgent: rank == rankArrest, ActionKind: kind, Confidence: h.confidence(), Read: h.read(),
		Subject: h.subject(), Group: h.group(), Cleared: cleared}
}

func (h *Hit) detail(o *OutcomeRecord, cleared *Cleared) detail {
	return detail{card: h.card(o, cleared), AlertID: h.AlertID, AlertVersion: h.AlertVersion, CheckID: h.CheckID,
		Raw: h.Raw, Value: h.Value, Country: h.Country, Correction: h.Correction, Explanation: h.Explanation,
		Name: h.Name, LegalBasis: h.LegalBasis, Authority: h.Authority}
}

// visibleTo reports whether a role serving purposes may see the hit: the
// alert must list at least one of them.
func (h *Hit) visibleTo(role Role, purposes map[string]bool) bool {
	if !role.mayWork() {
		return false
	}
	for _, p := range h.Purposes {
		if purposes[p] {
			return true
		}
	}
	return false
}

// board keeps the most recent hits and their outcomes, oldest first.
type board struct {
	mu    sync.Mutex
	max   int
	order []string
	m     map[string]*entry
}

type entry struct {
	hit     Hit
	outcome *OutcomeRecord
}

func newBoard(max int) *board { return &board{max: max, m: map[string]*entry{}} }

// add keeps h, dropping the oldest hit beyond max. A hit published twice
// (the agent may resend) is kept once.
func (b *board) add(h Hit, o *OutcomeRecord) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[h.ID]; ok {
		return false
	}
	b.m[h.ID] = &entry{hit: h, outcome: o}
	b.order = append(b.order, h.ID)
	for len(b.order) > b.max {
		delete(b.m, b.order[0])
		b.order = b.order[1:]
	}
	return true
}

// get returns a copy of the hit and its outcome.
func (b *board) get(id string) (Hit, *OutcomeRecord, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[id]
	if !ok {
		return Hit{}, nil, false
	}
	return e.hit, e.outcome, true
}

// settle sets the outcome of hit id unless it has one; it reports false
// if the hit has one already.
func (b *board) settle(id string, o *OutcomeRecord) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[id]
	if !ok || e.outcome != nil {
		return false
	}
	e.outcome = o
	return true
}

// unsettle removes an outcome whose recording failed, so it can be retried.
func (b *board) unsettle(id string, o *OutcomeRecord) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.m[id]; ok && e.outcome == o {
		e.outcome = nil
	}
}

// replace swaps hit id's outcome from old to new; it reports false if the
// outcome is no longer old.
func (b *board) replace(id string, old, new *OutcomeRecord) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[id]
	if !ok || e.outcome != old {
		return false
	}
	e.outcome = new
	return true
}

// folded returns the other hits without an outcome that read the same
// value against the same alert version as h within window of it, and that
// role (serving purposes) may see.
func (b *board) folded(h *Hit, window time.Duration, role Role, purposes map[string]bool) []Hit {
	if h.ref == "" {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Hit
	for _, id := range b.order {
		e := b.m[id]
		x := &e.hit
		if id == h.ID || e.outcome != nil || x.ref != h.ref || x.AlertID != h.AlertID || x.AlertVersion != h.AlertVersion ||
			!x.visibleTo(role, purposes) {
			continue
		}
		if d := x.Time.Sub(h.Time); d <= window && d >= -window {
			out = append(out, *x)
		}
	}
	return out
}

// each calls fn on every kept hit, oldest first, under the lock.
func (b *board) each(fn func(*Hit, *OutcomeRecord)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range b.order {
		e := b.m[id]
		fn(&e.hit, e.outcome)
	}
}
