package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/borderpost/borderpost/agent/config"
	"github.com/borderpost/borderpost/store"
)

// replicaStatusCmd describes the replica file without a key: its position
// in central's stream and any work a kill left half done (a delta applied
// in part, a snapshot being loaded, a key rotation).
func replicaStatusCmd() *cobra.Command {
	var cfgPath string
	var asJSON bool
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the replica's position in central's stream and any delta, snapshot or rotation left half done (needs no key; stop the agent first)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			st, err := store.ReadStatus(cmd.Context(), cfg.Store.Path, statusOptions(cfg))
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(st)
			}
			printReplicaStatus(out, cfg.Store.Path, st)
			return nil
		},
	}
	configFlag(c, &cfgPath, "configuration file")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// printReplicaStatus writes st for a technician: what each half-done
// operation means and what resolves it.
func printReplicaStatus(out io.Writer, path string, st store.Status) {
	fmt.Fprintf(out, "replica:         %s, format %d, %d bytes, alert generation %d, key generation %d\n", path, st.Format, st.FileBytes, st.Generation, st.Key.Generation)
	fmt.Fprintf(out, "cursor:          epoch %d, sequence %d, digest %s\n", st.Cursor.Epoch, st.Cursor.Seq, st.Cursor.Digest)
	if p := st.DeltaPending; p != nil {
		fmt.Fprintf(out, "delta pending:   epoch %d, sequence %d, %d of %d operations applied; central sends it again and it resumes, a snapshot replaces it\n",
			p.Epoch, p.Seq, p.Done, p.Total)
	} else {
		fmt.Fprintln(out, "delta pending:   none")
	}
	if st.Loading {
		fmt.Fprintln(out, "snapshot:        a load was interrupted; the next open removes its partial alert set (the alerts in use are the previous ones)")
	}
	if st.Key.Rotating {
		fmt.Fprintf(out, "key rotation:    IN PROGRESS to generation %d, %d of %d entries (see `borderpost keys status`)\n", st.Key.RotatingTo, st.Key.Done, st.Key.Total)
	}
	if st.CompactDue {
		fmt.Fprintln(out, "compaction:      due (the agent compacts at start, or run `borderpost replica compact`)")
	}
}

// statusOptions are the options of a status read: the configured key, when
// it can be had, lets the close mark of a replica the agent closed cleanly
// vouch for it, so that the status does not read every page (15-45 s at
// 100M alerts). The status needs no key: without one it checks the file.
func statusOptions(cfg config.Config) store.Options {
	var opt store.Options
	if kp, err := keyProvider(cfg, nil); err == nil {
		opt.VouchKey = kp
	}
	return opt
}
