//go:build windows

package store

import (
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// sharedLock takes a shared lock on f where bbolt takes its own (the last
// byte of the address space), waiting up to timeout. The lock goes with
// f's Close.
func sharedLock(f *os.File, timeout time.Duration) bool {
	const m1 = 0xffffffff
	deadline := time.Now().Add(timeout)
	for {
		err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &windows.Overlapped{Offset: m1, OffsetHigh: m1})
		if err == nil {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exclusiveLock reports whether no other process holds f locked where
// bbolt locks, by taking an exclusive lock kept until f is closed.
func exclusiveLock(f *os.File) bool {
	const m1 = 0xffffffff
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_FAIL_IMMEDIATELY|windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0,
		&windows.Overlapped{Offset: m1, OffsetHigh: m1}) == nil
}
