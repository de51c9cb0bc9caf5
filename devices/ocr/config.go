package ocr

import (
	"fmt"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/internal/jsonread"
)

// Config is the "ocr" section of the agent's configuration (see
// sample.conf). Zero values take the defaults of Handler.
type Config struct {
	// HTTP enables POST /v1/ocr (Path) on the agent's HTTP listener.
	HTTP bool `yaml:"http"`
	// Device is Check.Device for reads that name no device.
	Device string `yaml:"device"`

	MaxBody     int64         `yaml:"max_body"`      // bytes of an HTTP body
	MaxInFlight int           `yaml:"max_in_flight"` // HTTP requests at once
	ReadTimeout time.Duration `yaml:"read_timeout"`  // to receive an HTTP body
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.MaxBody < 0 || c.MaxInFlight < 0:
		return fmt.Errorf("ocr: config: max_body and max_in_flight must not be negative")
	case c.MaxBody != 0 && c.MaxBody < 256:
		return fmt.Errorf("ocr: config: max_body %d cannot hold one read", c.MaxBody)
	case c.ReadTimeout < 0:
		return fmt.Errorf("ocr: config: read_timeout must not be negative")
	case jsonread.CheckText(c.Device, maxDeviceBytes) != nil:
		return fmt.Errorf("ocr: config: device must be at most %d bytes of printable text", maxDeviceBytes)
	}
	return nil
}

// Handler returns the HTTP handler for c, handing reads to checker.
func (c Config) Handler(checker devices.Checker) *Handler {
	return &Handler{Checker: checker, Device: c.Device, MaxBodyBytes: c.MaxBody, ReadTimeout: c.ReadTimeout, MaxInFlight: c.MaxInFlight}
}
