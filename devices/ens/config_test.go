package ens

import (
	"bytes"
	"os"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestSampleConf(t *testing.T) {
	b, err := os.ReadFile("sample.conf")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ENS Config `yaml:"ens"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("sample.conf: %v", err)
	}
	c := doc.ENS
	if c.HTTP.Listen != "127.0.0.1:8441" || c.Spool.Dir == "" || c.Spool.Interval != time.Second || c.CheckTimeout != 10*time.Second || c.Strict {
		t.Errorf("config %+v", c)
	}
	if l := c.limits(); l.MaxBytes != DefaultMaxBytes || l.MaxDepth != DefaultMaxDepth || l.MaxTokens != DefaultMaxTokens {
		t.Errorf("limits %+v", l)
	}
	if s := c.NewSpool(&recordingChecker{}); s == nil || s.Interval != time.Second {
		t.Errorf("spool %+v", s)
	}
	c.Spool.Dir = ""
	if c.NewSpool(&recordingChecker{}) != nil {
		t.Error("spool without a directory")
	}
}
