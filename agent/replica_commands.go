package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/borderpost/borderpost/store"
)

func keysCmd() *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Manage the replica's data key"}
	var keyFile string
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Create a development data key file (the key is stored in clear; posts use the TPM)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keyFile == "" {
				return errors.New("--key-file is required")
			}
			if err := store.WriteKeyFile(keyFile); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote development data key to %s (mode 0600)\n", keyFile)
			return nil
		},
	}
	initCmd.Flags().StringVar(&keyFile, "key-file", "", "where to write the key file")
	keys.AddCommand(initCmd)
	return keys
}

func auditCmd() *cobra.Command {
	c := &cobra.Command{Use: "audit", Short: "Work with the audit log"}
	var cfgPath string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit log's hash chain and name any edited, removed or moved record",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			rep, err := store.Open(cmd.Context(), cfg.Store.Path, store.KeyFile{Path: cfg.Store.Key.File}, store.Options{})
			if err != nil {
				return err
			}
			defer rep.Close()
			n, err := rep.VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "audit log intact: %d records\n", n)
			return nil
		},
	}
	verify.Flags().StringVarP(&cfgPath, "config", "c", "/etc/borderpost/agent.yaml", "configuration file")
	c.AddCommand(verify)
	return c
}
