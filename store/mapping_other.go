//go:build !linux

package store

import (
	"context"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// boltOptionsFor returns the default options: elsewhere than on Linux
// (Windows grows the file to its map) the map follows the file.
func boltOptionsFor(_ string, timeout time.Duration) *bolt.Options { return boltOptions(timeout) }

// mapResident maps nothing: pages are mapped as lookups touch them.
func (r *Replica) mapResident() (int64, error) { return 0, nil }

// dropCached does nothing: the advice is Linux's.
func dropCached(*os.File) {}

// fileAdvice gives no advice: the hint is Linux's.
func fileAdvice(*os.File) func(off, n int64) { return nil }

// fileIdentity reports that this system gives no change time that only
// the kernel sets: a close mark vouches for nothing here, and every
// start checks the whole file (closemark.go).
func fileIdentity(os.FileInfo) ([]byte, bool) { return nil, false }

// waitFileTick does nothing: no close mark is used here.
func waitFileTick(os.FileInfo) {}

// warm maps nothing: pages are mapped as lookups touch them.
func (r *Replica) warm(context.Context) (int64, bool, error) { return 0, false, nil }
