package config

import (
	"errors"
	"strings"
	"testing"
)

// Without central's hit key the configuration is refused: the agent's
// hits could not leave sealed.
func TestCentralHitKeyRequired(t *testing.T) {
	src := "agent: {id: post-1}\nstore: {path: /tmp/r.db, key: {file: /tmp/k}}\nmqtt: {broker: tcp://127.0.0.1:1883}\ntrust: {central_keys: [/tmp/c.pub]}\n"
	_, err := Load(strings.NewReader(src))
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Key != "sync.central_hit_key" {
		t.Fatalf("want one problem, sync.central_hit_key; got %v", err)
	}
	if _, err := Load(strings.NewReader(src + "sync: {central_hit_key: /tmp/h.pub}\n")); err != nil {
		t.Fatalf("with the hit key: %v", err)
	}
}
