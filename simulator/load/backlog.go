package load

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/borderpost/borderpost/simulator/central"
	"github.com/borderpost/borderpost/simulator/rig"
	"github.com/borderpost/borderpost/store"
	bpsync "github.com/borderpost/borderpost/sync"
)

// BacklogConfig describes a backlog run.
type BacklogConfig struct {
	Broker string
	Hits   int
	Dir    string
	Out    io.Writer
}

// BacklogReport is the outcome of a backlog run.
type BacklogReport struct {
	Hits          int     `json:"hits"`
	BuildSeconds  float64 `json:"build_seconds"`   // recording the hits offline
	DrainSeconds  float64 `json:"drain_seconds"`   // connect to outbox empty
	HitsPerSecond float64 `json:"hits_per_second"` // during the drain
	Duplicates    int     `json:"duplicates"`      // removed by central
}

// Backlog records cfg.Hits hits while no broker is reachable, then
// connects and measures how long the outbox takes to drain to central,
// checking that central ends with every hit exactly once.
func Backlog(ctx context.Context, cfg BacklogConfig) (BacklogReport, error) {
	rep := BacklogReport{Hits: cfg.Hits}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	say := func(format string, a ...any) {
		if cfg.Out != nil {
			fmt.Fprintf(cfg.Out, format+"\n", a...)
		}
	}
	key := make(memKey, store.DataKeySize)
	rand.Read(key)
	r, err := store.Open(ctx, cfg.Dir+"/backlog.db", key, store.Options{Logger: quiet})
	if err != nil {
		return rep, err
	}
	defer r.Close()

	// Offline: checks recorded by many devices at once, as at a busy post.
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	const workers = 64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < cfg.Hits; i += workers {
				h := store.Hit{ID: fmt.Sprintf("hit-%07d", i), CheckID: fmt.Sprintf("chk-%07d", i), Time: time.Now().UTC(),
					Field: "plate", ItemKind: "plate", Value: "MAB1234", AlertID: "A00000001", AlertVersion: 1, Match: "exact", Score: 1}
				if _, err := r.Record(ctx, store.CheckRecord{ID: h.CheckID, Device: "bench", Items: 1}, []store.Hit{h}); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return rep, err
	default:
	}
	rep.BuildSeconds = time.Since(start).Seconds()
	say("%d hits recorded offline in %.1fs", cfg.Hits, rep.BuildSeconds)

	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	c, err := central.Start(central.Config{Broker: cfg.Broker, Signer: bpsync.NewSigner(priv), Logger: quiet})
	if err != nil {
		return rep, err
	}
	defer c.Close()
	if err := rig.WaitUntil(ctx, 30*time.Second, c.Connected); err != nil {
		return rep, fmt.Errorf("central: %w", err)
	}
	start = time.Now()
	s, err := bpsync.StartSession(ctx, bpsync.SessionConfig{Link: bpsync.LinkConfig{Broker: cfg.Broker},
		Agent: "post-backlog", Replica: r, Verifier: bpsync.NewVerifier(pub), HitKey: c.HitPublicKey(), Logger: quiet})
	if err != nil {
		return rep, err
	}
	defer s.Close()
	last := time.Now()
	if err := rig.WaitUntil(ctx, 30*time.Minute, func() bool {
		st, err := r.Outbox()
		if time.Since(last) > 5*time.Second {
			say("outbox: %d waiting", st.Depth)
			last = time.Now()
		}
		return err == nil && st.Depth == 0
	}); err != nil {
		return rep, fmt.Errorf("drain: %w", err)
	}
	rep.DrainSeconds = time.Since(start).Seconds()
	rep.HitsPerSecond = float64(cfg.Hits) / rep.DrainSeconds
	st := c.Stats()
	rep.Duplicates = st.Duplicates
	if got := len(c.Hits("post-backlog")); got != cfg.Hits {
		return rep, fmt.Errorf("central holds %d distinct hits, want %d", got, cfg.Hits)
	}
	say("drained %d hits in %.1fs (%.0f hits/s), %d duplicates removed by central", cfg.Hits, rep.DrainSeconds, rep.HitsPerSecond, rep.Duplicates)
	return rep, nil
}
