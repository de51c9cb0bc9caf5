package ocr

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
		OCR Config `yaml:"ocr"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	c := doc.OCR
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	h := c.Handler(&recordingChecker{})
	if !c.HTTP || h.Device != "container-ocr" || h.MaxBodyBytes != MaxBodyBytes || h.MaxInFlight != DefaultMaxInFlight || h.ReadTimeout != DefaultReadTimeout {
		t.Fatalf("config %+v, handler %+v", c, h)
	}
	for _, bad := range []Config{{MaxBody: 10}, {MaxInFlight: -1}, {ReadTimeout: -time.Second}, {Device: "a\u202e"}} {
		if bad.Validate() == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}
