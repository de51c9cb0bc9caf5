package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
)

// CheckFiles looks at every file and folder the configuration names, the
// way the agent will when it starts: each must exist and be readable, and
// files holding a secret must be readable by their owner only (mode 0600).
// It opens files to prove they are readable but reads nothing from them.
// Problems carry their line when c came from Load.
func (c Config) CheckFiles() Problems {
	if c.unread {
		return nil
	}
	var ps Problems
	add := func(key, msg string) {
		line := 0
		if c.src != nil {
			line = lineFor(c.src, key)
		}
		ps = append(ps, Problem{Line: line, Key: key, Msg: msg})
	}
	file := func(key, path string, secret bool, create string) {
		if path == "" {
			return
		}
		if msg := fileProblem(path, secret, create); msg != "" {
			add(key, msg)
		}
	}
	if c.Store.Path != "" {
		dir := filepath.Dir(c.Store.Path)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			add("store.path", fmt.Sprintf("its folder %s does not exist: create it (mkdir -p %s), writable by the agent's user only", dir, dir))
		} else if fi, err := os.Stat(c.Store.Path); err == nil && !fi.Mode().IsRegular() {
			add("store.path", c.Store.Path+" is not a file: name the replica file, e.g. "+filepath.Join(c.Store.Path, "replica.db"))
		}
	}
	file("store.key.file", c.Store.Key.File, true, "create it with `borderpost keys init --key-file "+c.Store.Key.File+"`")
	if t := c.Store.Key.TPM; t != nil && t.Device != "" {
		if _, err := os.Stat(t.Device); err != nil {
			add("store.key.tpm.device", t.Device+" does not exist: this machine has no TPM there (ls /dev/tpm*)")
		}
	}
	if u, err := url.Parse(c.MQTT.Broker); err == nil && (u.Scheme == "ssl" || u.Scheme == "mqtts") {
		file("mqtt.ca", c.MQTT.CA, false, "copy the CA bundle that signed the broker's certificate there")
		file("mqtt.cert", c.MQTT.Cert, false, "copy this agent's client certificate there")
		file("mqtt.key", c.MQTT.KeyFile, true, "copy this agent's client key there (mode 0600)")
	}
	file("mqtt.password_file", c.MQTT.Password, true, "write the broker password there (mode 0600)")
	for i, k := range c.Trust.CentralKeys {
		file(fmt.Sprintf("trust.central_keys[%d]", i), k, false, "copy central.pub (from `borderpost-central keys`) there")
	}
	file("sync.central_hit_key", c.Sync.CentralHitKey, false, "copy hits.pub (from `borderpost-central keys`) there")
	if t := c.Terminal; t.Listen != "" {
		file("terminal.users", t.Users, false, "add an account with `borderpost users add --file "+t.Users+" --name NAME --role officer`")
		file("terminal.tls_cert", t.TLSCert, false, "copy the page's certificate there")
		file("terminal.tls_key", t.TLSKey, true, "copy the page's key there (mode 0600)")
	}
	if d := c.Devices.ENS.Spool.Dir; d != "" {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			add("devices.ens.spool.dir", d+" is not a folder: create it (mkdir -p "+d+") or leave the setting empty")
		}
	}
	return ps
}

// fileProblem says what is wrong with the file at path, or "" when the
// agent can use it. create says how to make a missing one.
func fileProblem(path string, secret bool, create string) string {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return path + " does not exist: " + create
	case err != nil:
		return fmt.Sprintf("%s cannot be read (%v): check its folder's permissions", path, errors.Unwrap(err))
	case fi.IsDir():
		return path + " is a folder: name the file itself"
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("%s cannot be read (%v): the agent runs as its own user, give it read access", path, errors.Unwrap(err))
	}
	f.Close()
	if secret && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return fmt.Sprintf("%s has mode %04o: it holds a secret, so only its owner may read it; run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return ""
}
