package terminal

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// subscriber is one open live stream.
type subscriber struct {
	role     Role
	purposes map[string]bool
	ch       chan []byte
	done     chan struct{}
	once     sync.Once
}

// subscriberBuffer is how many events a slow page may fall behind before
// it is disconnected (it then reconnects and gets the backlog).
const subscriberBuffer = 64

func (s *subscriber) drop() { s.once.Do(func() { close(s.done) }) }

// sseEvent renders one server-sent event.
func sseEvent(name string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil { // only plain structs go in here
		b = []byte("{}")
	}
	return fmt.Appendf(nil, "event: %s\ndata: %s\n\n", name, b)
}

// broadcast sends an event about h to every stream that may see h. The
// event is rendered once, only if someone may see it.
func (t *Terminal) broadcast(h *Hit, ev func() (string, any)) {
	var msg []byte
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := range t.subs {
		if !h.visibleTo(s.role, s.purposes) {
			continue
		}
		if msg == nil {
			msg = sseEvent(ev())
		}
		select {
		case s.ch <- msg:
		default:
			s.drop()
			delete(t.subs, s)
		}
	}
}

func (t *Terminal) subscribe(role Role) *subscriber {
	s := &subscriber{role: role, purposes: t.purposes[role], ch: make(chan []byte, subscriberBuffer), done: make(chan struct{})}
	t.mu.Lock()
	t.subs[s] = struct{}{}
	t.mu.Unlock()
	return s
}

func (t *Terminal) unsubscribe(s *subscriber) {
	t.mu.Lock()
	delete(t.subs, s)
	t.mu.Unlock()
	s.drop()
}

// banner returns the State's banner stamped with the terminal's clock.
func (t *Terminal) banner() Banner {
	b := t.deps.State.Banner()
	b.Now = t.now().UTC()
	b.RecordFailing = b.RecordFailing || t.failing.Load()
	return b
}

// serveEvents streams the live list: the kept hits the role may see, then
// every new hit and outcome, and the banners every BannerEvery. It ends
// when the session expires.
func (t *Terminal) serveEvents(w http.ResponseWriter, r *http.Request) {
	tok := sessionCookie(r)
	ss := t.sessions.get(tok, t.now(), false)
	if ss == nil {
		writeError(w, http.StatusUnauthorized, "log in first")
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	sub := t.subscribe(ss.role)
	defer t.unsubscribe(sub)
	write := func(b []byte) bool {
		// The agent's server has a write timeout for devices; a stream
		// needs one per write instead.
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	var backlog []byte
	backlog = append(backlog, sseEvent("banner", t.banner())...)
	t.board.each(func(hit *Hit, o *OutcomeRecord) {
		if hit.visibleTo(ss.role, sub.purposes) {
			backlog = append(backlog, sseEvent("hit", t.cardOf(hit, o))...)
		}
	})
	backlog = append(backlog, "event: ready\ndata: {}\n\n"...)
	if !write(backlog) {
		return
	}
	tick := time.NewTicker(t.cfg.BannerEvery)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-sub.done:
			return
		case msg := <-sub.ch:
			if !write(msg) {
				return
			}
		case <-tick.C:
			if t.sessions.get(tok, t.now(), false) == nil {
				write([]byte("event: expired\ndata: {}\n\n"))
				return
			}
			if !write(sseEvent("banner", t.banner())) {
				return
			}
		}
	}
}
