package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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
			fmt.Fprintf(cmd.OutOrStdout(), "added %s (%s) to %s; restart the agent to use it\n", name, r, file)
			return nil
		},
	}
	add.Flags().StringVar(&file, "file", "/etc/borderpost/users.jsonl", "users file (terminal.users)")
	add.Flags().StringVar(&name, "name", "", "account name")
	add.Flags().StringVar(&role, "role", "officer", "officer, supervisor or technician")
	add.MarkFlagRequired("name")
	users.AddCommand(add)
	return users
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
