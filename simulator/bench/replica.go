package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/borderpost/borderpost/agent/match"
	"github.com/borderpost/borderpost/store"
)

// importBatch is the number of alerts handed to the snapshot at a time,
// as store.Import does with the lines of a file.
const importBatch = 10000

// built describes a replica file the bench made, in a file beside it
// (replica + ".bench.json"), so that a later run reuses it only for the
// same list.
type built struct {
	Alerts          int     `json:"alerts"`
	Mix             string  `json:"mix"`
	Seed            uint64  `json:"seed"`
	GenerateSeconds float64 `json:"generate_seconds"`
	ImportSeconds   float64 `json:"import_seconds"`
	// IndexFilesSeconds is the part of ImportSeconds spent writing the
	// match index's files for the first start.
	IndexFilesSeconds float64 `json:"index_files_seconds"`
}

func builtPath(replica string) string { return replica + ".bench.json" }

// keyPath is the development key file of a bench replica: beside it.
func keyPath(replica string) string { return replica + ".key" }

// quiet is the store's logger during a run: the bench prints its own
// progress, and the store's info lines would mix with it.
func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// ensureReplica returns the description of the replica at path, building
// it first when the file does not exist. An existing replica must have
// been built by the bench for the same list.
func ensureReplica(ctx context.Context, path string, m Mix, cfg Config, say func(string, ...any)) (built, bool, error) {
	want := built{Alerts: cfg.Alerts, Mix: m.Name, Seed: cfg.Seed}
	if _, err := os.Stat(path); err == nil {
		b, err := os.ReadFile(builtPath(path))
		if err != nil {
			return built{}, false, fmt.Errorf("%w: %s has no %s (%v); remove the replica or give another --replica", ErrReplicaMismatch, path, builtPath(path), err)
		}
		var have built
		if err := json.Unmarshal(b, &have); err != nil {
			return built{}, false, fmt.Errorf("%w: read %s: %v", ErrReplicaMismatch, builtPath(path), err)
		}
		if have.Alerts != want.Alerts || have.Mix != want.Mix || have.Seed != want.Seed {
			return built{}, false, fmt.Errorf("%w: %s holds %d alerts of mix %s, seed %d; the run asks for %d, %s, %d (pass the same flags or another --replica)",
				ErrReplicaMismatch, path, have.Alerts, have.Mix, have.Seed, want.Alerts, want.Mix, want.Seed)
		}
		say("reusing replica %s (%d alerts, mix %s, seed %d)", path, have.Alerts, have.Mix, have.Seed)
		return have, true, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return built{}, false, fmt.Errorf("replica %s: %w", path, err)
	}
	if _, err := os.Stat(keyPath(path)); errors.Is(err, os.ErrNotExist) {
		if err := store.WriteKeyFile(keyPath(path)); err != nil {
			return built{}, false, fmt.Errorf("bench key file: %w", err)
		}
	}
	b, err := buildReplica(ctx, path, m, cfg, say)
	if err != nil {
		// A half-built file must not be reused by the next run.
		store.Remove(path) // and its journal, which would be refused beside the next one
		return built{}, false, err
	}
	raw, _ := json.Marshal(b)
	if err := os.WriteFile(builtPath(path), raw, 0o600); err != nil {
		return built{}, false, fmt.Errorf("bench replica description: %w", err)
	}
	return b, false, nil
}

// buildReplica streams the generated list into a new encrypted replica
// through the store's bulk path (a snapshot, as `borderpost replica
// import` and central's snapshots use), never holding more than a batch,
// then finishes as the import command does: compaction and the match
// index's files. Import time counts that work (validate, seal, sort,
// write, commit, sync, compact, files), not the generator's.
func buildReplica(ctx context.Context, path string, m Mix, cfg Config, say func(string, ...any)) (built, error) {
	b := built{Alerts: cfg.Alerts, Mix: m.Name, Seed: cfg.Seed}
	rep, err := store.Open(ctx, path, store.KeyFile{Path: keyPath(path)}, match.WithTerms(store.Options{Logger: quiet()}))
	if err != nil {
		return b, err
	}
	defer func() {
		if rep != nil {
			rep.Close()
		}
	}()
	var importing, generating time.Duration
	t0 := time.Now()
	snap, err := rep.BeginSnapshot(0, 0, [32]byte{})
	if err != nil {
		return b, err
	}
	defer snap.Abort()
	importing += time.Since(t0)
	mark := time.Now() // end of the last batch handed over
	done := 0
	err = m.stream(cfg.Seed, cfg.Alerts, importBatch, func(as []store.Alert) error {
		t := time.Now()
		generating += t.Sub(mark)
		if err := snap.Add(ctx, as); err != nil {
			return err
		}
		mark = time.Now()
		importing += mark.Sub(t)
		done += len(as)
		if done%(importBatch*50) == 0 {
			say("imported %d of %d alerts", done, cfg.Alerts)
		}
		return nil
	})
	if err != nil {
		return b, fmt.Errorf("bench import: %w", err)
	}
	t := time.Now()
	if err := snap.Commit(ctx, snap.Digest()); err != nil {
		return b, fmt.Errorf("bench import: %w", err)
	}
	importing += time.Since(t)
	// As `borderpost replica import` ends: the file is compacted if the
	// snapshot asked for it, so that the agent's first start need not;
	// part of the import, not of every cold start.
	t = time.Now()
	due, err := rep.CompactDue()
	if err != nil {
		return b, err
	}
	if due {
		if err := rep.Close(); err != nil {
			return b, err
		}
		rep, err = store.Open(ctx, path, store.KeyFile{Path: keyPath(path)}, match.WithTerms(store.Options{Logger: quiet(), Compact: true}))
		if err != nil {
			return b, err
		}
	}
	importing += time.Since(t)
	// Then, as `borderpost replica import` ends, the match index's files
	// (term table, name index) are written, so that the cold start below
	// is an agent's first start after an import.
	t = time.Now()
	if err := match.PrepareFiles(ctx, rep, match.Options{Logger: quiet()}); err != nil {
		return b, fmt.Errorf("bench import: the match index's files: %w", err)
	}
	b.IndexFilesSeconds = time.Since(t).Seconds()
	importing += time.Since(t)
	b.ImportSeconds = importing.Seconds()
	b.GenerateSeconds = generating.Seconds()
	return b, nil
}
