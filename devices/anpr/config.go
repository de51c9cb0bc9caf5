package anpr

import (
	"fmt"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/internal/jsonread"
)

// Config is the "anpr" section of the agent's configuration (see
// sample.conf). Zero values take the defaults of Handler and LineServer.
type Config struct {
	// HTTP enables POST /v1/anpr (Path) on the agent's HTTP listener.
	HTTP bool `yaml:"http"`
	// Listen is the address of the line-protocol listener, for example
	// "127.0.0.1:7010"; empty disables it.
	Listen string `yaml:"listen"`
	// Device is Check.Device for reads that name no camera.
	Device string `yaml:"device"`

	MaxBody     int64         `yaml:"max_body"`      // bytes of an HTTP body
	MaxInFlight int           `yaml:"max_in_flight"` // HTTP requests at once
	ReadTimeout time.Duration `yaml:"read_timeout"`  // to receive an HTTP body

	MaxConns          int           `yaml:"max_conns"`            // line connections at once
	MaxConnsPerSource int           `yaml:"max_conns_per_source"` // line connections at once from one address
	IdleTimeout       time.Duration `yaml:"idle_timeout"`         // silence before a connection is closed
	LineTimeout       time.Duration `yaml:"line_timeout"`         // to finish a line once begun
	WriteTimeout      time.Duration `yaml:"write_timeout"`        // to send one reply
	MaxErrorsInRow    int           `yaml:"max_errors_in_row"`    // refused lines that close a connection
	ReadsPerSecond    float64       `yaml:"reads_per_second"`     // per connection; -1 for no limit
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.MaxBody < 0 || c.MaxInFlight < 0 || c.MaxConns < 0 || c.MaxConnsPerSource < 0 || c.MaxErrorsInRow < 0:
		return fmt.Errorf("anpr: config: max_body, max_in_flight, max_conns, max_conns_per_source and max_errors_in_row must not be negative")
	case c.MaxBody != 0 && c.MaxBody < 256:
		return fmt.Errorf("anpr: config: max_body %d cannot hold one read", c.MaxBody)
	case c.ReadTimeout < 0 || c.IdleTimeout < 0 || c.LineTimeout < 0 || c.WriteTimeout < 0:
		return fmt.Errorf("anpr: config: timeouts must not be negative")
	case c.ReadsPerSecond < 0 && c.ReadsPerSecond != -1:
		return fmt.Errorf("anpr: config: reads_per_second must be positive, or -1 for no limit")
	case jsonread.CheckText(c.Device, maxCameraBytes) != nil:
		return fmt.Errorf("anpr: config: device must be at most %d bytes of printable text", maxCameraBytes)
	}
	return nil
}

// Handler returns the HTTP handler for c, handing reads to checker.
func (c Config) Handler(checker devices.Checker) *Handler {
	return &Handler{Checker: checker, Device: c.Device, MaxBodyBytes: c.MaxBody, ReadTimeout: c.ReadTimeout, MaxInFlight: c.MaxInFlight}
}

// LineServer returns the line-protocol server for c, handing reads to
// checker; the caller listens on c.Listen and calls Serve.
func (c Config) LineServer(checker devices.Checker) *LineServer {
	return &LineServer{
		Checker: checker, Device: c.Device,
		IdleTimeout: c.IdleTimeout, LineTimeout: c.LineTimeout, WriteTimeout: c.WriteTimeout,
		MaxConns: c.MaxConns, MaxConnsPerSource: c.MaxConnsPerSource, MaxErrorsInRow: c.MaxErrorsInRow, ReadsPerSecond: c.ReadsPerSecond,
	}
}
