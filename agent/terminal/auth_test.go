package terminal

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestHashPasswordVerifies(t *testing.T) {
	h, err := HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash %q is not argon2id with the default parameters", h)
	}
	ph, err := parseHash(h)
	if err != nil {
		t.Fatalf("own hash does not parse: %v", err)
	}
	if !ph.verify(testPassword) {
		t.Fatal("right password refused")
	}
	if ph.verify(testPassword + "x") {
		t.Fatal("wrong password accepted")
	}
	h1, _ := hashArgon(testPassword, cheapArgon)
	h2, _ := hashArgon(testPassword, cheapArgon)
	if h1 == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestHashPasswordRefusesShort(t *testing.T) {
	if _, err := HashPassword("short pw"); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("got %v, want ErrWeakPassword", err)
	}
}

func TestParseHashAcceptsBcrypt(t *testing.T) {
	b, err := bcrypt.GenerateFromPassword([]byte(testPassword), minBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	ph, err := parseHash(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if !ph.verify(testPassword) || ph.verify("nope nope nope") {
		t.Fatal("bcrypt verification wrong")
	}
	weak, _ := bcrypt.GenerateFromPassword([]byte(testPassword), 4)
	if _, err := parseHash(string(weak)); !errors.Is(err, ErrHash) {
		t.Fatalf("bcrypt cost 4 accepted: %v", err)
	}
}

func TestParseHashRefusesWeakOrMalformedArgon(t *testing.T) {
	salt, key := "c2FsdHNhbHRzYWx0c2FsdA", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	for _, s := range []string{
		"$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + key,      // far too cheap
		"$argon2id$v=19$m=19456,t=1,p=1$" + salt + "$" + key,     // below m x t floor
		"$argon2id$v=19$m=4194304,t=3,p=1$" + salt + "$" + key,   // 4 GiB a login
		"$argon2i$v=19$m=65536,t=3,p=1$" + salt + "$" + key,      // not argon2id
		"$argon2id$v=16$m=65536,t=3,p=1$" + salt + "$" + key,     // old version
		"$argon2id$v=19$m=65536,t=3$" + salt + "$" + key,         // no p
		"$argon2id$v=19$m=65536,t=3,p=1,m=1$" + salt + "$" + key, // repeated
		"$argon2id$v=19$m=65536,t=3,p=1$" + salt + "==$" + key,   // padded
		"$argon2id$v=19$m=65536,t=3,p=1$" + salt,                 // no hash
		"plaintext",
		"",
	} {
		if _, err := parseHash(s); !errors.Is(err, ErrHash) {
			t.Errorf("parseHash(%q) = %v, want ErrHash", s, err)
		}
	}
}

func TestLoginSetsStrictHttpOnlyCookie(t *testing.T) {
	for _, tls := range []bool{false, true} {
		r := newRig(t, testConfig(), tls)
		c := r.client()
		mustLogin(t, c, "anna")
		u, _ := url.Parse(r.srv.URL)
		var found bool
		// The jar hides attributes: log in again by hand to read Set-Cookie.
		c2 := r.client()
		var s sessionView
		c2.do("GET", "/api/session", nil, &s)
		c2.csrf = s.CSRF
		req, _ := http.NewRequest("POST", r.srv.URL+"/api/login", strings.NewReader(`{"name":"anna","password":"`+testPassword+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(headerCSRF, c2.csrf)
		for _, ck := range c2.hc.Jar.Cookies(u) {
			req.AddCookie(ck)
		}
		resp, err := r.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, ck := range resp.Cookies() {
			if ck.Name != cookieSession {
				continue
			}
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure != tls {
				t.Errorf("tls=%v: session cookie HttpOnly=%v SameSite=%v Secure=%v", tls, ck.HttpOnly, ck.SameSite, ck.Secure)
			}
		}
		if !found {
			t.Fatalf("tls=%v: no session cookie set", tls)
		}
		if got := r.rec.Events(EventLogin); len(got) != 2 || got[0].Device != "terminal:anna" {
			t.Fatalf("login audit records: %+v", got)
		}
	}
}

func TestLoginRefusesWrongPasswordAndUnknownAccount(t *testing.T) {
	r := newRig(t, testConfig(), false)
	c := r.client()
	for _, who := range []string{"anna", "nobody"} {
		code, err := c.login(who, "wrong password here")
		if err != nil || code != http.StatusUnauthorized {
			t.Fatalf("%s: status %d %v, want 401", who, code, err)
		}
	}
	if resp, _ := c.do("GET", "/api/banner", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API open without login: %d", resp.StatusCode)
	}
	refused := r.rec.Events(EventLoginRefused)
	if len(refused) != 2 || refused[1].Device != "terminal" {
		t.Fatalf("refusals audited as %+v; an unknown name must not be recorded", refused)
	}
}

func TestCSRFRefused(t *testing.T) {
	r := newRig(t, testConfig(), false)
	c := r.client()
	// Login without the pre-login token.
	c.csrf = ""
	resp, err := c.do("POST", "/api/login", loginRequest{Name: "anna", Password: testPassword}, nil)
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login without CSRF token: %v %v", resp.StatusCode, err)
	}
	mustLogin(t, c, "anna")
	r.t.Publish(testHit("hit-1", "border"))
	good := c.csrf
	for _, tok := range []string{"", "forged", good[:len(good)-1]} {
		c.csrf = tok
		resp, err := c.do("POST", "/api/hits/hit-1/outcome", outcomeRequest{Outcome: "confirmed"}, nil)
		if err != nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("outcome with CSRF %q: %v %v", tok, resp.StatusCode, err)
		}
		resp, _ = c.do("POST", "/api/check", manualQuery{Kind: "eori", Value: "DE123456789"}, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("check with CSRF %q: %v", tok, resp.StatusCode)
		}
	}
	if len(r.rec.Outcomes()) != 0 || len(r.checker.Checks()) != 0 {
		t.Fatal("a request without the CSRF token had an effect")
	}
	// Another session's token is no good either.
	other := r.client()
	mustLogin(t, other, "cora")
	c.csrf = other.csrf
	if resp, _ := c.do("POST", "/api/hits/hit-1/outcome", outcomeRequest{Outcome: "confirmed"}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another session's CSRF token accepted: %d", resp.StatusCode)
	}
	c.csrf = good
	if resp, _ := c.do("POST", "/api/hits/hit-1/outcome", outcomeRequest{Outcome: "confirmed"}, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("right CSRF token refused: %d", resp.StatusCode)
	}
}

func TestCrossSitePostRefused(t *testing.T) {
	r := newRig(t, testConfig(), false)
	c := r.client()
	mustLogin(t, c, "anna")
	req, _ := http.NewRequest("POST", r.srv.URL+"/api/check", strings.NewReader(`{"kind":"eori","value":"DE123"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(headerCSRF, c.csrf)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("POST", r.srv.URL+"/api/check", strings.NewReader(`kind=eori&value=DE123`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(headerCSRF, c.csrf)
	resp, _ = c.hc.Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form POST: %d", resp.StatusCode)
	}
	if len(r.checker.Checks()) != 0 {
		t.Fatal("refused requests reached the checker")
	}
}

func TestLoginLockoutPerAccount(t *testing.T) {
	cfg := testConfig()
	cfg.LoginFailures = 3
	cfg.LoginWindow = 10 * time.Minute
	r := newRig(t, cfg, false)
	c := r.client()
	for i := range 3 {
		if code, _ := c.login("anna", "wrong password here"); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, code)
		}
	}
	if code, _ := c.login("anna", testPassword); code != http.StatusTooManyRequests {
		t.Fatalf("locked account with the right password: %d, want 429", code)
	}
	// Other accounts from the same address are not locked by anna's failures.
	if code, _ := c.login("cora", testPassword); code != http.StatusOK {
		t.Fatalf("other account: %d", code)
	}
	r.clock.Advance(9 * time.Minute)
	if code, _ := r.client().login("anna", testPassword); code != http.StatusTooManyRequests {
		t.Fatalf("lock lifted early: %d", code)
	}
	r.clock.Advance(2 * time.Minute)
	if code, _ := r.client().login("anna", testPassword); code != http.StatusOK {
		t.Fatalf("after the window: %d", code)
	}
}

func TestLoginLockoutPerAddress(t *testing.T) {
	cfg := testConfig()
	cfg.AddressFailures = 4
	r := newRig(t, cfg, false)
	c := r.client()
	// Spread over accounts, so no single account is locked.
	for _, who := range []string{"anna", "cora", "sven", "nobody"} {
		if code, _ := c.login(who, "wrong password here"); code != http.StatusUnauthorized {
			t.Fatalf("%s: %d", who, code)
		}
	}
	if code, _ := c.login("theo", testPassword); code != http.StatusTooManyRequests {
		t.Fatalf("address over its limit logged in: %d", code)
	}
}

func TestSessionExpires(t *testing.T) {
	cfg := testConfig()
	cfg.SessionIdle = 10 * time.Minute
	cfg.SessionMax = 30 * time.Minute
	r := newRig(t, cfg, false)
	c := r.client()
	mustLogin(t, c, "anna")
	status := func() int {
		resp, err := c.do("GET", "/api/banner", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	// Activity keeps the session alive up to its maximum.
	for range 3 {
		r.clock.Advance(9 * time.Minute)
		if s := status(); s != http.StatusOK {
			t.Fatalf("active session ended: %d", s)
		}
	}
	r.clock.Advance(4 * time.Minute) // 31 minutes after login
	if s := status(); s != http.StatusUnauthorized {
		t.Fatalf("session outlived its maximum: %d", s)
	}
	mustLogin(t, c, "anna")
	r.clock.Advance(10 * time.Minute)
	if s := status(); s != http.StatusUnauthorized {
		t.Fatalf("idle session still valid: %d", s)
	}
}

func TestLogoutEndsSession(t *testing.T) {
	r := newRig(t, testConfig(), false)
	c := r.client()
	mustLogin(t, c, "anna")
	if resp, _ := c.do("POST", "/api/logout", struct{}{}, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := c.do("GET", "/api/banner", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", resp.StatusCode)
	}
}

func TestLoadUsers(t *testing.T) {
	h, _ := hashArgon(testPassword, cheapArgon)
	good, _ := UserLine(User{Name: "anna", Role: RoleOfficer, Hash: h})
	u, err := LoadUsers(strings.NewReader("# accounts\n\n" + string(good)))
	if err != nil || u.Len() != 1 {
		t.Fatalf("LoadUsers: %v, %d accounts", err, u.Len())
	}
	line := func(name, role, hash string) string {
		return `{"name":"` + name + `","role":"` + role + `","hash":"` + hash + `"}` + "\n"
	}
	for what, file := range map[string]string{
		"duplicate":     string(good) + string(good),
		"unknown role":  line("anna", "admin", h),
		"bad name":      line("Anna Smith", "officer", h),
		"empty name":    line("", "officer", h),
		"weak hash":     line("anna", "officer", "$argon2id$v=19$m=16,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5"),
		"plain":         line("anna", "officer", "hunter2hunter2"),
		"unknown field": `{"name":"anna","role":"officer","hash":"` + h + `","admin":true}` + "\n",
		"not json":      "anna:officer:" + h + "\n",
		"two objects":   strings.TrimSpace(string(good)) + string(good),
	} {
		_, err := LoadUsers(strings.NewReader(file))
		if !errors.Is(err, ErrUsersFile) {
			t.Errorf("%s: got %v, want ErrUsersFile", what, err)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "Anna Smith") {
			t.Errorf("%s: error repeats the file's content: %v", what, err)
		}
	}
}

func TestCheckListen(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8443": true, "[::1]:8443": true, "localhost:8080": true,
		"0.0.0.0:8080": false, ":8080": false, "10.1.2.3:80": false, "example.org:80": false,
	} {
		err := CheckListen(addr, false)
		if (err == nil) != ok {
			t.Errorf("CheckListen(%q, plain) = %v", addr, err)
		}
		if err := CheckListen(addr, true); err != nil {
			t.Errorf("CheckListen(%q, tls) = %v", addr, err)
		}
	}
}
