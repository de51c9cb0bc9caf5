package post

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bpsync "github.com/borderpost/borderpost/sync"
)

// writeHitKey writes a fresh hit public key of central's and returns its
// file, for sync.central_hit_key.
func writeHitKey(t *testing.T) string {
	t.Helper()
	k, err := bpsync.GenerateHitKey()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "central-hits.pub")
	if err := os.WriteFile(p, []byte(k.Public().String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Without central's hit key the agent does not start: its hits could
// only leave in clear. A file that is not a hit key is refused too.
func TestRunRefusesWithoutHitKey(t *testing.T) {
	for name, file := range map[string]string{"missing": "", "not a key": "garbage"} {
		t.Run(name, func(t *testing.T) {
			cfg := seedReplica(t)
			cfg.MQTT.Broker = "tcp://127.0.0.1:1"
			cfg.HTTP.Listen = "127.0.0.1:0"
			if file != "" {
				cfg.Sync.CentralHitKey = filepath.Join(t.TempDir(), "hits.pub")
				os.WriteFile(cfg.Sync.CentralHitKey, []byte(file), 0o644)
			}
			a, err := New(context.Background(), cfg, quiet)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = a.Run(ctx)
			if err == nil || !strings.Contains(err.Error(), "sync.central_hit_key") {
				t.Fatalf("agent ran without central's hit key: %v", err)
			}
		})
	}
}
