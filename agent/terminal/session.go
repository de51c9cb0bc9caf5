package terminal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// session is one logged-in officer at one browser. The cookie holds a
// random token; the table is keyed by its SHA-256 so that a memory dump
// does not hand out live cookies.
type session struct {
	user    string
	role    Role
	csrf    string
	created time.Time
	seen    time.Time
}

// sessions is the terminal's session table. It lives in memory: an agent
// restart logs everyone out, which is the safe way round.
type sessions struct {
	mu   sync.Mutex
	m    map[[32]byte]*session
	idle time.Duration
	max  time.Duration
	key  []byte // signs pre-login CSRF tokens
}

func newSessions(idle, max time.Duration) *sessions {
	return &sessions{m: map[[32]byte]*session{}, idle: idle, max: max, key: randomBytes(32)}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand documents it panics instead)
	return b
}

func randomToken() string { return base64.RawURLEncoding.EncodeToString(randomBytes(32)) }

// create starts a session and returns its cookie token.
func (s *sessions) create(user string, role Role, now time.Time) (string, *session) {
	tok := randomToken()
	ss := &session{user: user, role: role, csrf: randomToken(), created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	s.m[sha256.Sum256([]byte(tok))] = ss
	return tok, ss
}

// get returns the live session for tok, or nil when there is none or it
// has expired (an expired one is removed). touch marks officer activity.
func (s *sessions) get(tok string, now time.Time, touch bool) *session {
	if tok == "" {
		return nil
	}
	k := sha256.Sum256([]byte(tok))
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.m[k]
	if ss == nil {
		return nil
	}
	if s.expired(ss, now) {
		delete(s.m, k)
		return nil
	}
	if touch {
		ss.seen = now
	}
	cp := *ss
	return &cp
}

func (s *sessions) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.seen) >= s.idle || now.Sub(ss.created) >= s.max
}

// end removes the session for tok.
func (s *sessions) end(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(tok)))
}

// endUser ends every session of the account called user (removed, or its
// password or role changed).
func (s *sessions) endUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, ss := range s.m {
		if ss.user == user {
			delete(s.m, k)
		}
	}
}

// pruneLocked drops expired sessions so that the table cannot grow
// without bound from logins that are never used again.
func (s *sessions) pruneLocked(now time.Time) {
	for k, ss := range s.m {
		if s.expired(ss, now) {
			delete(s.m, k)
		}
	}
}

// loginToken is the CSRF token for the login form: an HMAC of the random
// pre-login cookie, so a cross-site form cannot produce it.
func (s *sessions) loginToken(nonce string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("login\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokenEqual compares two tokens in constant time; empty never matches.
func tokenEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
