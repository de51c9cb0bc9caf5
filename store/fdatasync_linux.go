package store

import (
	"os"
	"syscall"
)

// fdatasync makes f's data durable without its timestamps: on a file
// whose blocks are allocated, one flush of the disk, no journal commit of
// the file system.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
