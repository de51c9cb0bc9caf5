package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/borderpost/borderpost/agent/config"
	"github.com/borderpost/borderpost/agent/match"
	"github.com/borderpost/borderpost/agent/post"
	"github.com/borderpost/borderpost/store"
	"github.com/borderpost/borderpost/store/atomicfile"
	"github.com/borderpost/borderpost/store/tpm"
)

// keyProvider returns the data key provider the configuration names. The
// development-key warning is the running agent's to give (once, by `run`):
// an offline command on a development key would only repeat it.
func keyProvider(cfg config.Config, _ *slog.Logger) (store.KeyProvider, error) {
	return post.KeyProvider(cfg, slog.New(slog.DiscardHandler))
}

// stderrIsTerminal reports whether progress can be drawn as a bar.
func stderrIsTerminal() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressReporter draws a bar on a terminal and logs a line every few
// seconds otherwise (under systemd, in CI). done and total are in unit;
// records is shown beside them with its rate.
type progressReporter struct {
	bar     *progressbar.ProgressBar
	log     *slog.Logger
	what    string
	start   time.Time
	lastLog time.Time
}

func newProgress(what string, total int64, unit string, log *slog.Logger) *progressReporter {
	p := &progressReporter{log: log, what: what, start: time.Now()}
	if stderrIsTerminal() {
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription(what),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(200 * time.Millisecond),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }),
		}
		if unit == "bytes" {
			opts = append(opts, progressbar.OptionShowBytes(true))
		} else {
			opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionSetItsString(unit))
		}
		p.bar = progressbar.NewOptions64(total, opts...)
	}
	return p
}

// update reports done of total, and records handled so far.
func (p *progressReporter) update(done, total int64, records int) {
	elapsed := time.Since(p.start)
	rate := float64(records) / max(elapsed.Seconds(), 0.001)
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%s: %d records, %.0f/s", p.what, records, rate))
		_ = p.bar.Set64(done)
		return
	}
	if time.Since(p.lastLog) < 5*time.Second && done < total {
		return
	}
	p.lastLog = time.Now()
	args := []any{"records", records, "rate_per_s", int(rate), "elapsed", elapsed.Round(time.Second)}
	if total > 0 && done > 0 {
		left := time.Duration(float64(elapsed) * float64(total-done) / float64(done))
		args = append(args, "percent", 100*done/total, "time_left", left.Round(time.Second))
	}
	p.log.Info(p.what, args...)
}

func (p *progressReporter) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// signalContext ends on SIGINT or SIGTERM, so a long operation stops at a
// safe point.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

func cliLogger(cmd *cobra.Command) *slog.Logger {
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
}

func keysCmd() *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Manage the replica's data key"}
	var keyFile, cfgPath string
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Create the data key: sealed in the TPM the configuration names (--config), or a development key file (--key-file)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case cfgPath != "":
				cfg, err := loadConfig(cfgPath)
				if err != nil {
					return err
				}
				t := cfg.Store.Key.TPM
				if t == nil {
					if cfg.Store.Key.File == "" {
						return errors.New("the configuration names no key (store.key.tpm or store.key.file)")
					}
					keyFile = cfg.Store.Key.File
					break
				}
				blob := t.Blob
				if blob == "" {
					blob = tpm.BlobPathFor(cfg.Store.Path)
				}
				if _, err := os.Stat(blob); err == nil {
					return fmt.Errorf("%s exists: a new key would make the replica unreadable; use `keys rotate`", blob)
				}
				key := make([]byte, store.DataKeySize)
				if _, err := rand.Read(key); err != nil {
					return err
				}
				defer clear(key)
				if err := tpm.Provision(cmd.Context(), post.TPMConfig(t), blob, key); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "sealed a new data key in the TPM, bound to PCRs %v; blob %s\n", t.PCRs, blob)
				return nil
			case keyFile == "":
				return errors.New("name the key: --config FILE (the TPM or key file it names) or --key-file PATH")
			}
			if err := store.WriteKeyFile(keyFile); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote development data key to %s (mode 0600)\n", keyFile)
			return nil
		},
	}
	initCmd.Flags().StringVar(&keyFile, "key-file", "", "where to write a development key file")
	initCmd.Flags().StringVarP(&cfgPath, "config", "c", "", "agent configuration whose store.key to create")
	keys.AddCommand(initCmd, keysStatusCmd(), keysRotateCmd())
	return keys
}

func keysStatusCmd() *cobra.Command {
	var cfgPath string
	var asJSON bool
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the key provider, the key generation and any rotation in progress (needs no key; stop the agent first)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			st, err := store.ReadStatus(cmd.Context(), cfg.Store.Path, statusOptions(cfg))
			if err != nil {
				return err
			}
			provider := "none configured (the agent will not start)"
			switch {
			case cfg.Store.Key.TPM != nil:
				provider = fmt.Sprintf("TPM, bound to PCRs %v", cfg.Store.Key.TPM.PCRs)
			case cfg.Store.Key.File != "":
				provider = "development key file " + cfg.Store.Key.File + " (key in clear on disk)"
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(map[string]any{"provider": provider, "replica": st})
			}
			fmt.Fprintf(out, "key provider:    %s\n", provider)
			fmt.Fprintf(out, "key generation:  %d (check %s)\n", st.Key.Generation, st.Key.Check)
			if st.Key.Rotating {
				fmt.Fprintf(out, "rotation:        IN PROGRESS to generation %d, %d of %d entries re-encrypted\n", st.Key.RotatingTo, st.Key.Done, st.Key.Total)
				fmt.Fprintln(out, "                 resume with `borderpost keys rotate --new-key-file FILE` (same key);")
				fmt.Fprintln(out, "                 starting the agent without it rolls the rotation back")
			} else {
				fmt.Fprintln(out, "rotation:        none")
			}
			fmt.Fprintf(out, "replica:         %s, format %d, %d bytes, alert generation %d\n", cfg.Store.Path, st.Format, st.FileBytes, st.Generation)
			fmt.Fprintf(out, "cursor:          epoch %d, sequence %d, digest %s\n", st.Cursor.Epoch, st.Cursor.Seq, st.Cursor.Digest)
			return nil
		},
	}
	configFlag(c, &cfgPath, "configuration file")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func keysRotateCmd() *cobra.Command {
	var cfgPath, newKeyFile string
	var chunk int
	c := &cobra.Command{
		Use:   "rotate",
		Short: "Re-encrypt the replica under a new data key, then install that key as the configured one",
		Long: `Re-encrypts every alert and outbox entry under the key in --new-key-file (create it with
'borderpost keys init --key-file NEW'), in chunked transactions. If the command is stopped or killed,
run it again with the same --new-key-file to resume; starting the agent instead rolls the rotation back.
When it finishes, the new key file is moved over the configured key file: the old key no longer opens
the replica. Stop the agent first: the replica file is locked while it runs.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if newKeyFile == "" {
				return errors.New("--new-key-file is required (create one with `borderpost keys init --key-file FILE`)")
			}
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			log := cliLogger(cmd)
			kp, err := keyProvider(cfg, log)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			next := store.KeyFile{Path: newKeyFile}
			// Every replica file of the post shares the data key: the scope
			// replicas first, the main one last, so that a rerun after an
			// interruption finds the finished ones under the new key.
			scopes, err := store.ScopeFiles(cfg.Store.Path)
			if err != nil {
				return err
			}
			paths := slices.Sorted(maps.Values(scopes))
			var before, after store.KeyStatus
			for _, path := range append(paths, cfg.Store.Path) {
				b, a, err := rotateFile(ctx, path, kp, next, chunk, log)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				before, after = b, a
			}
			if err := installKeyFile(newKeyFile, cfg.Store.Key.File); err != nil {
				return fmt.Errorf("replica re-encrypted to key generation %d, but installing the new key failed: %w; run the command again to retry", after.Generation, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rotated data key: generation %d -> %d (check %s); %s now holds the new key\n",
				before.Generation, after.Generation, after.Check, cfg.Store.Key.File)
			// Each file holds the old key's pages, free, and side files
			// of the old key: compact it and write them now, while the
			// agent is stopped anyway, so that its next start serves at
			// once (at 100M the start did both first: 4 min 32 s).
			nkp, err := keyProvider(cfg, log)
			if err != nil {
				return err
			}
			for _, path := range append(paths, cfg.Store.Path) {
				if err := settleRotated(ctx, path, nkp, log); err != nil {
					log.Warn("replica not compacted after the rotation; the agent compacts it at its next start", "path", path, "err", err)
				}
			}
			return nil
		},
	}
	configFlag(c, &cfgPath, "configuration file")
	c.Flags().StringVar(&newKeyFile, "new-key-file", "", "file holding the new key (from borderpost keys init)")
	c.Flags().IntVar(&chunk, "chunk", 5000, "entries re-encrypted per transaction")
	return c
}

// rotateFile re-encrypts one replica file under next. A scope replica
// that an interrupted run already moved to next is left as it is.
func rotateFile(ctx context.Context, path string, kp, next store.KeyProvider, chunk int, log *slog.Logger) (before, after store.KeyStatus, err error) {
	rep, err := store.Open(ctx, path, kp, match.WithTerms(store.Options{Logger: log, NextKey: next}))
	if errors.Is(err, store.ErrWrongKey) {
		if done, err2 := store.Open(ctx, path, next, match.WithTerms(store.Options{Logger: log})); err2 == nil {
			st, _ := done.KeyStatus()
			done.Close()
			return st, st, nil
		}
	}
	if err != nil {
		return before, after, err
	}
	defer rep.Close()
	before, _ = rep.KeyStatus()
	p := newProgress("re-encrypting "+filepath.Base(path), 0, "entries", log)
	err = rep.Rotate(ctx, next, chunk, func(done, total int) {
		if p.bar != nil && p.bar.GetMax64() != int64(total) {
			p.bar.ChangeMax64(int64(total))
		}
		p.update(int64(done), int64(total), done)
	})
	p.finish()
	after, _ = rep.KeyStatus()
	return before, after, err
}

// settleRotated compacts a replica file just rotated and writes its match
// index's files under the new key (settleImport).
func settleRotated(ctx context.Context, path string, kp store.KeyProvider, log *slog.Logger) error {
	rep, err := store.Open(ctx, path, kp, match.WithTerms(store.Options{Logger: log}))
	if err != nil {
		return err
	}
	rep, err = settleImport(ctx, rep, kp, log)
	if rep != nil {
		err = errors.Join(err, rep.Close())
	}
	return err
}

// installKeyFile replaces dst with src's content atomically and removes
// src, so the configured key file holds the new key and the old key is
// gone from disk.
func installKeyFile(src, dst string) error {
	key, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(dst, key, 0o600); err != nil {
		return err
	}
	return os.Remove(src)
}

// importNextStep says what the imported replica still needs from central:
// deltas apply only on top of a position in central's stream (epoch,
// sequence and the hash of that change, from the file's header line).
func importNextStep(cur store.Cursor) string {
	if cur.Seq == 0 || cur.Hash == ([32]byte{}) {
		return "the file gave no position in central's stream (a header line with epoch, seq and hash): the agent checks against these alerts, " +
			"but it still needs a snapshot from central before any delta applies; it asks for one when it first connects"
	}
	return fmt.Sprintf("deltas from central apply from epoch %d, sequence %d on; if central no longer keeps them, or is on another epoch, it sends a snapshot first",
		cur.Epoch, cur.Seq+1)
}

// settleImport prepares a replica just filled by an import for the
// agent's first start: when the snapshot asked for a compaction (the old
// generation's pages are free; the agent would compact at open
// otherwise) it closes rep and reopens it compacting the file, then
// writes the match index's files (match.PrepareFiles) so that the start
// loads them instead of walking the term index and decrypting every
// person and company. It returns the replica, open, or nil if it could
// not reopen it.
func settleImport(ctx context.Context, rep *store.Replica, kp store.KeyProvider, log *slog.Logger) (*store.Replica, error) {
	due, err := rep.CompactDue()
	if err != nil {
		return rep, err
	}
	if due {
		path := rep.Path()
		if err := rep.Close(); err != nil {
			return nil, err
		}
		log.Info("compacting the replica: the old generation's space")
		start := time.Now()
		if rep, err = store.Open(ctx, path, kp, match.WithTerms(store.Options{Logger: log, Compact: true})); err != nil {
			return nil, err
		}
		log.Info("replica compacted and open", "took", time.Since(start).Round(time.Millisecond))
	}
	log.Info("writing the match index's files (term table, name index)")
	start := time.Now()
	if err := match.PrepareFiles(ctx, rep, match.Options{Logger: log}); err != nil {
		return rep, err
	}
	log.Info("match index files written", "took", time.Since(start).Round(time.Millisecond))
	return rep, nil
}

// replicaCmd groups the offline replica operations. Add it to the root
// command beside keysCmd().
func replicaCmd() *cobra.Command {
	c := &cobra.Command{Use: "replica", Short: "Work with the replica file (stop the agent first: the file is locked while it runs)"}
	var cfgPath, file string
	imp := &cobra.Command{
		Use:   "import",
		Short: "Replace the replica's alerts with a JSON Lines file (format: store/README.md), verified and switched in one step",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("--file is required")
			}
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			log := cliLogger(cmd)
			kp, err := keyProvider(cfg, log)
			if err != nil {
				return err
			}
			var in io.Reader = os.Stdin
			var size int64
			if file != "-" {
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				defer f.Close()
				if fi, err := f.Stat(); err == nil {
					size = fi.Size()
				}
				in = f
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			rep, err := store.Open(ctx, cfg.Store.Path, kp, match.WithTerms(store.Options{Logger: log}))
			if err != nil {
				return err
			}
			defer func() {
				if rep != nil {
					rep.Close()
				}
			}()
			p := newProgress("importing", size, "bytes", log)
			start := time.Now()
			res, err := store.Import(ctx, in, rep, func(ip store.ImportProgress) {
				p.update(ip.Bytes, size, ip.Records)
			})
			p.finish()
			if err != nil {
				return err
			}
			took := time.Since(start)
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "imported %d records (%d alerts) in %s, %.0f/s; replica at epoch %d, sequence %d, digest %s\n",
				res.Records, res.Alerts, took.Round(time.Millisecond), float64(res.Records)/max(took.Seconds(), 0.001),
				res.Cursor.Epoch, res.Cursor.Seq, res.Cursor.Digest)
			// The agent's first start must be as fast as any other: what it
			// would do first (reclaim the old generation's space, walk the
			// term index, decrypt every person and company to build the
			// name index) is done here, while the technician waits anyway.
			start = time.Now()
			if rep, err = settleImport(ctx, rep, kp, log); err != nil {
				// The import stands: the agent's first start does this work.
				fmt.Fprintf(out, "the alerts are imported, but preparing the agent's first start failed: %v; the agent does it when it starts (slower)\n", err)
			} else {
				fmt.Fprintf(out, "agent's first start prepared (replica compacted if due, match index files written) in %s\n", time.Since(start).Round(time.Millisecond))
			}
			fmt.Fprintln(out, importNextStep(res.Cursor))
			return nil
		},
	}
	configFlag(imp, &cfgPath, "configuration file")
	imp.Flags().StringVar(&file, "file", "", "JSON Lines alert file, or - for standard input")

	var compactCfg string
	compact := &cobra.Command{
		Use:   "compact",
		Short: "Rewrite the replica file without the space dropped generations left (needs no key)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(compactCfg)
			if err != nil {
				return err
			}
			before, after, err := store.Compact(cmd.Context(), cfg.Store.Path, store.Options{})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "compacted %s: %d -> %d bytes\n", cfg.Store.Path, before, after)
			return nil
		},
	}
	configFlag(compact, &compactCfg, "configuration file")
	c.AddCommand(imp, compact, replicaVerifyCmd(), replicaRebuildCmd(), replicaStatusCmd())
	return c
}

// replicaVerifyCmd checks the replica file's structure without a key.
func replicaVerifyCmd() *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the structure of the replica file and its journal (every page) without opening them; needs no key",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			if err := store.VerifyFile(cfg.Store.Path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "replica file intact: %s\n", cfg.Store.Path)
			// The journal beside it: audit log and outbox.
			if jp := store.JournalPath(cfg.Store.Path); func() bool { _, err := os.Stat(jp); return err == nil }() {
				if err := store.VerifyFile(jp); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "journal intact: %s\n", jp)
			}
			return nil
		},
	}
	configFlag(cmd, &cfgPath, "configuration file")
	return cmd
}

// replicaRebuildCmd replaces a damaged replica, keeping its unsent hits.
func replicaRebuildCmd() *cobra.Command {
	var cfgPath string
	var force bool
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Replace a damaged replica: move it aside, keep the hits not yet sent to central, start empty (the agent fetches the watch list again)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			log := cliLogger(cmd)
			kp, err := keyProvider(cfg, log)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			res, err := store.Rebuild(ctx, cfg.Store.Path, kp, force, store.Options{Logger: log})
			if err != nil {
				return err
			}
			how := "read through its intact tree"
			if !res.Salvage.Exact {
				how = "scanned page by page; hits central already holds may be sent again, central keeps each once"
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "damaged replica moved to %s (kept for investigation: its audit log stays there)\n", res.Aside)
			fmt.Fprintf(out, "%d hits and outcomes not yet sent to central recovered (%d pages %s)\n", res.Restored, res.Salvage.Pages, how)
			fmt.Fprintf(out, "new replica %s created; start the agent: it fetches the watch list from central\n", cfg.Store.Path)
			return nil
		},
	}
	configFlag(cmd, &cfgPath, "configuration file")
	cmd.Flags().BoolVar(&force, "force", false, "rebuild even a replica that passes its check")
	return cmd
}

func auditCmd() *cobra.Command {
	c := &cobra.Command{Use: "audit", Short: "Work with the audit log"}
	var cfgPath string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit log's hash chain and name any edited, removed or moved record",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return eachAuditLog(cmd, cfgPath, func(path string, rep *store.Replica) error {
				n, err := rep.VerifyAudit(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "audit log intact: %d records (%s)\n", n, filepath.Base(path))
				return nil
			})
		},
	}
	configFlag(verify, &cfgPath, "configuration file")
	c.AddCommand(verify, auditEventsCmd())
	return c
}

// eachAuditLog opens the main replica named by the configuration at
// cfgPath, then each scope replica (each keeps the log of its own
// deltas), and calls fn with each; an error names the file.
func eachAuditLog(cmd *cobra.Command, cfgPath string, fn func(path string, rep *store.Replica) error) error {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	kp, err := keyProvider(cfg, cliLogger(cmd))
	if err != nil {
		return err
	}
	scopes, err := store.ScopeFiles(cfg.Store.Path)
	if err != nil {
		return err
	}
	for _, path := range append([]string{cfg.Store.Path}, slices.Sorted(maps.Values(scopes))...) {
		rep, err := store.Open(cmd.Context(), path, kp, match.WithTerms(store.Options{}))
		if err != nil {
			return err
		}
		err = fn(path, rep)
		rep.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

// auditEventsCmd counts the audit log's records by event, and with
// --event lists that event's records by reference (time, reference,
// reason): what an operator reads after an incident, e.g. how many forged
// or replayed messages were refused. It never prints the device or user
// behind a record.
func auditEventsCmd() *cobra.Command {
	var cfgPath, event string
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Count the audit log's records by event, or list one event's records (stop the agent first)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			return eachAuditLog(cmd, cfgPath, func(path string, rep *store.Replica) error {
				counts := map[store.AuditEvent]int{}
				err := rep.AuditRecords(cmd.Context(), func(r store.AuditRecord) error {
					counts[r.Event]++
					if event != "" && string(r.Event) == event {
						fmt.Fprintf(out, "%s\t%s\t%s\t%s\n", filepath.Base(path), r.Time.Local().Format(time.RFC3339), r.Ref, r.Detail)
					}
					return nil
				})
				if err != nil || event != "" {
					return err
				}
				for _, ev := range slices.Sorted(maps.Keys(counts)) {
					fmt.Fprintf(out, "%s\t%s\t%d\n", filepath.Base(path), ev, counts[ev])
				}
				return nil
			})
		},
	}
	configFlag(cmd, &cfgPath, "configuration file")
	cmd.Flags().StringVar(&event, "event", "", "list this event's records (e.g. assignment.refused) instead of counting")
	return cmd
}
