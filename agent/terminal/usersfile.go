package terminal

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/borderpost/borderpost/store"
)

// EventAccounts is the audit event for a change to the users file that the
// terminal took up: Ref is the account, Detail what changed (added,
// removed, password reset, unlocked, role ...). The commands that change
// the file cannot write the audit log while the agent holds the replica,
// so the agent records what it finds changed.
const EventAccounts store.AuditEvent = "terminal.accounts"

// ReadUsersFile returns the accounts of a users file in file order; a
// missing file has none.
func ReadUsersFile(path string) ([]User, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := LoadUsers(bytes.NewReader(b)); err != nil {
		return nil, err
	}
	var out []User
	for _, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		u, err := parseUserLine(line)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// WriteUsersFile replaces the users file with us, atomically (a reader sees
// the old file or the new one) and with mode 0600.
func WriteUsersFile(path string, us []User) error {
	var b bytes.Buffer
	for _, u := range us {
		line, err := UserLine(u)
		if err != nil {
			return fmt.Errorf("account %s: %w", u.Name, err)
		}
		b.Write(line)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".users-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// usersFile tracks the users file the terminal reloads when it changes.
type usersFile struct {
	path string
	mod  time.Time
	size int64
	list []User
}

// reloadUsers takes up a changed users file: accounts added, removed (their
// sessions end), with a new password or unlocked (their lockout ends),
// each audited. It is called before each login, so a supervisor's
// `borderpost users ...` works without restarting the agent. A file that
// no longer loads keeps the accounts as they were.
func (t *Terminal) reloadUsers(ctx context.Context) {
	t.usersMu.Lock()
	defer t.usersMu.Unlock()
	f := t.usersFile
	if f == nil {
		return
	}
	fi, err := os.Stat(f.path)
	if err != nil || fi.ModTime().Equal(f.mod) && fi.Size() == f.size {
		return
	}
	list, err := ReadUsersFile(f.path)
	if err != nil {
		t.log.Error("terminal: the users file changed but does not load; accounts unchanged", "file", f.path, "err", err)
		return
	}
	users, err := LoadUsers(bytes.NewReader(linesOf(list)))
	if err != nil {
		return
	}
	old := map[string]User{}
	for _, u := range f.list {
		old[u.Name] = u
	}
	for _, u := range list {
		o, had := old[u.Name]
		delete(old, u.Name)
		var what []string
		switch {
		case !had:
			what = append(what, "added as "+string(u.Role))
		default:
			if o.Role != u.Role {
				what = append(what, "role "+string(o.Role)+" -> "+string(u.Role))
				t.sessions.endUser(u.Name)
			}
			if o.Hash != u.Hash {
				what = append(what, "password reset")
				t.sessions.endUser(u.Name)
				t.byUser.reset(u.Name)
			}
			if !o.Unlocked.Equal(u.Unlocked) {
				what = append(what, "unlocked")
				t.byUser.reset(u.Name)
			}
		}
		for _, w := range what {
			t.audit(ctx, store.AuditRecord{Event: EventAccounts, Ref: u.Name, Device: "users-file", Detail: w})
		}
	}
	gone := make([]string, 0, len(old))
	for name := range old {
		gone = append(gone, name)
	}
	slices.Sort(gone)
	for _, name := range gone {
		t.sessions.endUser(name)
		t.audit(ctx, store.AuditRecord{Event: EventAccounts, Ref: name, Device: "users-file", Detail: "removed"})
	}
	t.users.Store(users)
	f.mod, f.size, f.list = fi.ModTime(), fi.Size(), list
}

func linesOf(us []User) []byte {
	var b bytes.Buffer
	for _, u := range us {
		line, _ := UserLine(u)
		b.Write(line)
	}
	return b.Bytes()
}
