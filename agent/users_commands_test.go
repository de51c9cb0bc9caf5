package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/borderpost/borderpost/agent/terminal"
)

func runRoot(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.Execute()
	return out.String(), err
}

func TestUsersAdd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.jsonl")
	if out, err := runRoot(t, "correct horse battery\n", "users", "add", "--file", file, "--name", "anna", "--role", "officer"); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	if _, err := runRoot(t, "another long password\n", "users", "add", "--file", file, "--name", "anna"); err == nil {
		t.Error("a second account with the same name was added")
	}
	if _, err := runRoot(t, "short\n", "users", "add", "--file", file, "--name", "ben"); err == nil {
		t.Error("a short password was accepted")
	}
	b, _ := os.ReadFile(file)
	if bytes.Contains(b, []byte("correct horse")) {
		t.Fatal("the users file holds the password in clear")
	}
	u, err := terminal.LoadUsers(bytes.NewReader(b))
	if err != nil || u.Len() != 1 || !u.Has("anna") {
		t.Fatalf("users file: %v, %d accounts", err, u.Len())
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("users file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestUsersListRemoveResetUnlock(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.jsonl")
	for _, n := range []string{"anna", "ben"} {
		if out, err := runRoot(t, "correct horse battery\n", "users", "add", "--file", file, "--name", n); err != nil {
			t.Fatalf("users add %s: %v\n%s", n, err, out)
		}
	}
	out, err := runRoot(t, "", "users", "list", "--file", file)
	if err != nil || !strings.Contains(out, "anna") || !strings.Contains(out, "ben") || strings.Contains(out, "argon2") {
		t.Fatalf("users list: %v\n%s", err, out)
	}
	before, _ := terminal.ReadUsersFile(file)
	if _, err := runRoot(t, "another good passphrase\n", "users", "reset-password", "--file", file, "--name", "anna"); err != nil {
		t.Fatal(err)
	}
	if _, err := runRoot(t, "", "users", "unlock", "--file", file, "--name", "anna"); err != nil {
		t.Fatal(err)
	}
	if _, err := runRoot(t, "", "users", "remove", "--file", file, "--name", "ben"); err != nil {
		t.Fatal(err)
	}
	if _, err := runRoot(t, "", "users", "remove", "--file", file, "--name", "nobody"); err == nil {
		t.Error("removing an unknown account succeeded")
	}
	after, err := terminal.ReadUsersFile(file)
	if err != nil || len(after) != 1 || after[0].Name != "anna" || after[0].Hash == before[0].Hash || after[0].Unlocked.IsZero() {
		t.Fatalf("users file after reset, unlock and remove: %+v %v", after, err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("users file mode %v, want 0600", fi.Mode().Perm())
	}
}
