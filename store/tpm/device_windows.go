//go:build windows

package tpm

import (
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/windowstpm"
)

// openDevice opens the TPM through Windows' TPM Base Services; the device
// name in the configuration only needs to be set, its value is not used.
func openDevice(string) (transport.TPMCloser, error) { return windowstpm.Open() }
