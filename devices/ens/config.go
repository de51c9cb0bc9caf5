package ens

import (
	"time"

	"github.com/borderpost/borderpost/devices"
)

// Config is the ens section of the agent's configuration file (see
// sample.conf). Zero values take the package defaults.
type Config struct {
	// HTTP.Listen is the address of the POST /v1/ens endpoint; empty
	// disables it.
	HTTP struct {
		Listen string `yaml:"listen"`
	} `yaml:"http"`
	// Spool.Dir is the watched directory; empty disables it.
	Spool struct {
		Dir      string        `yaml:"dir"`
		Interval time.Duration `yaml:"interval"`
	} `yaml:"spool"`
	// MQTT.Broker and MQTT.Topic name a local broker topic declarations
	// are published on; empty disables the feed.
	MQTT struct {
		Broker   string `yaml:"broker"`
		Topic    string `yaml:"topic"`
		ClientID string `yaml:"client_id"`
	} `yaml:"mqtt"`
	// Strict refuses declarations with any identifier fault.
	Strict       bool          `yaml:"strict"`
	CheckTimeout time.Duration `yaml:"check_timeout"`
	Limits       struct {
		MaxBytes  int64 `yaml:"max_bytes"`
		MaxDepth  int   `yaml:"max_depth"`
		MaxTokens int   `yaml:"max_tokens"`
	} `yaml:"limits"`
}

func (c *Config) limits() Limits {
	return Limits{MaxBytes: c.Limits.MaxBytes, MaxDepth: c.Limits.MaxDepth, MaxTokens: c.Limits.MaxTokens}
}

// Handler returns the HTTP handler Config describes, feeding checker.
func (c *Config) Handler(checker devices.Checker) *Handler {
	return &Handler{Checker: checker, Limits: c.limits(), Strict: c.Strict, CheckTimeout: c.CheckTimeout}
}

// NewFeed returns the MQTT feed Config describes, feeding checker, or nil
// when no broker is configured.
func (c *Config) NewFeed(checker devices.Checker) *Feed {
	if c.MQTT.Broker == "" {
		return nil
	}
	return &Feed{Broker: c.MQTT.Broker, Topic: c.MQTT.Topic, ClientID: c.MQTT.ClientID, Checker: checker,
		Strict: c.Strict, Limits: c.limits(), CheckTimeout: c.CheckTimeout}
}

// NewSpool returns the Spool Config describes, feeding checker, or nil
// when no spool directory is configured.
func (c *Config) NewSpool(checker devices.Checker) *Spool {
	if c.Spool.Dir == "" {
		return nil
	}
	return &Spool{Dir: c.Spool.Dir, Interval: c.Spool.Interval, Checker: checker, Limits: c.limits(), Strict: c.Strict, CheckTimeout: c.CheckTimeout}
}
