package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/borderpost/borderpost/simulator/central"
	"github.com/borderpost/borderpost/simulator/field"
	"github.com/borderpost/borderpost/simulator/lists"
	"github.com/borderpost/borderpost/simulator/rig"
	"github.com/borderpost/borderpost/simulator/watchlist"
	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:          "simulator",
		Short:        "Central and the field in a box, for borderpost's demo, tests and benchmarks",
		SilenceUsage: true,
	}
	root.AddCommand(demoCmd(), centralCmd(), fieldCmd(), keysCmd(), delegateCmd(), fleetCmd(), backlogCmd(), soakCmd(), benchCmd(), genCmd())
	return root
}

// signalContext ends on Ctrl-C or SIGTERM, or when parent ends.
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// keyPassphrase returns the passphrase that seals central's private keys:
// the first line of the file named, else $BORDERPOST_KEY_PASSPHRASE, else
// none (development keys in clear).
func keyPassphrase(file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("passphrase file: %w", err)
		}
		return []byte(strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r")), nil
	}
	return []byte(os.Getenv("BORDERPOST_KEY_PASSPHRASE")), nil
}

// writeKey writes a private key, sealed when a passphrase is given.
func writeKey(path string, priv ed25519.PrivateKey, passphrase []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := bpsync.WritePrivateKey(f, priv, passphrase); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeHitKey writes a hit private key, sealed when a passphrase is given,
// and its public key beside it for the posts.
func writeHitKey(keyPath, pubPath string, k *bpsync.HitKey, passphrase []byte) error {
	f, err := os.OpenFile(keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := bpsync.WriteHitKey(f, k, passphrase); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(pubPath, []byte(k.Public().String()+"\n"), 0o644)
}

// readHitKeys reads central's hit key at path and, during a rotation, the
// previous one kept at path.prev, current first.
func readHitKeys(path, passFile string) ([]*bpsync.HitKey, error) {
	var keys []*bpsync.HitKey
	for i, p := range []string{path, path + ".prev"} {
		f, err := os.Open(p)
		if i > 0 && os.IsNotExist(err) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("central hit key: %w (create one with `simulator keys hit`)", err)
		}
		k, err := bpsync.ReadHitKeyWith(f, func() ([]byte, error) { return keyPassphrase(passFile) })
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("central hit key %s: %w", p, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// hitKeyCmd creates or rotates central's hit key pair.
func hitKeyCmd() *cobra.Command {
	var dir, passFile string
	var rotate bool
	cmd := &cobra.Command{
		Use:   "hit",
		Short: "Create central's hit key pair (hits.key; hits.pub for the posts' sync.central_hit_key), or rotate it, keeping the old private key as hits.key.prev",
		RunE: func(cmd *cobra.Command, _ []string) error {
			keyPath, pubPath := filepath.Join(dir, "hits.key"), filepath.Join(dir, "hits.pub")
			pass, err := keyPassphrase(passFile)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if rotate {
				prev := keyPath + ".prev"
				if _, err := os.Stat(prev); err == nil {
					return fmt.Errorf("%s still holds the key before the current one: remove it once no post seals to it (every post has the current hits.pub and its outbox has drained), then rotate", prev)
				}
				if _, err := readHitKeys(keyPath, passFile); err != nil {
					return err
				}
				if err := os.Rename(keyPath, prev); err != nil {
					return err
				}
				if err := os.Remove(pubPath); err != nil && !os.IsNotExist(err) {
					return err
				}
			}
			k, err := bpsync.GenerateHitKey()
			if err != nil {
				return err
			}
			if err := writeHitKey(keyPath, pubPath, k, pass); err != nil {
				return err
			}
			fmt.Fprintf(out, "wrote hit key %s (key %s) and %s for the posts' sync.central_hit_key\n", keyPath, k.ID(), pubPath)
			if rotate {
				fmt.Fprintf(out, "kept the previous hit key as %s.prev: central opens hits sealed to either; remove it once every post has the new hits.pub and its outbox has drained\n", keyPath)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "folder of central's keys")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "file whose first line seals the private key (default $BORDERPOST_KEY_PASSPHRASE)")
	cmd.Flags().BoolVar(&rotate, "rotate", false, "replace the hit key, keeping the old one as hits.key.prev for the grace period")
	return cmd
}

func keysCmd() *cobra.Command {
	var dir, passFile string
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create central's root key pair (central.key, sealed with a passphrase when one is given; central.pub for the posts) and hit key pair (hits.key; hits.pub for the posts)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			pub, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return err
			}
			pass, err := keyPassphrase(passFile)
			if err != nil {
				return err
			}
			if err := writeKey(filepath.Join(dir, "central.key"), priv, pass); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "central.pub"), []byte(base64.StdEncoding.EncodeToString(pub)+"\n"), 0o644); err != nil {
				return err
			}
			sealed := "in clear (development: give a passphrase on a real central)"
			if len(pass) > 0 {
				sealed = "sealed with the passphrase"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s) and %s\n", filepath.Join(dir, "central.key"), sealed, filepath.Join(dir, "central.pub"))
			hk, err := bpsync.GenerateHitKey()
			if err != nil {
				return err
			}
			if err := writeHitKey(filepath.Join(dir, "hits.key"), filepath.Join(dir, "hits.pub"), hk, pass); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s) and %s (the posts' sync.central_hit_key)\n", filepath.Join(dir, "hits.key"), sealed, filepath.Join(dir, "hits.pub"))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "folder to write the key pairs into")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "file whose first line seals the private keys (default $BORDERPOST_KEY_PASSPHRASE)")
	cmd.AddCommand(hitKeyCmd())
	return cmd
}

// readSigner reads a signing key, sealed or not, and the delegation beside
// it (PATH.cert) when the key is a delegated one.
func readSigner(path, passFile string) (*bpsync.Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("central signing key: %w (create one with `simulator keys`)", err)
	}
	defer f.Close()
	priv, err := bpsync.ReadPrivateKeyWith(f, func() ([]byte, error) { return keyPassphrase(passFile) })
	if err != nil {
		return nil, fmt.Errorf("central signing key %s: %w", path, err)
	}
	s := bpsync.NewSigner(priv)
	if cert, err := os.ReadFile(path + ".cert"); err == nil {
		s.Cert = cert
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	return s, nil
}

func delegateCmd() *cobra.Command {
	var rootPath, out, passFile string
	var days int
	cmd := &cobra.Command{
		Use:   "delegate",
		Short: "Create a signing key vouched for by the root key for a number of days (OUT and OUT.cert); agents trust only the root",
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, err := readSigner(rootPath, passFile)
			if err != nil {
				return err
			}
			if root.Cert != nil {
				return fmt.Errorf("%s is itself a delegated key: delegate from the root", rootPath)
			}
			pub, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return err
			}
			now := time.Now().UTC()
			cert, err := bpsync.Delegate(root, pub, now.Add(-5*time.Minute), now.Add(time.Duration(days)*24*time.Hour))
			if err != nil {
				return err
			}
			pass, err := keyPassphrase(passFile)
			if err != nil {
				return err
			}
			if err := writeKey(out, priv, pass); err != nil {
				return err
			}
			if err := os.WriteFile(out+".cert", cert, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote signing key %s (key %s) vouched for by root %s until %s\n", out,
				bpsync.KeyID(pub), root.KeyID, now.Add(time.Duration(days)*24*time.Hour).Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&rootPath, "root", "central.key", "the root key (keep it offline)")
	cmd.Flags().StringVar(&out, "out", "signing.key", "where to write the delegated signing key")
	cmd.Flags().IntVar(&days, "days", 30, "how many days the delegation is valid")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "file whose first line opens the root key and seals the new one (default $BORDERPOST_KEY_PASSPHRASE)")
	return cmd
}

func centralCmd() *cobra.Command {
	var broker, keyPath, hitKeyPath string
	var alerts int
	var seed uint64
	var fleetEvery, silentAfter time.Duration
	var src listSource
	var passFile, scopesPath, dataDir string
	cmd := &cobra.Command{
		Use:   "central",
		Short: "Publish a signed delta of generated alerts, then receive, store and acknowledge hits until Ctrl-C",
		RunE: func(cmd *cobra.Command, _ []string) error {
			signer, err := readSigner(keyPath, passFile)
			if err != nil {
				return err
			}
			if hitKeyPath == "" {
				hitKeyPath = filepath.Join(filepath.Dir(keyPath), "hits.key")
			}
			hitKeys, err := readHitKeys(hitKeyPath, passFile)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			out := cmd.OutOrStdout()
			ccfg := central.Config{Broker: broker, Signer: signer, HitKeys: hitKeys, OnHit: func(agent string, h store.Hit) {
				fmt.Fprintf(out, "hit %s from %s: alert %s (%s) on %s\n", h.ID, agent, h.AlertID, h.Action, h.Field)
			}}
			if scopesPath != "" {
				sc, err := readScopeConfig(scopesPath)
				if err != nil {
					return err
				}
				ccfg.Scopes = sc.Scopes
				if ccfg.Assign, err = sc.Assignments(); err != nil {
					return err
				}
				ccfg.Unscoped = sc.Unscoped
			}
			if dataDir != "" {
				closeData, err := openCentralData(dataDir, &ccfg)
				if err != nil {
					return err
				}
				defer closeData()
			}
			c, err := central.Start(ccfg)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := rig.WaitUntil(ctx, 30*time.Second, c.Connected); err != nil {
				return fmt.Errorf("central cannot reach the broker at %s: %w", broker, err)
			}
			list, err := loadList(src, alerts, seed)
			if err != nil {
				return err
			}
			d, changed, err := c.PublishList(list)
			switch {
			case err != nil:
				return err
			case changed:
				fmt.Fprintf(out, "published delta %d/%d: %d upserts, %d deletes; the list holds %d alerts, digest %s\n",
					d.Epoch, d.Seq, len(d.Upserts), len(d.Deletes), len(list), d.Digest)
			default:
				fmt.Fprintf(out, "the list is unchanged since delta %d (digest %s): nothing published\n", c.Seq(), c.Digest())
			}
			var tick <-chan time.Time
			if fleetEvery > 0 {
				t := time.NewTicker(fleetEvery)
				defer t.Stop()
				tick = t.C
			}
		loop:
			for {
				select {
				case <-ctx.Done():
					break loop
				case <-tick:
					central.WriteFleet(out, c.Fleet(time.Now(), silentAfter), time.Now())
				}
			}
			central.WriteFleet(out, c.Fleet(time.Now(), silentAfter), time.Now())
			st := c.Stats()
			fmt.Fprintf(out, "central: %d hits stored, %d received, %d duplicates, %d acks, %d resyncs\n", st.Stored, st.Received, st.Duplicates, st.Acks, st.Resyncs)
			return nil
		},
	}
	cmd.Flags().StringVar(&broker, "broker", "tcp://127.0.0.1:1883", "MQTT broker")
	cmd.Flags().DurationVar(&fleetEvery, "fleet-every", 0, "print the fleet view this often (0: only at the end)")
	cmd.Flags().DurationVar(&silentAfter, "silent-after", 60*time.Second, "flag agents without a status for this long")
	cmd.Flags().StringVar(&keyPath, "key", "central.key", "central's signing key (from `simulator keys` or `delegate`)")
	cmd.Flags().StringVar(&hitKeyPath, "hit-key", "", "central's hit key (from `simulator keys` or `keys hit`); hits.key.prev beside it is used too during a rotation (default: hits.key beside --key)")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "file whose first line opens a sealed key (default $BORDERPOST_KEY_PASSPHRASE)")
	cmd.Flags().IntVar(&alerts, "alerts", 1000, "how many alerts to generate and publish (when no list is named)")
	cmd.Flags().StringVar(&src.ofac, "ofac", "", "publish an OFAC legacy CSV folder (sdn.csv, add.csv, alt.csv)")
	cmd.Flags().StringVar(&src.un, "un", "", "publish a UN consolidated list XML file")
	cmd.Flags().StringVar(&src.csv, "csv", "", "publish a national list in the CSV form of simulator/lists/README.md")
	cmd.Flags().StringVar(&src.jsonl, "jsonl", "", "publish alerts in the JSON Lines form of docs/alerts.md")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the generated watch list (the field needs the same)")
	cmd.Flags().StringVar(&scopesPath, "scopes", "", "publish per-scope streams and assign agents their scopes (configs/scopes.example.yaml)")
	cmd.Flags().StringVar(&dataDir, "data", "", "keep lists, replay history and hits on disk in this folder (lists.db, hits.db); without it central forgets all at exit")
	cmd.AddCommand(aclCmd(), exportCmd(), diffCmd(), fleetViewCmd())
	return cmd
}

// openCentralData opens central's state and hit store in dir.
func openCentralData(dir string, cfg *central.Config) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	st, err := central.OpenState(filepath.Join(dir, "lists.db"))
	if err != nil {
		return nil, err
	}
	hs, err := central.OpenHitStore(filepath.Join(dir, "hits.db"))
	if err != nil {
		st.Close()
		return nil, err
	}
	cfg.State, cfg.Hits = st, hs
	return func() { hs.Close(); st.Close() }, nil
}

// sourceOf names a list file by its form: a folder is an OFAC legacy CSV
// folder, .xml the UN list, .csv a national CSV, .jsonl alerts.
func sourceOf(path string) (listSource, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return listSource{}, err
	}
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case fi.IsDir():
		return listSource{ofac: path}, nil
	case ext == ".xml":
		return listSource{un: path}, nil
	case ext == ".csv":
		return listSource{csv: path}, nil
	case ext == ".jsonl" || ext == ".ndjson":
		return listSource{jsonl: path}, nil
	}
	return listSource{}, fmt.Errorf("%s: name an OFAC folder, a UN .xml, a national .csv or an alerts .jsonl file", path)
}

// diffCmd diffs two versions of a list by stable entry ID.
func diffCmd() *cobra.Command {
	var outPath string
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Show what changed between two versions of a list (added, removed, changed, by entry ID) and write the delta as JSON Lines",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sets [2][]store.Alert
			for i, p := range args {
				src, err := sourceOf(p)
				if err != nil {
					return err
				}
				if sets[i], err = loadList(src, 0, 0); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
			}
			ups, dels := lists.Diff(sets[0], sets[1])
			old := make(map[string]bool, len(sets[0]))
			for _, a := range sets[0] {
				old[a.ID] = true
			}
			added := 0
			for _, a := range ups {
				if !old[a.ID] {
					added++
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d entries then, %d now: %d added, %d removed, %d changed\n",
				len(sets[0]), len(sets[1]), added, len(dels), len(ups)-added)
			if outPath == "" {
				return nil
			}
			f, err := os.Create(outPath)
			if err != nil {
				return err
			}
			bw := bufio.NewWriter(f)
			enc := json.NewEncoder(bw)
			for _, a := range ups {
				enc.Encode(map[string]any{"op": "upsert", "alert": a})
			}
			for _, id := range dels {
				enc.Encode(map[string]any{"op": "delete", "id": id})
			}
			if err := bw.Flush(); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		},
	}
	cmd.Flags().StringVar(&outPath, "out", "", "write the delta here, one change per line")
	return cmd
}

// fleetViewCmd prints the fleet view from the broker's retained messages.
func fleetViewCmd() *cobra.Command {
	var broker, rootPath string
	var asJSON bool
	var wait, silentAfter time.Duration
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Show every agent from the retained status topics: link, last seen, replica and scopes against central's heads, outbox",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ocfg := central.ObserveConfig{Broker: broker, Wait: wait, SilentAfter: silentAfter, Logger: quietLogger()}
			if rootPath != "" {
				f, err := os.Open(rootPath)
				if err != nil {
					return err
				}
				pub, err := bpsync.ReadPublicKey(f)
				f.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", rootPath, err)
				}
				ocfg.Verifier = bpsync.NewVerifier(pub)
			}
			views, err := central.Observe(cmd.Context(), ocfg)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(views)
			}
			return central.WriteFleet(cmd.OutOrStdout(), views, time.Now())
		},
	}
	cmd.Flags().StringVar(&broker, "broker", "tcp://127.0.0.1:1883", "MQTT broker")
	cmd.Flags().StringVar(&rootPath, "central-key", "", "central's root public key: heads and assignments not signed under it are ignored")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().DurationVar(&wait, "wait", 2*time.Second, "how long to gather retained messages")
	cmd.Flags().DurationVar(&silentAfter, "silent-after", 60*time.Second, "flag agents without a status for this long")
	return cmd
}

// exportCmd writes central's stored hits, outcomes joined, as JSON Lines.
func exportCmd() *cobra.Command {
	var dataDir, agent, outPath string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the hits central stored (officers' outcomes joined) as JSON Lines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hs, err := central.OpenHitStore(filepath.Join(dataDir, "hits.db"))
			if err != nil {
				return err
			}
			defer hs.Close()
			w := cmd.OutOrStdout()
			if outPath != "" && outPath != "-" {
				f, err := os.Create(outPath)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			bw := bufio.NewWriter(w)
			n, err := hs.Export(cmd.Context(), bw, agent)
			if err == nil {
				err = bw.Flush()
			}
			if err != nil {
				return fmt.Errorf("export hits: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d hits exported\n", n)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", ".", "central's data folder (as given to central --data)")
	cmd.Flags().StringVar(&agent, "agent", "", "only this agent's hits")
	cmd.Flags().StringVar(&outPath, "out", "-", "file to write (- for standard output)")
	return cmd
}

func readScopeConfig(path string) (central.ScopeConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return central.ScopeConfig{}, err
	}
	defer f.Close()
	sc, err := central.ReadScopeConfig(f)
	if err != nil {
		return sc, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// aclCmd writes the broker ACL that a scope configuration implies.
func aclCmd() *cobra.Command {
	var scopesPath string
	cmd := &cobra.Command{
		Use:   "acl",
		Short: "Write the Mosquitto ACL for a scope configuration: each agent reads only its scopes' topics",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := readScopeConfig(scopesPath)
			if err != nil {
				return err
			}
			as, err := sc.Assignments()
			if err != nil {
				return err
			}
			return bpsync.WriteScopeACL(cmd.OutOrStdout(), as, sc.Unscoped)
		},
	}
	cmd.Flags().StringVar(&scopesPath, "scopes", "scopes.yaml", "central's scope configuration")
	return cmd
}

// listSource names the list central publishes; empty means generated.
type listSource struct{ ofac, un, csv, jsonl string }

func loadList(src listSource, n int, seed uint64) ([]store.Alert, error) {
	open := func(p string) (*os.File, error) { return os.Open(p) }
	switch {
	case src.ofac != "":
		return lists.ParseOFACDir(os.DirFS(src.ofac), lists.Options{})
	case src.un != "":
		f, err := open(src.un)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return lists.ParseUN(f, lists.Options{})
	case src.csv != "":
		f, err := open(src.csv)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return lists.ParseCSV(f, lists.Options{})
	case src.jsonl != "":
		f, err := open(src.jsonl)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		var out []store.Alert
		dec := json.NewDecoder(f)
		for dec.More() {
			var a store.Alert
			if err := dec.Decode(&a); err != nil {
				return nil, fmt.Errorf("%s: alert %d: %w", src.jsonl, len(out)+1, err)
			}
			if err := a.Validate(); err != nil {
				return nil, fmt.Errorf("%s: alert %d: %w", src.jsonl, len(out)+1, err)
			}
			out = append(out, a)
		}
		return out, nil
	}
	return watchlist.NewGenerator(seed, watchlist.DefaultMix).Alerts(n), nil
}

func fieldCmd() *cobra.Command {
	var url string
	var scans, planted, alerts, conc int
	var rate float64
	var seed uint64
	cmd := &cobra.Command{
		Use:   "field",
		Short: "Post plate and container reads to an agent, a known number planted to hit, and check the answers",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			list := watchlist.NewGenerator(seed, watchlist.DefaultMix).Alerts(alerts)
			rep, err := field.Run(ctx, field.Config{URL: url, RunID: fmt.Sprintf("scan-%d", time.Now().Unix()), Scans: scans,
				Planted: planted, Concurrency: conc, Rate: rate, Seed: uint64(time.Now().UnixNano()), Alerts: list})
			if err != nil && ctx.Err() == nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "field: %d scans in %s (%.0f/s), %d refused, %d hits; %d planted, %d missed, %d unexpected\n",
				rep.Sent, rep.Elapsed.Round(time.Millisecond), rep.ScansPerSecond(), rep.Refused, rep.Hits, len(rep.Planted), len(rep.Missed), len(rep.Unexpected))
			if len(rep.Missed) > 0 || len(rep.Unexpected) > 0 {
				return fmt.Errorf("the agent's answers do not match the plan")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8443", "the agent's HTTP address")
	cmd.Flags().IntVar(&scans, "scans", 2000, "reads to send")
	cmd.Flags().IntVar(&planted, "planted", 100, "reads planted to hit")
	cmd.Flags().IntVar(&alerts, "alerts", 1000, "size of central's generated watch list")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of central's generated watch list")
	cmd.Flags().IntVar(&conc, "concurrency", 8, "parallel senders")
	cmd.Flags().Float64Var(&rate, "rate", 0, "reads per second (0: as fast as the agent answers)")
	return cmd
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
