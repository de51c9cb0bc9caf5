//go:build !windows

package store

import (
	"os"
	"syscall"
	"time"
)

// sharedLock takes a shared flock on f (bbolt's writer holds an exclusive
// one), waiting up to timeout. The lock goes with f's Close.
func sharedLock(f *os.File, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return true
		}
		if err != syscall.EWOULDBLOCK || time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exclusiveLock reports whether no other process holds f locked (bbolt
// locks its file while open), by taking and keeping an exclusive flock
// until f is closed.
func exclusiveLock(f *os.File) bool {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
