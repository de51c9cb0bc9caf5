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
