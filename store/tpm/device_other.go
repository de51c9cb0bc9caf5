//go:build !linux && !windows

package tpm

import (
	"fmt"

	"github.com/google/go-tpm/tpm2/transport"
)

// openDevice reports that this system has no TPM device support; a TCP
// TPM (Config.Address) still works.
func openDevice(path string) (transport.TPMCloser, error) {
	return nil, fmt.Errorf("%w: no TPM device support on this system; use a TCP TPM address", ErrConfig)
}
