package mrz

import (
	"fmt"
	"time"
)

// Defaults for the zero values of Config, Handler and StreamServer.
const (
	DefaultMaxBody           = 4 << 10 // bytes of an HTTP request body
	DefaultMaxLine           = 128     // bytes of one stream line, terminator excluded
	DefaultMaxConns          = 16      // concurrent stream connections
	DefaultMaxConnsPerSource = 4       // concurrent stream connections from one IP address
	DefaultReadTimeout       = 10 * time.Second
	DefaultIdleTimeout       = 5 * time.Minute
	DefaultWriteTimeout      = 10 * time.Second
)

// Config is the "mrz" section of the agent's configuration (see
// sample.conf). Zero values take the defaults above.
type Config struct {
	// HTTP enables the POST /v1/mrz handler on the agent's HTTP listener.
	HTTP bool `yaml:"http"`
	// Listen is the address of the line-stream listener, e.g.
	// "127.0.0.1:7002"; empty disables it.
	Listen string `yaml:"listen"`
	// Device and Lane name the source in every Check; an HTTP request may
	// name its own.
	Device string `yaml:"device"`
	Lane   string `yaml:"lane"`

	MaxBody           int64         `yaml:"max_body"`
	MaxLine           int           `yaml:"max_line"`
	MaxConns          int           `yaml:"max_conns"`
	MaxConnsPerSource int           `yaml:"max_conns_per_source"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.MaxBody < 0 || c.MaxLine < 0 || c.MaxConns < 0 || c.MaxConnsPerSource < 0:
		return fmt.Errorf("mrz: config: max_body, max_line, max_conns and max_conns_per_source must not be negative")
	case c.MaxLine != 0 && c.MaxLine < 44:
		return fmt.Errorf("mrz: config: max_line %d is shorter than a passport line (44)", c.MaxLine)
	case c.MaxBody != 0 && c.MaxBody < 256:
		return fmt.Errorf("mrz: config: max_body %d cannot hold one zone", c.MaxBody)
	case c.ReadTimeout < 0 || c.IdleTimeout < 0 || c.WriteTimeout < 0:
		return fmt.Errorf("mrz: config: timeouts must not be negative")
	case len(c.Device) > maxLabel || len(c.Lane) > maxLabel:
		return fmt.Errorf("mrz: config: device and lane must be at most %d bytes", maxLabel)
	}
	return nil
}

// maxLabel bounds device and lane names.
const maxLabel = 64

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
