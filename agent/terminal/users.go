package terminal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Role is what an account may do at the terminal.
type Role string

// The roles. Officers and supervisors see hits (within their purposes),
// acknowledge them and run manual checks; technicians see only the banners
// and never any alert or personal data.
const (
	RoleOfficer    Role = "officer"
	RoleSupervisor Role = "supervisor"
	RoleTechnician Role = "technician"
)

// ParseRole returns the Role named by s, or ErrRole.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleOfficer, RoleSupervisor, RoleTechnician:
		return r, nil
	}
	return "", fmt.Errorf("%w: want officer, supervisor or technician", ErrRole)
}

// mayWork reports whether the role may see hits, acknowledge them and run
// manual checks at all; purposes then narrow which hits.
func (r Role) mayWork() bool { return r == RoleOfficer || r == RoleSupervisor }

// User is one account of the users file: one JSON object a line,
// {"name": "...", "role": "officer", "hash": "$argon2id$..."}.
type User struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	Hash string `json:"hash"`
	// Unlocked is when a supervisor last lifted the account's lockout
	// (`borderpost users unlock`); the terminal ends the lockout when it
	// sees it change.
	Unlocked time.Time `json:"unlocked,omitzero"`
}

// Users is a loaded users file. It is read-only once loaded.
type Users struct {
	byName map[string]account
}

type account struct {
	role Role
	hash passwordHash
}

// maxUserLine bounds one line of the users file.
const maxUserLine = 4096

// LoadUsers reads a users file: one User as JSON per line; blank lines and
// lines starting with '#' are skipped. It refuses the whole file if any
// line is invalid (bad JSON, unknown field, bad name, unknown role, a hash
// that is not argon2id or bcrypt or is too weak) or a name repeats; errors
// give the line number, never the line.
func LoadUsers(r io.Reader) (*Users, error) {
	u := &Users{byName: map[string]account{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxUserLine)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		usr, err := parseUserLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrUsersFile, n, err)
		}
		acc, err := usr.account()
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrUsersFile, n, err)
		}
		if _, dup := u.byName[usr.Name]; dup {
			return nil, fmt.Errorf("%w: line %d: the name is already used on an earlier line", ErrUsersFile, n)
		}
		u.byName[usr.Name] = acc
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: after line %d: %w", ErrUsersFile, n, err)
	}
	return u, nil
}

// parseUserLine decodes one line of the users file, strictly.
func parseUserLine(line []byte) (User, error) {
	var usr User
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&usr); err != nil {
		return User{}, fmt.Errorf("not a JSON account object")
	}
	if dec.More() {
		return User{}, fmt.Errorf("more than one object")
	}
	return usr, nil
}

func (usr User) account() (account, error) {
	if err := validName(usr.Name); err != nil {
		return account{}, err
	}
	role, err := ParseRole(string(usr.Role))
	if err != nil {
		return account{}, err
	}
	h, err := parseHash(usr.Hash)
	if err != nil {
		return account{}, err
	}
	return account{role: role, hash: h}, nil
}

// validName accepts 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a
// letter or digit, so that account names are safe in audit records.
func validName(s string) error {
	if len(s) < 1 || len(s) > 64 {
		return fmt.Errorf("%w: account name must be 1 to 64 characters", ErrInput)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && strings.IndexByte("._-", c) >= 0
		if !ok {
			return fmt.Errorf("%w: account name may hold only a-z, 0-9, '.', '_', '-' (position %d)", ErrInput, i+1)
		}
	}
	return nil
}

// UserLine validates u and returns it as one line of the users file,
// newline included, for a command that adds accounts.
func UserLine(u User) ([]byte, error) {
	if _, err := u.account(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(u)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Len returns the number of accounts.
func (u *Users) Len() int { return len(u.byName) }

// Has reports whether an account of that name exists.
func (u *Users) Has(name string) bool { _, ok := u.byName[name]; return ok }

// dummyParams returns the cost of the costliest argon2id account, so that
// the terminal can make a login for an unknown name cost as much time as a
// wrong password.
func (u *Users) dummyParams() argonParams {
	var p argonParams
	for _, a := range u.byName {
		if a.hash.bcrypt == nil && uint64(a.hash.argon.memory)*uint64(a.hash.argon.time) > uint64(p.memory)*uint64(p.time) {
			p = a.hash.argon
		}
	}
	if p.memory == 0 {
		return defaultArgon
	}
	return p
}

// lookup returns the account called name.
func (u *Users) lookup(name string) (account, bool) {
	a, ok := u.byName[name]
	return a, ok
}
