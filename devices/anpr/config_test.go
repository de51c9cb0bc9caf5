package anpr

import (
	"bytes"
	"os"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestSampleConf loads sample.conf strictly (unknown keys fail), so the
// sample and Config cannot drift apart.
func TestSampleConf(t *testing.T) {
	b, err := os.ReadFile("sample.conf")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ANPR Config `yaml:"anpr"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	c := doc.ANPR
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.HTTP || c.Listen != "127.0.0.1:7010" || c.Device != "anpr-gate-a" {
		t.Fatalf("config %+v", c)
	}
	// The sample shows the defaults.
	s := c.LineServer(&recordingChecker{})
	if s.IdleTimeout != DefaultIdleTimeout || s.LineTimeout != DefaultLineTimeout || s.WriteTimeout != DefaultWriteTimeout ||
		s.MaxConns != DefaultMaxConns || s.MaxConnsPerSource != DefaultMaxConnsPerSource || s.MaxErrorsInRow != DefaultMaxErrorsInRow || s.ReadsPerSecond != DefaultReadsPerSecond {
		t.Fatalf("line server %+v differs from the defaults", s)
	}
	h := c.Handler(&recordingChecker{})
	if h.MaxBodyBytes != MaxBodyBytes || h.MaxInFlight != DefaultMaxInFlight || h.ReadTimeout != DefaultReadTimeout || h.Device != "anpr-gate-a" {
		t.Fatalf("handler %+v differs from the defaults", h)
	}
	for _, bad := range []Config{{MaxBody: 10}, {MaxConns: -1}, {IdleTimeout: -time.Second}, {ReadsPerSecond: -2}, {Device: "a\x00"}} {
		if bad.Validate() == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}
