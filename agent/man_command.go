package main

// The manual page is generated from the command tree itself, so that it
// cannot drift from the commands' help: the Debian package ships the output
// of `borderpost man` as borderpost(1).

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// manCmd prints the manual page in man(7) format.
func manCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "man",
		Short:  "Print the borderpost(1) manual page (man format), generated from the commands",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return writeManPage(cmd.OutOrStdout(), cmd.Root(), version, buildDate)
		},
	}
}

// writeManPage writes root's commands, each with its flags, as a man(7)
// page. date is the build's (never the clock: builds are reproducible);
// empty leaves it out.
func writeManPage(w io.Writer, root *cobra.Command, version, date string) error {
	var b strings.Builder
	if len(date) >= 10 {
		date = date[:10]
	}
	fmt.Fprintf(&b, ".TH BORDERPOST 1 %q %q \"borderpost manual\"\n", date, "borderpost "+version)
	fmt.Fprintf(&b, ".SH NAME\nborderpost \\- %s\n", roff(strings.ToLower(root.Short[:1])+root.Short[1:]))
	b.WriteString(".SH SYNOPSIS\n.B borderpost\n.I command\n.RI [ flags ]\n")
	b.WriteString(".SH DESCRIPTION\n")
	b.WriteString("borderpost holds an encrypted replica of the watch list at a border post, checks what the post's devices read against it, shows hits to officers and delivers every hit to central over MQTT, while central sends signed changes of the list the other way.\n")
	b.WriteString(".PP\nThe agent runs as a service (\\fBborderpost run\\fR under systemd); the other commands are a technician's: check the configuration, manage the data key, accounts and replica, check one value by hand.\n")
	b.WriteString(".SH COMMANDS\n")
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || !sub.IsAvailableCommand() || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			if sub.Runnable() {
				fmt.Fprintf(&b, ".SS \"%s\"\n%s\n", roff(sub.CommandPath()+strings.TrimPrefix(sub.Use, sub.Name())), roff(sentence(sub.Short)))
				sub.LocalFlags().VisitAll(func(f *pflag.Flag) {
					if f.Hidden || f.Name == "help" {
						return
					}
					name, usage := pflag.UnquoteUsage(f)
					b.WriteString(".TP\n")
					if f.Shorthand != "" {
						fmt.Fprintf(&b, "\\fB\\-%s\\fR, ", f.Shorthand)
					}
					fmt.Fprintf(&b, "\\fB\\-\\-%s\\fR", roff(f.Name))
					if name != "" {
						fmt.Fprintf(&b, " \\fI%s\\fR", roff(name))
					}
					b.WriteString("\n" + roff(sentence(usage)))
					if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
						fmt.Fprintf(&b, " Default: %s.", roff(f.DefValue))
					}
					b.WriteString("\n")
				})
			}
			visit(sub)
		}
	}
	visit(root)
	b.WriteString(".SH FILES\n")
	b.WriteString(".TP\n/etc/borderpost/agent.yaml\nThe configuration; every setting is explained in /usr/share/doc/borderpost/setup.md and checked by \\fBborderpost config check\\fR.\n")
	b.WriteString(".TP\n/var/lib/borderpost/replica.db\nThe encrypted replica, its outbox of hits and its audit log.\n")
	b.WriteString(".SH EXIT STATUS\n0 on success; 1 when a command fails, when the configuration has a problem, and for \\fBstatus\\fR when the agent does not answer.\n")
	b.WriteString(".SH SEE ALSO\n/usr/share/doc/borderpost/setup.md, \\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1)\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// sentence ends s with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, ")") && strings.HasSuffix(strings.TrimSuffix(s, ")"), ".") {
		return s
	}
	return s + "."
}

// roff escapes text for man(7): backslashes, hyphens (so they are not
// taken for breaking hyphens) and a leading dot or quote, which would make
// the line a request.
func roff(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
