package tpm

import "errors"

// Errors returned by this package. Callers match them with errors.Is; the
// returned errors wrap them with the context of the failing step.
var (
	// ErrPolicy means the TPM refused to unseal because the PCR policy
	// failed: the boot state (firmware, boot loader, Secure Boot
	// configuration) measured into the bound PCRs differs from the state
	// when the key was sealed. The wrapping error names the PCRs.
	ErrPolicy = errors.New("tpm: the boot state differs from when the data key was sealed (PCR policy failed); " +
		"re-provision the data key from central, or re-seal it after an intended firmware or Secure Boot change")

	// ErrWrongTPM means the TPM rejected the sealed object itself: the blob
	// was sealed by another TPM, the TPM has been cleared since (new storage
	// seed), or the blob's private part was altered.
	ErrWrongTPM = errors.New("tpm: the sealed key blob does not belong to this TPM (other machine, TPM cleared, or blob altered); " +
		"re-provision the data key from central")

	// ErrBlobFormat means a sealed key blob could not be parsed: truncated,
	// corrupted, or not a blob at all.
	ErrBlobFormat = errors.New("tpm: sealed key blob is malformed")

	// ErrBlobVersion means a sealed key blob has a format version this
	// build does not understand.
	ErrBlobVersion = errors.New("tpm: sealed key blob has an unsupported format version")

	// ErrConfig means the TPM configuration is invalid.
	ErrConfig = errors.New("tpm: invalid configuration")

	// ErrKeySize means a data key does not have KeySize bytes.
	ErrKeySize = errors.New("tpm: data key has the wrong size")

	// ErrClosed means the TPM connection has been closed (by Close, or by a
	// cancelled context interrupting a command).
	ErrClosed = errors.New("tpm: connection closed")
)
