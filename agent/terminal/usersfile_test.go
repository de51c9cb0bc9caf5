package terminal

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// A supervisor's change to the users file (remove, reset-password, unlock)
// reaches the running terminal at the next login, audited, without a restart.
func TestUsersFileChangesAreTakenUpAndAudited(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.jsonl")
	h, err := hashArgon(testPassword, cheapArgon)
	if err != nil {
		t.Fatal(err)
	}
	us := []User{{Name: "anna", Role: RoleOfficer, Hash: h}, {Name: "sven", Role: RoleSupervisor, Hash: h}}
	if err := WriteUsersFile(file, us); err != nil {
		t.Fatal(err)
	}
	list, err := ReadUsersFile(file)
	if err != nil || len(list) != 2 {
		t.Fatalf("read back %d accounts: %v", len(list), err)
	}
	r := &rig{clock: newClock(), checker: &fakeChecker{}, rec: newRecorder(), state: &fakeState{}}
	users := testUsers(t)
	term, err := New(testConfig(), Deps{Users: users, UsersFile: file, Checker: r.checker, Recorder: r.rec, State: r.state, Now: r.clock.Now,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r.t = term
	r.srv = httptest.NewServer(term.Handler())
	t.Cleanup(r.srv.Close)

	// anna locks herself out.
	for i := 0; i < 5; i++ {
		r.client().login("anna", "wrong password, again")
	}
	if code, _ := r.client().login("anna", testPassword); code != http.StatusTooManyRequests {
		t.Fatalf("locked: %d, want 429", code)
	}
	time.Sleep(10 * time.Millisecond) // a new modification time
	us[0].Unlocked = time.Date(2026, 11, 27, 8, 5, 0, 0, time.UTC)
	if err := WriteUsersFile(file, us); err != nil {
		t.Fatal(err)
	}
	anna := r.client()
	if code, _ := anna.login("anna", testPassword); code != http.StatusOK {
		t.Fatalf("after users unlock: %d, want 200", code)
	}

	// A new password ends her session and the old one no longer works.
	nh, _ := hashArgon("a brand new passphrase", cheapArgon)
	us[0].Hash = nh
	time.Sleep(10 * time.Millisecond)
	if err := WriteUsersFile(file, us); err != nil {
		t.Fatal(err)
	}
	if code, _ := r.client().login("anna", testPassword); code != http.StatusUnauthorized {
		t.Fatalf("old password after reset: %d, want 401", code)
	}
	if resp, _ := anna.do("GET", "/api/banner", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("session survived a password reset: %d", resp.StatusCode)
	}
	if code, _ := r.client().login("anna", "a brand new passphrase"); code != http.StatusOK {
		t.Fatalf("new password: %d", code)
	}

	// Removed: no login.
	time.Sleep(10 * time.Millisecond)
	if err := WriteUsersFile(file, us[1:]); err != nil {
		t.Fatal(err)
	}
	if code, _ := r.client().login("anna", "a brand new passphrase"); code != http.StatusUnauthorized {
		t.Fatalf("removed account logged in: %d", code)
	}
	var got []string
	for _, a := range r.rec.Events(EventAccounts) {
		got = append(got, a.Ref+": "+a.Detail)
	}
	want := []string{"anna: unlocked", "anna: password reset", "anna: removed"}
	if len(got) != len(want) {
		t.Fatalf("audit %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("audit %q, want %q", got, want)
		}
	}
}
