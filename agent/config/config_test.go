package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestExampleLoads(t *testing.T) {
	f, err := os.Open("../../configs/agent.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := Load(f)
	if err != nil {
		t.Fatalf("the example configuration must load: %v", err)
	}
	if cfg.Agent.ID != "post-example-01" || cfg.Sync.HitWindow != 512 || cfg.Sync.HitBatch != 32 || cfg.MQTT.KeepAlive != 10*time.Second || len(cfg.Trust.CentralKeys) != 1 {
		t.Errorf("example loaded as %+v", cfg)
	}
}

func TestProblemsNameLineAndFix(t *testing.T) {
	src := `agent:
  id: "Post 1"
store:
  path: /tmp/r.db
  key:
    file: /tmp/k
mqtt:
  broker: localhost:1883
trust:
  central_keys: [/tmp/c.pub]
sync:
  hit_window: 0
  central_hit_key: /tmp/h.pub
`
	_, err := Load(strings.NewReader(src))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %v", err)
	}
	want := map[string]int{"agent.id": 2, "mqtt.broker": 8, "sync.hit_window": 12}
	for _, p := range ps {
		if line, ok := want[p.Key]; ok {
			if p.Line != line {
				t.Errorf("%s reported at line %d, want %d", p.Key, p.Line, line)
			}
			if !strings.Contains(p.Msg, "e.g.") && !strings.Contains(p.Msg, "want") {
				t.Errorf("%s: message %q does not say what to write", p.Key, p.Msg)
			}
			delete(want, p.Key)
		}
	}
	if len(want) > 0 {
		t.Errorf("problems not reported: %v (got %v)", want, ps)
	}
}

func TestUnknownKeyRefusedWithLine(t *testing.T) {
	_, err := Load(strings.NewReader("agent:\n  id: p1\n  colour: red\n"))
	var ps Problems
	if !errors.As(err, &ps) || ps[0].Line != 3 || !strings.Contains(ps[0].Msg, "colour") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestEmpty(t *testing.T) {
	if _, err := Load(strings.NewReader("")); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty: %v", err)
	}
}
