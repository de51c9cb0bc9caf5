package tpm

import (
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/google/go-tpm/tpm2"
)

// maxPCR is the highest PCR index accepted: PC Client TPMs have 24 PCRs.
const maxPCR = 23

// Config names the TPM and the PCR policy the data key is sealed to.
//
// Exactly one of Device and Address is set. PCRs must name at least one PCR:
// a key sealed without a boot-state policy would unseal on any boot of this
// machine, which this package refuses to do.
type Config struct {
	// Device is the TPM character device, normally "/dev/tpmrm0" (the
	// kernel's resource manager; "/dev/tpm0" has none and is not advised).
	// On Windows any value, e.g. "tbs", selects TPM Base Services.
	Device string
	// Address is the "host:port" of a TCP TPM's command port (swtpm,
	// the TCG simulator); for tests and development only.
	Address string
	// PlatformAddress is the TCP TPM's platform (control) port. Empty means
	// the command port plus one, swtpm's convention.
	PlatformAddress string
	// PCRs are the PCR indices (0..23) the key is bound to, e.g. [7] for
	// the Secure Boot state.
	PCRs []int
	// Bank is the PCR bank: "sha256" (default when empty), "sha1" or
	// "sha384".
	Bank string
}

// bankAlgs maps configuration bank names to TPM hash algorithms.
var bankAlgs = map[string]tpm2.TPMAlgID{
	"sha1":   tpm2.TPMAlgSHA1,
	"sha256": tpm2.TPMAlgSHA256,
	"sha384": tpm2.TPMAlgSHA384,
}

// bankName returns the configuration name of a bank algorithm.
func bankName(alg tpm2.TPMAlgID) string {
	for name, a := range bankAlgs {
		if a == alg {
			return name
		}
	}
	return fmt.Sprintf("alg-0x%04x", uint16(alg))
}

// bankDigestSize is the size of one PCR value in the bank.
func bankDigestSize(alg tpm2.TPMAlgID) int {
	switch alg {
	case tpm2.TPMAlgSHA1:
		return 20
	case tpm2.TPMAlgSHA256:
		return 32
	case tpm2.TPMAlgSHA384:
		return 48
	}
	return 0
}

// selection is a validated PCR selection: a bank and sorted, unique indices.
type selection struct {
	bank tpm2.TPMAlgID
	pcrs []int
}

// String renders the selection as "sha256:[7]" for errors and the README.
func (s selection) String() string { return fmt.Sprintf("%s:%v", bankName(s.bank), s.pcrs) }

// tpmSelection converts to the TPM structure.
func (s selection) tpmSelection() tpm2.TPMLPCRSelection {
	idx := make([]uint, len(s.pcrs))
	for i, p := range s.pcrs {
		idx[i] = uint(p)
	}
	return tpm2.TPMLPCRSelection{PCRSelections: []tpm2.TPMSPCRSelection{{
		Hash:      s.bank,
		PCRSelect: tpm2.PCClientCompatible.PCRs(idx...),
	}}}
}

// newSelection validates a bank name and PCR list.
func newSelection(bank string, pcrs []int) (selection, error) {
	if bank == "" {
		bank = "sha256"
	}
	alg, ok := bankAlgs[bank]
	if !ok {
		return selection{}, fmt.Errorf("%w: PCR bank %q (want sha1, sha256 or sha384)", ErrConfig, bank)
	}
	if len(pcrs) == 0 {
		return selection{}, fmt.Errorf("%w: no PCRs named; the key must be bound to the boot state (e.g. PCRs [7])", ErrConfig)
	}
	sorted := slices.Clone(pcrs)
	slices.Sort(sorted)
	for i, p := range sorted {
		if p < 0 || p > maxPCR {
			return selection{}, fmt.Errorf("%w: PCR %d out of range 0..%d", ErrConfig, p, maxPCR)
		}
		if i > 0 && sorted[i-1] == p {
			return selection{}, fmt.Errorf("%w: PCR %d named twice", ErrConfig, p)
		}
	}
	return selection{bank: alg, pcrs: sorted}, nil
}

// validate checks the configuration and returns its PCR selection and the
// platform address to use for a TCP TPM.
func (c Config) validate() (selection, string, error) {
	if (c.Device == "") == (c.Address == "") {
		return selection{}, "", fmt.Errorf("%w: set exactly one of Device and Address", ErrConfig)
	}
	sel, err := newSelection(c.Bank, c.PCRs)
	if err != nil {
		return selection{}, "", err
	}
	if c.Device != "" {
		return sel, "", nil
	}
	platform := c.PlatformAddress
	if platform == "" {
		host, port, err := net.SplitHostPort(c.Address)
		if err != nil {
			return selection{}, "", fmt.Errorf("%w: address %q: %v", ErrConfig, c.Address, err)
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65534 {
			return selection{}, "", fmt.Errorf("%w: address %q: numeric port below 65535 needed to derive the platform port", ErrConfig, c.Address)
		}
		platform = net.JoinHostPort(host, strconv.Itoa(n+1))
	}
	return sel, platform, nil
}
