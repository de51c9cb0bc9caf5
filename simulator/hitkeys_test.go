package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bpsync "github.com/borderpost/borderpost/sync"
)

// `simulator keys` creates central's hit key with its root key, sealed
// with the passphrase; `keys hit --rotate` replaces it and keeps the old
// private key for the grace period, which central then opens hits with;
// rotating again before the old key is removed is refused, since hits
// still sealed to it would never open.
func TestHitKeyCreateAndRotate(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(dir, "pass")
	os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600)
	run := func(args ...string) error {
		c := keysCmd()
		c.SetOut(&bytes.Buffer{})
		c.SetArgs(args)
		return c.Execute()
	}
	if err := run("--dir", dir, "--passphrase-file", pass); err != nil {
		t.Fatal(err)
	}
	readPub := func() *bpsync.HitPublicKey {
		f, err := os.Open(filepath.Join(dir, "hits.pub"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		k, err := bpsync.ReadHitPublicKey(f)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	first := readPub()
	if b, _ := os.ReadFile(filepath.Join(dir, "hits.key")); !strings.Contains(string(b), "argon2id") {
		t.Fatalf("hit key not sealed with the passphrase: %s", b)
	}
	if _, err := readHitKeys(filepath.Join(dir, "hits.key"), ""); err == nil {
		t.Fatal("sealed hit key opened without the passphrase")
	}
	if err := run("hit", "--dir", dir, "--passphrase-file", pass, "--rotate"); err != nil {
		t.Fatal(err)
	}
	second := readPub()
	keys, err := readHitKeys(filepath.Join(dir, "hits.key"), pass)
	if err != nil || len(keys) != 2 || keys[0].ID() != second.ID || keys[1].ID() != first.ID || first.ID == second.ID {
		t.Fatalf("after rotation: %d keys %v (first %s, second %s)", len(keys), err, first.ID, second.ID)
	}
	if err := run("hit", "--dir", dir, "--passphrase-file", pass, "--rotate"); err == nil || !strings.Contains(err.Error(), "hits.key.prev") {
		t.Fatalf("second rotation with the previous key still kept: %v", err)
	}
}
