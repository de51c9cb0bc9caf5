package mrz

import (
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestSampleConf(t *testing.T) {
	f, err := os.Open("sample.conf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var conf struct {
		MRZ Config `yaml:"mrz"`
	}
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(&conf); err != nil {
		t.Fatal(err)
	}
	want := Config{HTTP: true, Listen: "127.0.0.1:7002", Device: "mrz-lane-1", Lane: "1", MaxLine: 128, MaxBody: 4096, MaxConns: 16, MaxConnsPerSource: 4,
		IdleTimeout: 5 * time.Minute, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	if conf.MRZ != want {
		t.Errorf("got %+v\nwant %+v", conf.MRZ, want)
	}
	if err := conf.MRZ.Validate(); err != nil {
		t.Error(err)
	}
	s := NewStreamServer(&recordingChecker{}, conf.MRZ, nil)
	if s.MaxLine != 128 || s.IdleTimeout != 5*time.Minute || s.Device != "mrz-lane-1" {
		t.Errorf("stream server %+v", s)
	}
	h := NewHandler(&recordingChecker{}, conf.MRZ, nil)
	if h.MaxBody != 4096 || h.Lane != "1" {
		t.Errorf("handler %+v", h)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{MaxLine: 40},
		{MaxBody: 100},
		{MaxConns: -1},
		{IdleTimeout: -time.Second},
		{Device: strings.Repeat("d", 65)},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
}
