package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/borderpost/borderpost/agent/terminal"
)

func usersCmd() *cobra.Command {
	users := &cobra.Command{Use: "users", Short: "Manage the officers' terminal accounts"}
	var file, name, role string
	add := &cobra.Command{
		Use:   "add",
		Short: "Add an account to the users file; the password is read from the terminal (or one line of standard input)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := terminal.ParseRole(role)
			if err != nil {
				return err
			}
			pw, err := readPassword(cmd)
			if err != nil {
				return err
			}
			hash, err := terminal.HashPassword(pw)
			if err != nil {
				return err
			}
			line, err := terminal.UserLine(terminal.User{Name: name, Role: r, Hash: hash})
			if err != nil {
				return err
			}
			if existing, err := os.ReadFile(file); err == nil {
				u, err := terminal.LoadUsers(strings.NewReader(string(existing)))
				if err != nil {
					return fmt.Errorf("%s: %w", file, err)
				}
				if u.Has(name) {
					return fmt.Errorf("%s already has an account named %q", file, name)
				}
			}
			f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
			if err != nil {
				return err
			}
			if _, err := f.Write(append(line, '\n')); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added %s (%s) to %s; the agent takes it up at the next login\n", name, r, file)
			return nil
		},
	}
	add.Flags().StringVar(&file, "file", usersFileDefault, "users file (terminal.users)")
	add.Flags().StringVar(&name, "name", "", "account name")
	add.Flags().StringVar(&role, "role", "officer", "officer, supervisor or technician")
	add.MarkFlagRequired("name")
	users.AddCommand(add)
	users.AddCommand(usersListCmd(), usersRemoveCmd(), usersResetCmd(), usersUnlockCmd())
	return users
}

const usersFileDefault = "/etc/borderpost/users.jsonl"

func usersListCmd() *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "list",
		Short: "List the accounts of the users file: name, role, last unlock (never a hash)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			us, err := terminal.ReadUsersFile(file)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%-24s %-11s %s\n", "NAME", "ROLE", "UNLOCKED")
			for _, u := range us {
				unlocked := "-"
				if !u.Unlocked.IsZero() {
					unlocked = u.Unlocked.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(w, "%-24s %-11s %s\n", u.Name, u.Role, unlocked)
			}
			return nil
		},
	}
	c.Flags().StringVar(&file, "file", usersFileDefault, "users file (terminal.users)")
	return c
}

// changeUser rewrites the users file with fn applied to the account
// called name; the running agent audits the change at its next login.
func changeUser(file, name string, fn func([]User, int) ([]User, error)) error {
	us, err := terminal.ReadUsersFile(file)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	i := slices.IndexFunc(us, func(u User) bool { return u.Name == name })
	if i < 0 {
		return fmt.Errorf("%s has no account named %q (see `borderpost users list`)", file, name)
	}
	if us, err = fn(us, i); err != nil {
		return err
	}
	return terminal.WriteUsersFile(file, us)
}

// User is an account of the users file.
type User = terminal.User

func usersRemoveCmd() *cobra.Command {
	var file, name string
	c := &cobra.Command{
		Use:   "remove",
		Short: "Remove an account; its open sessions end at the agent's next login",
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := changeUser(file, name, func(us []User, i int) ([]User, error) { return slices.Delete(us, i, i+1), nil })
			if err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s from %s\n", name, file)
			}
			return err
		},
	}
	c.Flags().StringVar(&file, "file", usersFileDefault, "users file (terminal.users)")
	c.Flags().StringVar(&name, "name", "", "account name")
	c.MarkFlagRequired("name")
	return c
}

func usersResetCmd() *cobra.Command {
	var file, name string
	c := &cobra.Command{
		Use:   "reset-password",
		Short: "Give an account a new password (read like `users add`); it also lifts a lockout",
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := readPassword(cmd)
			if err != nil {
				return err
			}
			hash, err := terminal.HashPassword(pw)
			if err != nil {
				return err
			}
			err = changeUser(file, name, func(us []User, i int) ([]User, error) { us[i].Hash = hash; return us, nil })
			if err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "new password for %s in %s\n", name, file)
			}
			return err
		},
	}
	c.Flags().StringVar(&file, "file", usersFileDefault, "users file (terminal.users)")
	c.Flags().StringVar(&name, "name", "", "account name")
	c.MarkFlagRequired("name")
	return c
}

func usersUnlockCmd() *cobra.Command {
	var file, name string
	c := &cobra.Command{
		Use:   "unlock",
		Short: "Lift an account's lockout after too many failed logins",
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := changeUser(file, name, func(us []User, i int) ([]User, error) {
				now := time.Now().UTC().Truncate(time.Second)
				if !now.After(us[i].Unlocked) {
					now = us[i].Unlocked.Add(time.Second)
				}
				us[i].Unlocked = now
				return us, nil
			})
			if err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "unlocked %s; the agent takes it up at the next login\n", name)
			}
			return err
		},
	}
	c.Flags().StringVar(&file, "file", usersFileDefault, "users file (terminal.users)")
	c.Flags().StringVar(&name, "name", "", "account name")
	c.MarkFlagRequired("name")
	return c
}

// readPassword reads a password without echo from a terminal, or one line
// from standard input otherwise (for scripts).
func readPassword(cmd *cobra.Command) (string, error) {
	if f, ok := cmd.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(cmd.ErrOrStderr(), "password: ")
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		return string(pw), err
	}
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
