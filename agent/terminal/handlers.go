package terminal

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store"
)

//go:embed web
var webFS embed.FS

// Cookie names and the CSRF header.
const (
	cookieSession  = "bp_session"
	cookiePreLogin = "bp_prelogin"
	headerCSRF     = "X-CSRF-Token"
	maxBody        = 8 << 10
	maxRemark      = 280 // characters
)

func (t *Terminal) routes() http.Handler {
	mux := http.NewServeMux()
	web, _ := fs.Sub(webFS, "web")
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { serveAsset(w, r, web, "index.html") })
	mux.HandleFunc("GET /static/{file}", func(w http.ResponseWriter, r *http.Request) { serveAsset(w, r, web, r.PathValue("file")) })
	mux.HandleFunc("GET /api/session", t.serveSession)
	mux.HandleFunc("POST /api/login", t.serveLogin)
	mux.HandleFunc("POST /api/logout", t.authed(true, t.serveLogout))
	mux.HandleFunc("GET /api/events", t.serveEvents)
	mux.HandleFunc("GET /api/banner", t.authed(false, func(w http.ResponseWriter, r *http.Request, _ *session) {
		writeJSON(w, http.StatusOK, t.banner())
	}))
	mux.HandleFunc("GET /api/hits/{id}", t.authed(false, t.serveHit))
	mux.HandleFunc("POST /api/hits/{id}/outcome", t.authed(true, t.serveOutcome))
	mux.HandleFunc("POST /api/hits/{id}/correct", t.authed(true, t.serveCorrect))
	mux.HandleFunc("POST /api/hits/{id}/forget", t.authed(true, t.serveForget))
	mux.HandleFunc("POST /api/check", t.authed(true, t.serveCheck))
	return securityHeaders(mux)
}

// securityHeaders forbids framing, inline script and any origin but our
// own, and refuses cross-site POSTs outright.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if r.Method == http.MethodPost {
			if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" {
				writeError(w, http.StatusForbidden, "cross-site request refused")
				return
			}
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, "send JSON")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		next.ServeHTTP(w, r)
	})
}

func serveAsset(w http.ResponseWriter, r *http.Request, web fs.FS, name string) {
	b, err := fs.ReadFile(web, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: the request is not the JSON this endpoint takes", ErrInput)
	}
	return nil
}

func sessionCookie(r *http.Request) string {
	if c, err := r.Cookie(cookieSession); err == nil {
		return c.Value
	}
	return ""
}

func (t *Terminal) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil || t.cfg.SecureCookies, SameSite: http.SameSiteStrictMode}
}

// authed wraps a handler that needs a live session; mutating handlers
// (csrf true) also need the session's CSRF token in the X-CSRF-Token header.
func (t *Terminal) authed(csrf bool, fn func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss := t.sessions.get(sessionCookie(r), t.now(), true)
		if ss == nil {
			writeError(w, http.StatusUnauthorized, "log in first")
			return
		}
		if csrf && !tokenEqual(r.Header.Get(headerCSRF), ss.csrf) {
			writeError(w, http.StatusForbidden, "missing or wrong CSRF token: reload the page")
			return
		}
		fn(w, r, ss)
	}
}

// sessionView is what the page learns about its session.
type sessionView struct {
	User      string `json:"user,omitempty"`
	Role      Role   `json:"role,omitempty"`
	CSRF      string `json:"csrf"`
	MayWork   bool   `json:"may_work"`
	LoggedIn  bool   `json:"logged_in"`
	IdleLimit int    `json:"idle_seconds,omitempty"`
	Post      string `json:"post,omitempty"`
}

// serveSession tells the page who is logged in and gives it the CSRF token
// for its POSTs; before login it sets the pre-login cookie and gives the
// login form's token.
func (t *Terminal) serveSession(w http.ResponseWriter, r *http.Request) {
	if ss := t.sessions.get(sessionCookie(r), t.now(), false); ss != nil {
		writeJSON(w, http.StatusOK, sessionView{User: ss.user, Role: ss.role, CSRF: ss.csrf, MayWork: ss.role.mayWork(),
			LoggedIn: true, IdleLimit: int(t.cfg.SessionIdle.Seconds()), Post: t.cfg.Post})
		return
	}
	nonce := ""
	if c, err := r.Cookie(cookiePreLogin); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		nonce = c.Value
	} else {
		nonce = randomToken()
		http.SetCookie(w, t.cookie(r, cookiePreLogin, nonce, 3600))
	}
	writeJSON(w, http.StatusOK, sessionView{CSRF: t.sessions.loginToken(nonce), Post: t.cfg.Post})
}

type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// clientAddr is the TCP peer's address: the terminal trusts no forwarding
// header.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (t *Terminal) serveLogin(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(cookiePreLogin)
	if err != nil || !tokenEqual(r.Header.Get(headerCSRF), t.sessions.loginToken(c.Value)) {
		writeError(w, http.StatusForbidden, "missing or wrong CSRF token: reload the page")
		return
	}
	var req loginRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx := r.Context()
	now := t.now()
	addr := clientAddr(r)
	t.reloadUsers(ctx)
	acc, known := t.users.Load().lookup(req.Name)
	who := "terminal"
	if known {
		who = "terminal:" + req.Name
	}
	if !t.byAddr.allowed(addr, now) || known && !t.byUser.allowed(req.Name, now) {
		t.audit(ctx, store.AuditRecord{Event: EventLoginRefused, Device: who, Detail: "locked: too many failed logins"})
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many failed logins: wait %d minutes or ask a supervisor", int(t.cfg.LoginWindow.Minutes())))
		return
	}
	select { // hashing takes tens of megabytes: at most two at once
	case t.hashes <- struct{}{}:
	case <-ctx.Done():
		return
	}
	var ok bool
	if known {
		ok = acc.hash.verify(req.Password)
	} else {
		t.dummy.verify(req.Password) // same cost as a wrong password
	}
	<-t.hashes
	if !ok {
		t.byAddr.fail(addr, now)
		detail := "unknown account"
		if known {
			detail = "wrong password"
			if t.byUser.fail(req.Name, now) {
				detail = "wrong password; account locked"
			}
		}
		t.audit(ctx, store.AuditRecord{Event: EventLoginRefused, Device: who, Detail: detail})
		t.log.Info("terminal login refused", "reason", detail)
		writeError(w, http.StatusUnauthorized, "wrong name or password")
		return
	}
	t.byUser.reset(req.Name)
	if err := t.writeAudit(ctx, store.AuditRecord{Event: EventLogin, Device: who, Detail: string(acc.role)}); err != nil {
		t.log.Error("terminal audit log failed", "event", EventLogin, "err", err)
		writeError(w, http.StatusServiceUnavailable, "the audit log cannot be written: no login")
		return
	}
	tok, ss := t.sessions.create(req.Name, acc.role, now)
	http.SetCookie(w, t.cookie(r, cookieSession, tok, 0))
	http.SetCookie(w, t.cookie(r, cookiePreLogin, "", -1))
	writeJSON(w, http.StatusOK, sessionView{User: ss.user, Role: ss.role, CSRF: ss.csrf, MayWork: ss.role.mayWork(),
		LoggedIn: true, IdleLimit: int(t.cfg.SessionIdle.Seconds()), Post: t.cfg.Post})
}

func (t *Terminal) serveLogout(w http.ResponseWriter, r *http.Request, ss *session) {
	t.sessions.end(sessionCookie(r))
	t.audit(r.Context(), store.AuditRecord{Event: EventLogout, Device: "terminal:" + ss.user})
	http.SetCookie(w, t.cookie(r, cookieSession, "", -1))
	writeJSON(w, http.StatusOK, map[string]bool{"logged_out": true})
}

// audit writes a record whose failure must not stop the request (login
// refusals, logouts); records that must precede an action go through
// Recorder.Audit directly.
func (t *Terminal) audit(ctx context.Context, rec store.AuditRecord) {
	if err := t.writeAudit(ctx, rec); err != nil {
		t.log.Error("terminal audit log failed", "event", rec.Event, "err", err)
	}
}

// visibleHit returns the hit id if the session's role may see it.
func (t *Terminal) visibleHit(ss *session, id string) (Hit, *OutcomeRecord, bool) {
	h, o, ok := t.board.get(id)
	if !ok || !h.visibleTo(ss.role, t.purposes[ss.role]) {
		return Hit{}, nil, false
	}
	return h, o, true
}

// serveHit sends a hit's explanation, after recording the view.
func (t *Terminal) serveHit(w http.ResponseWriter, r *http.Request, ss *session) {
	h, o, ok := t.visibleHit(ss, r.PathValue("id"))
	if !ok { // the same answer for unknown and forbidden: no probing
		writeError(w, http.StatusNotFound, "no such hit")
		return
	}
	d := h.detail(o, t.memory.get(&h))
	if len(h.Hit.Namesakes) > 0 && t.deps.Namesakes != nil {
		d.Namesakes = h.namesakes(t.deps.Namesakes.Namesakes(r.Context(), h.Hit.Namesakes), ss.role, t.purposes[ss.role])
	}
	// The view shows the namesakes' alerts too: the record names them.
	rec := store.AuditRecord{Event: EventHitView, Ref: h.ID, Device: "terminal:" + ss.user,
		Hits: []string{h.ID}, Alerts: []string{h.AlertID}}
	for _, n := range d.Namesakes {
		rec.Alerts = append(rec.Alerts, n.AlertID)
	}
	if err := t.writeAudit(r.Context(), rec); err != nil {
		t.log.Error("terminal audit log failed", "event", EventHitView, "err", err)
		writeError(w, http.StatusServiceUnavailable, "the audit log cannot be written: the hit cannot be shown")
		return
	}
	writeJSON(w, http.StatusOK, d)
}

type outcomeRequest struct {
	Outcome string `json:"outcome"`
	Remark  string `json:"remark"`
}

// checkRemark accepts up to 280 characters of printable text.
func checkRemark(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxRemark {
		return "", fmt.Errorf("%w: remark must be at most %d characters", ErrInput, maxRemark)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' || unicode.Is(unicode.Cf, r) {
			return "", fmt.Errorf("%w: remark holds a control character", ErrInput)
		}
	}
	return s, nil
}

func (t *Terminal) serveOutcome(w http.ResponseWriter, r *http.Request, ss *session) {
	h, _, ok := t.visibleHit(ss, r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "no such hit")
		return
	}
	out, remark, ok := readOutcome(w, r)
	if !ok {
		return
	}
	now := t.now().UTC()
	o := &OutcomeRecord{ID: newID("out"), HitID: h.ID, AlertID: h.AlertID, Outcome: out, Remark: remark, Officer: ss.user, Role: ss.role, Time: now}
	if !t.board.settle(h.ID, o) {
		writeError(w, http.StatusConflict, "this hit already has an outcome: a supervisor can correct it")
		return
	}
	if err := t.record(r.Context(), *o); err != nil {
		t.board.unsettle(h.ID, o)
		t.log.Error("terminal outcome not recorded", "hit", h.ID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "the outcome could not be recorded: try again, and tell a technician if it fails again")
		return
	}
	t.broadcast(&h, func() (string, any) { return "outcome", o })
	// Repeated reads of the same value against the same alert share the
	// card the officer acted on: they get the same outcome, each its own record.
	for _, f := range t.board.folded(&h, FoldWindow, ss.role, t.purposes[ss.role]) {
		fo := &OutcomeRecord{ID: newID("out"), HitID: f.ID, AlertID: f.AlertID, Outcome: out, Remark: remark, Officer: ss.user, Role: ss.role, Time: now}
		if !t.board.settle(f.ID, fo) {
			continue
		}
		if err := t.record(r.Context(), *fo); err != nil {
			t.board.unsettle(f.ID, fo)
			t.log.Error("terminal outcome not recorded", "hit", f.ID, "err", err)
			continue
		}
		t.broadcast(&f, func() (string, any) { return "outcome", fo })
	}
	if out == OutcomeFalseMatch && h.ref != "" {
		if err := t.writeAudit(r.Context(), memRecord(EventFalseMatch, &h, ss.user)); err != nil {
			t.log.Error("terminal audit log failed", "event", EventFalseMatch, "err", err)
		} else {
			t.memory.put(memKey{h.ref, h.AlertID, h.AlertVersion}, Cleared{Time: now, Officer: ss.user})
		}
	}
	writeJSON(w, http.StatusOK, t.cardOf(&h, o))
}

// readOutcome reads and checks an outcome request, answering the error
// itself when it is not valid.
func readOutcome(w http.ResponseWriter, r *http.Request) (Outcome, string, bool) {
	var req outcomeRequest
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", "", false
	}
	out, err := ParseOutcome(req.Outcome)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", "", false
	}
	remark, err := checkRemark(req.Remark)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", "", false
	}
	return out, remark, true
}

// writeAudit appends an audit record through the Recorder and remembers
// whether writing works, for the banner.
func (t *Terminal) writeAudit(ctx context.Context, rec store.AuditRecord) error {
	err := t.deps.Recorder.Audit(ctx, rec)
	t.failing.Store(err != nil)
	return err
}

// record writes an outcome through the Recorder and remembers whether
// writing works, for the banner.
func (t *Terminal) record(ctx context.Context, o OutcomeRecord) error {
	err := t.deps.Recorder.Outcome(ctx, o)
	t.failing.Store(err != nil)
	return err
}

// serveCorrect lets a supervisor correct a recorded outcome: the
// correction is a new outcome record naming the one it corrects, which
// stays in the audit log and at central.
func (t *Terminal) serveCorrect(w http.ResponseWriter, r *http.Request, ss *session) {
	if ss.role != RoleSupervisor {
		writeError(w, http.StatusForbidden, "only a supervisor may correct an outcome")
		return
	}
	h, prev, ok := t.visibleHit(ss, r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "no such hit")
		return
	}
	out, remark, ok := readOutcome(w, r)
	if !ok {
		return
	}
	if prev == nil {
		writeError(w, http.StatusConflict, "this hit has no outcome to correct: record one")
		return
	}
	o := &OutcomeRecord{ID: newID("out"), HitID: h.ID, AlertID: h.AlertID, Outcome: out, Remark: remark, Officer: ss.user,
		Role: ss.role, Time: t.now().UTC(), Corrects: prev.ID}
	if !t.board.replace(h.ID, prev, o) {
		writeError(w, http.StatusConflict, "the outcome changed meanwhile: reload and try again")
		return
	}
	if err := t.record(r.Context(), *o); err != nil {
		t.board.replace(h.ID, o, prev)
		t.log.Error("terminal correction not recorded", "hit", h.ID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "the correction could not be recorded: try again")
		return
	}
	k := memKey{h.ref, h.AlertID, h.AlertVersion}
	if prev.Outcome == OutcomeFalseMatch && out != OutcomeFalseMatch && t.memory.get(&h) != nil {
		if err := t.writeAudit(r.Context(), memRecord(EventFalseMatchForgotten, &h, ss.user)); err == nil {
			t.memory.forget(k)
		}
	}
	t.broadcast(&h, func() (string, any) { return "outcome", o })
	writeJSON(w, http.StatusOK, t.cardOf(&h, o))
}

// serveForget lets a supervisor clear the post's memory that a read value
// is a false match for an alert: the next read is shown as an open hit.
func (t *Terminal) serveForget(w http.ResponseWriter, r *http.Request, ss *session) {
	if ss.role != RoleSupervisor {
		writeError(w, http.StatusForbidden, "only a supervisor may clear a remembered false match")
		return
	}
	h, o, ok := t.visibleHit(ss, r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "no such hit")
		return
	}
	var req struct{}
	if err := readJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if t.memory.get(&h) == nil {
		writeError(w, http.StatusConflict, "nothing is remembered for this hit")
		return
	}
	if err := t.writeAudit(r.Context(), memRecord(EventFalseMatchForgotten, &h, ss.user)); err != nil {
		t.failing.Store(true)
		writeError(w, http.StatusServiceUnavailable, "the audit log cannot be written: nothing changed")
		return
	}
	t.memory.forget(memKey{h.ref, h.AlertID, h.AlertVersion})
	writeJSON(w, http.StatusOK, t.cardOf(&h, o))
}

// checkResponse is a manual check's answer: the hits the officer may see,
// and how many others the check produced that the role may not see.
type checkResponse struct {
	CheckID  string `json:"check_id"`
	Hits     []card `json:"hits"`
	Withheld int    `json:"withheld"`
	// OtherCountries: a plate without hits is sought under these countries.
	OtherCountries []string `json:"other_countries,omitempty"`
}

func (t *Terminal) serveCheck(w http.ResponseWriter, r *http.Request, ss *session) {
	if !ss.role.mayWork() {
		writeError(w, http.StatusForbidden, "your role may not run checks")
		return
	}
	var q manualQuery
	if err := readJSON(r, &q); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	it, err := q.item()
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	c := devices.Check{ID: newID("chk"), Device: "terminal", Lane: t.cfg.Lane, Time: t.now().UTC(), Items: []devices.Item{it}}
	rec := store.AuditRecord{Event: EventManualCheck, Ref: c.ID, Device: "terminal:" + ss.user, Detail: "kind " + string(it.Kind)}
	if err := t.writeAudit(r.Context(), rec); err != nil {
		t.log.Error("terminal audit log failed", "event", EventManualCheck, "err", err)
		writeError(w, http.StatusServiceUnavailable, "the audit log cannot be written: no check")
		return
	}
	res, err := t.deps.Checker.Check(r.Context(), c)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return
		}
		t.log.Error("terminal manual check failed", "check", c.ID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "the check could not be run")
		return
	}
	resp := checkResponse{CheckID: c.ID, Hits: []card{}}
	for _, dh := range res.Hits {
		if h, o, ok := t.visibleHit(ss, dh.ID); ok {
			resp.Hits = append(resp.Hits, t.cardOf(&h, o))
		} else {
			resp.Withheld++
		}
	}
	if it.Kind == devices.KindPlate && len(res.Hits) == 0 && t.deps.Hints != nil {
		for _, e := range t.deps.Hints.PlateElsewhere(r.Context(), it.Value, it.Country) {
			h := Hit{Purposes: e.Purposes}
			if h.visibleTo(ss.role, t.purposes[ss.role]) && !slices.Contains(resp.OtherCountries, e.Country) {
				resp.OtherCountries = append(resp.OtherCountries, e.Country)
			}
		}
		slices.Sort(resp.OtherCountries)
	}
	writeJSON(w, http.StatusOK, resp)
}
