//go:build linux

package tpm

import (
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
)

// openDevice opens the kernel's TPM device, normally /dev/tpmrm0.
func openDevice(path string) (transport.TPMCloser, error) { return linuxtpm.Open(path) }
