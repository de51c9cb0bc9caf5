package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/borderpost/borderpost/agent/match"
	"github.com/borderpost/borderpost/agent/post"
	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/ens"
	"github.com/borderpost/borderpost/devices/ident"
	"github.com/borderpost/borderpost/store"
)

// checkCmd lets a technician check one value or one declaration against
// the replica and see every hit with its explanation, as officers do.
func checkCmd() *cobra.Command {
	var cfgPath, country, birth, nationality string
	var company bool
	cmd := &cobra.Command{
		Use:   "check plate|container|document|name|ens VALUE|FILE",
		Short: "Check a plate, container, document, name or ENS declaration file against the replica and explain every hit (stop the agent first)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			items, ref, err := checkItems(args[0], args[1], country, birth, nationality, company)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			kp, err := post.KeyProvider(cfg, quiet)
			if err != nil {
				return err
			}
			// The whole-list replica and, on a post with scopes, each
			// scope's replica: the checks the agent would make.
			scopes, err := store.ScopeFiles(cfg.Store.Path)
			if err != nil {
				return err
			}
			// Loaded as the agent loads them (match.Load: the index files
			// when current, the alerts behind a match read from disk when
			// the hit is made), with the agent's match options, so that
			// the explanation is the agent's and a 100-million-alert
			// replica is not decrypted whole.
			o := post.MatchOptions(cfg)
			open := func(path string) (*store.Replica, *match.Index, error) {
				rep, err := store.Open(cmd.Context(), path, kp, match.WithTerms(store.Options{LockTimeout: 2 * time.Second}))
				if err != nil {
					return nil, nil, err
				}
				ix, err := match.Load(cmd.Context(), rep, o)
				if err != nil {
					rep.Close()
					return nil, nil, fmt.Errorf("load the match index of %s: %w", path, err)
				}
				return rep, ix, nil
			}
			rep, ix, err := open(cfg.Store.Path)
			if err != nil {
				return err
			}
			defer rep.Close() // the check is audited there
			found, err := ix.MatchAll(items, time.Now())
			if err != nil {
				return err
			}
			for _, path := range slices.Sorted(maps.Values(scopes)) {
				srep, six, err := open(path)
				if err != nil {
					return err
				}
				more, err := six.MatchAll(items, time.Now())
				srep.Close() // after the match: the alerts behind it are read from the file
				if err != nil {
					return err
				}
				match.Merge(found, more)
			}
			out := cmd.OutOrStdout()
			var alerts []string
			for i, it := range items {
				fmt.Fprintf(out, "%s: %s %q", it.Field, it.Kind, it.Value)
				if it.Country != "" {
					fmt.Fprintf(out, " (%s)", it.Country)
				}
				if it.Correction != "" {
					fmt.Fprintf(out, " read as %q, %s", it.Raw, it.Correction)
				}
				if len(found[i]) == 0 {
					fmt.Fprintln(out, ": no hit")
					continue
				}
				fmt.Fprintf(out, ": %d hit(s)\n", len(found[i]))
				for _, c := range found[i] {
					alerts = append(alerts, c.Alert.ID)
					fmt.Fprintf(out, "  HIT alert %s v%d  %s  action: %s  match: %s  score %.2f\n", c.Alert.ID, c.Alert.Version, c.Alert.Category, c.Alert.Action, c.Match, c.Score)
					for _, line := range strings.Split(c.Explanation, "\n") {
						fmt.Fprintf(out, "      %s\n", line)
					}
					if len(c.Namesakes) > 0 {
						fmt.Fprintf(out, "  and %d more alert(s) matching this name, not read: %s\n", len(c.Namesakes), strings.Join(c.Namesakes, " "))
					}
				}
			}
			return rep.Audit(cmd.Context(), store.AuditRecord{Event: store.EventCheck, Ref: ref, Device: "technician-cli",
				Detail: fmt.Sprintf("%d items", len(items)), Alerts: alerts})
		},
	}
	configFlag(cmd, &cfgPath, "agent configuration (its replica and key)")
	cmd.Flags().StringVar(&country, "country", "", "plate country (D, F, NL...) or document issuing state")
	cmd.Flags().StringVar(&birth, "birth-date", "", "name checks: YYYY, YYYY-MM or YYYY-MM-DD")
	cmd.Flags().StringVar(&nationality, "nationality", "", "name checks: ISO 3166 country")
	cmd.Flags().BoolVar(&company, "company", false, "name checks: the name is a company's")
	return cmd
}

// checkItems validates what the technician typed as a device would.
func checkItems(kind, arg, country, birth, nationality string, company bool) ([]devices.Item, string, error) {
	ref := "cli-" + time.Now().UTC().Format("20060102T150405")
	it := devices.Item{Field: kind, Raw: arg}
	var err error
	switch kind {
	case "plate":
		it.Kind = devices.KindPlate
		it.Country, it.Value, err = ident.NormalizePlate(country, arg)
	case "container":
		it.Kind = devices.KindContainer
		it.Value, it.Correction, err = ident.CorrectContainer(arg)
	case "document":
		it.Kind = devices.KindDocument
		it.Value, err = ident.NormalizeSimple(arg)
		if err == nil && country != "" {
			it.Country, err = ident.ParseCountry(country)
		}
	case "name":
		it.Kind, it.Value, it.BirthDate = devices.KindPerson, arg, birth
		if company {
			it.Kind = devices.KindCompany
		}
		if strings.TrimSpace(arg) == "" {
			err = errors.New("name is empty")
		}
		if err == nil && nationality != "" {
			it.Nationality, err = ident.ParseCountry(nationality)
		}
	case "ens":
		f, err := os.Open(arg)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		media := mime.TypeByExtension(filepath.Ext(arg))
		if media == "" {
			media = "application/json"
		}
		d, err := ens.Parse(f, media, ens.Limits{})
		if err != nil {
			return nil, "", err
		}
		if verr := d.Validate(); verr != nil {
			fmt.Fprintf(os.Stderr, "declaration faults (their fields are not checked): %v\n", verr)
		}
		c := d.Check("technician-cli")
		return c.Items, c.ID, nil
	default:
		return nil, "", fmt.Errorf("check %q: want plate, container, document, name or ens", kind)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", kind, err)
	}
	return []devices.Item{it}, ref, nil
}
