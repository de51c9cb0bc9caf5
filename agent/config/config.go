// Package config owns the agent's configuration file: its schema, its
// defaults and its validation. It reads YAML from an io.Reader, refuses
// unknown keys, and reports every problem with its line and what to write
// instead. It must never read keys or other secrets itself: it only names
// where they are.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/borderpost/borderpost/agent/terminal"
	"github.com/borderpost/borderpost/devices/anpr"
	"github.com/borderpost/borderpost/devices/ens"
	"github.com/borderpost/borderpost/devices/mrz"
	"github.com/borderpost/borderpost/devices/ocr"
)

// Config is the whole agent configuration. See configs/agent.example.yaml
// for every setting with its meaning.
type Config struct {
	Agent    Agent    `yaml:"agent"`
	Store    Store    `yaml:"store"`
	MQTT     MQTT     `yaml:"mqtt"`
	Trust    Trust    `yaml:"trust"`
	HTTP     HTTP     `yaml:"http"`
	Sync     Sync     `yaml:"sync"`
	Match    Match    `yaml:"match"`
	Devices  Devices  `yaml:"devices"`
	Terminal Terminal `yaml:"terminal"`
	Log      Log      `yaml:"log"`
	Metrics  Metrics  `yaml:"metrics"`
}

// Metrics is where the Prometheus metrics are served and which device
// names they count by name.
type Metrics struct {
	// Listen is /metrics' own address, loopback by default. The same
	// address as http.listen serves /metrics on the devices' listener
	// instead; empty serves no metrics.
	Listen string `yaml:"listen"`
	// Devices are device names counted under their own label, besides the
	// names the devices' sections configure; checks from any other device
	// count as "other", so that made-up names cannot grow the metrics.
	Devices []string `yaml:"devices"`
}

// Terminal is the officers' web page: where it listens, its certificate,
// its accounts, and its policies (roles and purposes, sessions, logins).
type Terminal struct {
	// Listen is the page's address; empty disables the page. Plain HTTP
	// is allowed on loopback only; anywhere else set TLSCert and TLSKey.
	Listen  string `yaml:"listen"`
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// Users is the accounts file (JSON lines written by `borderpost users add`).
	Users           string `yaml:"users"`
	terminal.Config `yaml:",inline"`
}

// Match tunes name matching.
type Match struct {
	// NameThreshold is the score from which a name match is a hit.
	NameThreshold float64 `yaml:"name_threshold"`
	// NameHits bounds the hits one name produces.
	NameHits int `yaml:"name_hits"`
}

// Devices configures the devices beyond the built-in scan endpoint; each
// device's section is documented in its folder's sample.conf.
type Devices struct {
	ANPR anpr.Config `yaml:"anpr"`
	OCR  ocr.Config  `yaml:"ocr"`
	MRZ  mrz.Config  `yaml:"mrz"`
	ENS  ens.Config  `yaml:"ens"`
}

// Agent identifies this agent and its post.
type Agent struct {
	ID   string `yaml:"id"`
	Post string `yaml:"post"`
}

// Store says where the replica lives and where its key comes from.
type Store struct {
	Path string `yaml:"path"`
	Key  Key    `yaml:"key"`
	// Retention is how long audit records are kept; 0 keeps them for ever.
	Retention time.Duration `yaml:"retention"`
	// PurgeEvery is how often expired alerts are removed from disk; at
	// most a minute, so that an expired alert leaves the disk within one.
	PurgeEvery time.Duration `yaml:"purge_every"`
}

// Key names the data key's provider. Exactly one must be set.
type Key struct {
	// File is a development key file (64 hex characters). The agent warns
	// loudly when it runs on one.
	File string `yaml:"file"`
	// TPM seals the key in the post's TPM, bound to its boot state.
	TPM *TPMKey `yaml:"tpm"`
}

// TPMKey says which TPM holds the data key and which boot state it is
// bound to.
type TPMKey struct {
	Device          string `yaml:"device"`           // /dev/tpmrm0 on a post
	Address         string `yaml:"address"`          // host:port of a TCP TPM (swtpm), development only
	PlatformAddress string `yaml:"platform_address"` // its control port; default the command port + 1
	PCRs            []int  `yaml:"pcrs"`             // e.g. [7]: the Secure Boot state
	Bank            string `yaml:"bank"`             // sha256 (default), sha1 or sha384
	// Blob is the sealed key file; default the replica's path + ".tpmkey".
	Blob string `yaml:"blob"`
}

// MQTT is the link to central's broker.
type MQTT struct {
	Broker    string        `yaml:"broker"`
	Username  string        `yaml:"username"`
	Password  string        `yaml:"password_file"`
	CA        string        `yaml:"ca"`
	Cert      string        `yaml:"cert"`
	KeyFile   string        `yaml:"key"`
	KeepAlive time.Duration `yaml:"keepalive"`
	// MaxMessage bounds a message from the broker (topic and payload) in
	// bytes; a larger one is refused and audited before it is read whole.
	MaxMessage int `yaml:"max_message"`
}

// Trust names the public keys whose signatures on watch-list changes the
// agent accepts.
type Trust struct {
	CentralKeys []string `yaml:"central_keys"` // files holding base64 Ed25519 public keys
}

// HTTP is the devices' and terminal's listener.
type HTTP struct {
	Listen string `yaml:"listen"`
}

// Sync tunes the hit forwarding and status.
type Sync struct {
	HitWindow   int           `yaml:"hit_window"`
	HitBatch    int           `yaml:"hit_batch"`
	ResendAfter time.Duration `yaml:"resend_after"`
	StatusEvery time.Duration `yaml:"status_every"`
	// MaxReplicaAge is how long the replica may go without central
	// confirming it current before officers see a stale-replica alarm.
	MaxReplicaAge time.Duration `yaml:"max_replica_age"`
	// Scoped makes the post wait for central's scope assignment and never
	// follow the whole watch list, not even before the first assignment
	// arrives (docs/protocol.md, "Scopes").
	Scoped bool `yaml:"scoped"`
	// CentralHitKey is the file holding central's hit public key (base64
	// X25519, hits.pub from `simulator keys hit`): hits are sealed to it
	// end to end. The agent does not start without it.
	CentralHitKey string `yaml:"central_hit_key"`
}

// Log sets the log level and format.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or text
}

// Defaults returns the values used for settings the file leaves out.
func Defaults() Config {
	return Config{
		Store:   Store{Path: "/var/lib/borderpost/replica.db", Retention: 180 * 24 * time.Hour, PurgeEvery: 30 * time.Second},
		MQTT:    MQTT{KeepAlive: 10 * time.Second, MaxMessage: 16 << 20},
		HTTP:    HTTP{Listen: "127.0.0.1:8443"},
		Match:   Match{NameThreshold: 0.70, NameHits: 5},
		Devices: Devices{ANPR: anpr.Config{HTTP: true}, OCR: ocr.Config{HTTP: true}, MRZ: mrz.Config{HTTP: true}},
		Sync:    Sync{HitWindow: 512, HitBatch: 32, ResendAfter: 10 * time.Second, StatusEvery: 10 * time.Second, MaxReplicaAge: 24 * time.Hour},
		Log:     Log{Level: "info", Format: "json"},
		Metrics: Metrics{Listen: "127.0.0.1:9464"},
	}
}

// Problem is one thing wrong with a configuration file.
type Problem struct {
	Line int    // 0 when the problem is not tied to a line
	Key  string // dotted path, e.g. "mqtt.broker"
	Msg  string // what is wrong and what to write instead
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", p.Line, p.Key, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.Key, p.Msg)
}

// Problems is the list of everything wrong with a file; it is an error.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "configuration: " + strings.Join(s, "; ")
}

// ErrEmpty means the configuration file has no content.
var ErrEmpty = errors.New("configuration is empty")

// Load reads a configuration, applies defaults and validates it. On error
// it returns Problems listing every problem found, each with its line.
func Load(r io.Reader) (Config, error) {
	cfg := Defaults()
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return cfg, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return cfg, Problems{{Key: "(file)", Msg: err.Error()}}
	}
	if len(root.Content) == 0 {
		return cfg, ErrEmpty
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			ps := make(Problems, 0, len(te.Errors))
			for _, e := range te.Errors {
				ps = append(ps, Problem{Line: lineOf(e), Key: "(file)", Msg: e})
			}
			return cfg, ps
		}
		return cfg, Problems{{Key: "(file)", Msg: err.Error()}}
	}
	if ps := cfg.validate(&root); len(ps) > 0 {
		return cfg, ps
	}
	return cfg, nil
}

var lineRE = regexp.MustCompile(`^line (\d+): `)

func lineOf(msg string) int {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	n := 0
	fmt.Sscan(m[1], &n)
	return n
}

var agentIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// validate checks values; root lets problems carry their line.
func (c *Config) validate(root *yaml.Node) Problems {
	var ps Problems
	add := func(key, msg string) { ps = append(ps, Problem{Line: lineFor(root, key), Key: key, Msg: msg}) }
	if !agentIDRE.MatchString(c.Agent.ID) {
		add("agent.id", "required: lower-case letters, digits, '.', '_' or '-', up to 63 characters, e.g. \"post-fr-cal-01\"; it is the MQTT client ID and part of topic names")
	}
	if c.Store.Path == "" {
		add("store.path", "required: the replica file, e.g. /var/lib/borderpost/replica.db")
	}
	if c.Store.Retention < 0 {
		add("store.retention", "want a duration such as 4320h (180 days), or 0 to keep audit records for ever")
	}
	if c.Store.PurgeEvery < time.Second || c.Store.PurgeEvery > time.Minute {
		add("store.purge_every", "want 1s to 1m: expired alerts must leave the disk within a minute; 30s is a good value")
	}
	switch k := c.Store.Key; {
	case k.File == "" && k.TPM == nil:
		add("store.key", "required: no key, no start; set store.key.tpm on a post (see configs/agent.example.yaml), or store.key.file for development")
	case k.File != "" && k.TPM != nil:
		add("store.key", "set either store.key.tpm or store.key.file, not both")
	case k.TPM != nil:
		if (k.TPM.Device == "") == (k.TPM.Address == "") {
			add("store.key.tpm", "set device (/dev/tpmrm0 on a post) or address (a TCP TPM such as swtpm), exactly one")
		}
		if len(k.TPM.PCRs) == 0 {
			add("store.key.tpm.pcrs", "required: the PCRs the key is bound to, e.g. [7] for the Secure Boot state")
		}
	}
	if u, err := url.Parse(c.MQTT.Broker); err != nil || (u.Scheme != "tcp" && u.Scheme != "ssl" && u.Scheme != "mqtt" && u.Scheme != "mqtts") || u.Host == "" {
		add("mqtt.broker", "want tcp://host:port or ssl://host:port, e.g. ssl://central.example:8883")
	}
	if c.MQTT.MaxMessage < 1<<20 || c.MQTT.MaxMessage > 256<<20 {
		add("mqtt.max_message", "want 1048576 (1 MiB) to 268435456 bytes; 16777216 (16 MiB) holds any snapshot chunk or delta")
	}
	if (c.MQTT.Cert == "") != (c.MQTT.KeyFile == "") {
		add("mqtt.cert", "cert and key go together: set both for a client certificate, or neither")
	}
	if len(c.Trust.CentralKeys) == 0 {
		add("trust.central_keys", "required: at least one file with central's base64 Ed25519 public key; without it no delta can be verified")
	}
	if c.Sync.CentralHitKey == "" {
		add("sync.central_hit_key", "required: the file with central's hit public key (hits.pub from `simulator keys`); hits travel only sealed to it")
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		add("http.listen", "want host:port, e.g. 127.0.0.1:8443")
	}
	if c.Sync.HitWindow < 1 || c.Sync.HitWindow > 10000 {
		add("sync.hit_window", "want 1 to 10000 hits unacknowledged at most; 512 is a good value")
	}
	if c.Sync.HitBatch < 1 || c.Sync.HitBatch > 256 || c.Sync.HitBatch > c.Sync.HitWindow {
		add("sync.hit_batch", "want 1 to 256 hits per message, and no more than hit_window; 32 is a good value")
	}
	if c.Sync.ResendAfter < time.Second {
		add("sync.resend_after", "want a duration of at least 1s, e.g. 10s")
	}
	if c.Sync.StatusEvery < time.Second {
		add("sync.status_every", "want a duration of at least 1s, e.g. 10s")
	}
	if err := c.Devices.MRZ.Validate(); err != nil {
		add("devices.mrz", err.Error())
	}
	if err := c.Devices.ANPR.Validate(); err != nil {
		add("devices.anpr", err.Error())
	}
	if err := c.Devices.OCR.Validate(); err != nil {
		add("devices.ocr", err.Error())
	}
	if l := c.Devices.ANPR.Listen; l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			add("devices.anpr.listen", "want host:port, e.g. 127.0.0.1:7010, or empty to disable the line protocol")
		}
	}
	if l := c.Devices.MRZ.Listen; l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			add("devices.mrz.listen", "want host:port, e.g. 127.0.0.1:7002, or empty to disable the line stream")
		}
	}
	if c.Match.NameThreshold < 0.5 || c.Match.NameThreshold > 1 {
		add("match.name_threshold", "want 0.5 to 1; 0.70 is the engine's best balance of missed and false hits")
	}
	if c.Match.NameHits < 1 || c.Match.NameHits > 50 {
		add("match.name_hits", "want 1 to 50 hits per name; 5 is a good value")
	}
	if c.Sync.MaxReplicaAge < time.Minute {
		add("sync.max_replica_age", "want a duration of at least 1m, e.g. 24h")
	}
	if m := c.Devices.ENS.MQTT; m.Broker != "" && (m.Topic == "" || strings.ContainsAny(m.Topic, "+#")) {
		add("devices.ens.mqtt.topic", "the topic declarations are published on, without wildcards, e.g. post/ens/in")
	}
	if l := c.Devices.ENS.HTTP.Listen; l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			add("devices.ens.http.listen", "want host:port, e.g. 127.0.0.1:8441, or empty to serve ENS only at POST /v1/ens on http.listen")
		}
	}
	if t := c.Terminal; t.Listen != "" {
		if err := terminal.CheckListen(t.Listen, t.TLSCert != ""); err != nil {
			add("terminal.listen", err.Error()+"; set terminal.tls_cert and terminal.tls_key, or listen on 127.0.0.1")
		}
		if (t.TLSCert == "") != (t.TLSKey == "") {
			add("terminal.tls_cert", "tls_cert and tls_key go together")
		}
		if t.Users == "" {
			add("terminal.users", "required when terminal.listen is set: the accounts file, e.g. /etc/borderpost/users.jsonl (`borderpost users add`)")
		}
		if len(t.Purposes) == 0 {
			add("terminal.purposes", "required when terminal.listen is set: which alert purposes each role serves, e.g. officer: [border, police]; without it officers see no hits")
		}
	}
	if l := c.Metrics.Listen; l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			add("metrics.listen", "want host:port, e.g. 127.0.0.1:9464, the same address as http.listen to serve /metrics there, or empty for no metrics")
		}
	}
	if len(c.Metrics.Devices) > 64 {
		add("metrics.devices", "at most 64 device names; every name is a set of series on every scrape")
	}
	for _, d := range c.Metrics.Devices {
		if d == "" || len(d) > 64 || d == "other" {
			add("metrics.devices", "each device name must be 1 to 64 bytes and not \"other\"")
			break
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "want debug, info, warn or error")
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		add("log.format", "want json or text")
	}
	return ps
}

// lineFor finds the line of a dotted key in the YAML tree, or 0.
func lineFor(root *yaml.Node, dotted string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, part := range strings.Split(dotted, ".") {
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				line = n.Content[i].Line
				n = n.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}
