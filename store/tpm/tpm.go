// Package tpm seals the replica's 32-byte data key with a TPM 2.0, bound to a
// PCR policy over the boot state, and unseals it at start-up.
//
// It owns: talking to the TPM (a /dev/tpmrm0 device, or swtpm over TCP for
// tests and development), the sealed-key blob file format, and writing that
// file atomically next to the database.
//
// It must never: write the data key anywhere but into the TPM (no file, no
// log, no error string), send the key across the TPM bus unencrypted, seal a
// key without a PCR policy, or fall back to an unsealed key when the TPM or
// the policy says no. What to do when unsealing fails is the caller's
// decision (the agent fails closed).
package tpm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/tcp"
)

// KeySize is the size in bytes of the data key this package seals.
const KeySize = 32

// sessionHash is the hash of every session and of the sealed object's name
// and policy; independent of the PCR bank.
const sessionHash = tpm2.TPMAlgSHA256

// nonceSize is the caller nonce size for sessions (the session hash size).
const nonceSize = 32

// TPM is an open connection to a TPM. Its methods are safe for concurrent
// use; the TPM executes one command at a time.
type TPM struct {
	sel selection

	mu sync.Mutex // serialises command sequences
	t  transport.TPMCloser

	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
}

// Open connects to the TPM named by cfg and checks that the configured PCR
// bank is allocated. It returns an error wrapping ErrConfig for an invalid
// configuration. The caller must Close the TPM.
func Open(ctx context.Context, cfg Config) (*TPM, error) {
	sel, platform, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var t transport.TPMCloser
	if cfg.Device != "" {
		t, err = openDevice(cfg.Device)
		if err != nil {
			return nil, fmt.Errorf("tpm: open device %s: %w", cfg.Device, err)
		}
	} else {
		// No PowerOn: swtpm's control port speaks its own protocol, and
		// swtpm is started powered with --flags not-need-init.
		t, err = tcp.Open(tcp.Config{CommandAddress: cfg.Address, PlatformAddress: platform})
		if err != nil {
			return nil, fmt.Errorf("tpm: connect to TCP TPM: %w", err)
		}
	}
	tp := &TPM{sel: sel, t: t, closed: make(chan struct{})}
	err = tp.run(ctx, func(t transport.TPM) error {
		_, err := readPCRs(t, sel)
		return err
	})
	if err != nil {
		return nil, errors.Join(err, tp.Close())
	}
	return tp, nil
}

// Close closes the connection. Calling it more than once returns the first
// result.
func (tp *TPM) Close() error {
	tp.closeOnce.Do(func() {
		close(tp.closed)
		tp.closeErr = tp.t.Close()
	})
	return tp.closeErr
}

// run executes one command sequence under the lock. If ctx ends while the
// TPM is busy the connection is closed, which is the only way to interrupt
// a blocked transport; the TPM must then be reopened.
func (tp *TPM) run(ctx context.Context, fn func(transport.TPM) error) error {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	select {
	case <-tp.closed:
		return ErrClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { tp.Close() })
	err := fn(tp.t)
	if !stop() && ctx.Err() != nil {
		return fmt.Errorf("%w: interrupted: %w", ErrClosed, ctx.Err())
	}
	return err
}

// Seal seals key (KeySize bytes) to the configured PCRs in their current
// state and returns the blob to store. The key crosses the bus only inside a
// session salted to the storage root key and AES-encrypted.
func (tp *TPM) Seal(ctx context.Context, key []byte) (*Blob, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrKeySize, len(key), KeySize)
	}
	var blob *Blob
	err := tp.run(ctx, func(t transport.TPM) error {
		srk, err := createSRK(t)
		if err != nil {
			return err
		}
		defer flush(t, srk.handle)

		// Read the PCRs once and hand their digest to PolicyPCR, so the
		// policy and the values stored for diagnostics cannot disagree.
		values, err := readPCRs(t, tp.sel)
		if err != nil {
			return err
		}
		policy, err := policyDigest(t, tp.sel, values)
		if err != nil {
			return err
		}
		create := tpm2.Create{
			ParentHandle: tpm2.AuthHandle{
				Handle: srk.handle,
				Name:   srk.name,
				Auth: tpm2.HMAC(sessionHash, nonceSize,
					tpm2.Salted(srk.handle, srk.public),
					tpm2.AESEncryption(128, tpm2.EncryptIn)),
			},
			InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
				Data: tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: key}),
			}},
			InPublic: tpm2.New2B(tpm2.TPMTPublic{
				Type:    tpm2.TPMAlgKeyedHash,
				NameAlg: sessionHash,
				ObjectAttributes: tpm2.TPMAObject{
					FixedTPM:        true,
					FixedParent:     true,
					AdminWithPolicy: true,
					NoDA:            true,
				},
				AuthPolicy: tpm2.TPM2BDigest{Buffer: policy},
			}),
		}
		rsp, err := create.Execute(t)
		if err != nil {
			return fmt.Errorf("tpm: create sealed object: %w", err)
		}
		blob = &Blob{
			sel:       tp.sel,
			pcrValues: values,
			srkName:   slices.Clone(srk.name.Buffer),
			public:    slices.Clone(rsp.OutPublic.Bytes()),
			private:   slices.Clone(rsp.OutPrivate.Buffer),
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return blob, nil
}

// Unseal returns the data key sealed in b. The PCR selection is the blob's,
// which is what the sealed object's policy demands whatever the current
// configuration says. Errors wrap ErrPolicy when the boot state changed (the
// message names the PCRs that differ) and ErrWrongTPM when this TPM cannot
// load the object at all. The key returns from the TPM encrypted under a
// salted session.
func (tp *TPM) Unseal(ctx context.Context, b *Blob) ([]byte, error) {
	if b == nil || len(b.pcrValues) != len(b.sel.pcrs) || len(b.sel.pcrs) == 0 {
		return nil, fmt.Errorf("%w: empty blob (use Seal or ReadBlob)", ErrBlobFormat)
	}
	var key []byte
	err := tp.run(ctx, func(t transport.TPM) error {
		srk, err := createSRK(t)
		if err != nil {
			return err
		}
		defer flush(t, srk.handle)

		if !bytes.Equal(srk.name.Buffer, b.srkName) {
			return fmt.Errorf("tpm: storage root key differs from the one the key was sealed under: %w", ErrWrongTPM)
		}
		load := tpm2.Load{
			ParentHandle: tpm2.AuthHandle{
				Handle: srk.handle,
				Name:   srk.name,
				Auth:   tpm2.PasswordAuth(nil),
			},
			InPrivate: tpm2.TPM2BPrivate{Buffer: b.private},
			InPublic:  tpm2.BytesAs2B[tpm2.TPMTPublic](b.public),
		}
		obj, err := load.Execute(t)
		if err != nil {
			var rc tpm2.TPMRC
			if errors.As(err, &rc) {
				return fmt.Errorf("tpm: load sealed object (%v): %w", err, ErrWrongTPM)
			}
			return fmt.Errorf("tpm: load sealed object: %w", err)
		}
		defer flush(t, obj.ObjectHandle)

		sess, closeSess, err := tpm2.PolicySession(t, sessionHash, nonceSize,
			tpm2.Salted(srk.handle, srk.public),
			tpm2.AESEncryption(128, tpm2.EncryptOut))
		if err != nil {
			return fmt.Errorf("tpm: start policy session: %w", err)
		}
		defer closeSess()
		// An empty digest makes the TPM use the PCRs' current values; the
		// comparison with the sealed policy then happens in Unseal.
		if _, err := (tpm2.PolicyPCR{PolicySession: sess.Handle(), Pcrs: b.sel.tpmSelection()}).Execute(t); err != nil {
			return fmt.Errorf("tpm: PolicyPCR: %w", err)
		}
		rsp, err := tpm2.Unseal{ItemHandle: tpm2.AuthHandle{
			Handle: obj.ObjectHandle,
			Name:   obj.Name,
			Auth:   sess,
		}}.Execute(t)
		if errors.Is(err, tpm2.TPMRCPolicyFail) {
			return policyError(t, b)
		}
		if err != nil {
			return fmt.Errorf("tpm: unseal: %w", err)
		}
		if len(rsp.OutData.Buffer) != KeySize {
			return fmt.Errorf("%w: unsealed %d bytes, want %d", ErrKeySize, len(rsp.OutData.Buffer), KeySize)
		}
		key = slices.Clone(rsp.OutData.Buffer)
		clear(rsp.OutData.Buffer)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// policyError builds the ErrPolicy error, naming the bound PCRs whose
// current values differ from those recorded at sealing.
func policyError(t transport.TPM, b *Blob) error {
	now, err := readPCRs(t, b.sel)
	if err != nil {
		return fmt.Errorf("tpm: unseal data key: bound PCRs %s (current values unreadable: %v): %w", b.sel, err, ErrPolicy)
	}
	var changed []int
	for i, p := range b.sel.pcrs {
		if !slices.Equal(now[i], b.pcrValues[i]) {
			changed = append(changed, p)
		}
	}
	return fmt.Errorf("tpm: unseal data key: bound PCRs %s, changed since sealing: %v: %w", b.sel, changed, ErrPolicy)
}

// storageRootKey is the storage root key loaded in the TPM.
type storageRootKey struct {
	handle tpm2.TPMHandle
	name   tpm2.TPM2BName // computed from public, not taken from the response
	public tpm2.TPMTPublic
}

// createSRK re-derives the ECC storage root key from the owner seed. It is
// the same key, with the same name, every time until the TPM is cleared.
func createSRK(t transport.TPM) (*storageRootKey, error) {
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHOwner,
		InPublic:      tpm2.New2B(tpm2.ECCSRKTemplate),
	}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("tpm: create storage root key (owner hierarchy needs an empty password): %w", err)
	}
	pub, err := rsp.OutPublic.Contents()
	if err == nil && pub.Type != tpm2.TPMAlgECC {
		err = errors.New("not an ECC key")
	}
	var name *tpm2.TPM2BName
	if err == nil {
		name, err = tpm2.ObjectName(pub)
	}
	if err != nil {
		flush(t, rsp.ObjectHandle)
		return nil, fmt.Errorf("tpm: storage root key public area: %w", err)
	}
	return &storageRootKey{handle: rsp.ObjectHandle, name: *name, public: *pub}, nil
}

// readPCRs returns the current value of each selected PCR, in selection
// order. One PCR per command keeps clear of the TPM's per-response limit.
func readPCRs(t transport.TPM, sel selection) ([][]byte, error) {
	size := bankDigestSize(sel.bank)
	values := make([][]byte, 0, len(sel.pcrs))
	for _, p := range sel.pcrs {
		one := selection{bank: sel.bank, pcrs: []int{p}}
		rsp, err := tpm2.PCRRead{PCRSelectionIn: one.tpmSelection()}.Execute(t)
		if err != nil {
			return nil, fmt.Errorf("tpm: read PCR %d: %w", p, err)
		}
		if len(rsp.PCRValues.Digests) != 1 || len(rsp.PCRValues.Digests[0].Buffer) != size {
			return nil, fmt.Errorf("%w: PCR %s:%d not readable; is the %s bank allocated?",
				ErrConfig, bankName(sel.bank), p, bankName(sel.bank))
		}
		values = append(values, slices.Clone(rsp.PCRValues.Digests[0].Buffer))
	}
	return values, nil
}

// policyDigest asks a trial session for the PolicyPCR digest over the given
// PCR values.
func policyDigest(t transport.TPM, sel selection, values [][]byte) ([]byte, error) {
	h := sha256.New() // the PCR digest uses the session's hash
	for _, v := range values {
		h.Write(v)
	}
	sess, closeSess, err := tpm2.PolicySession(t, sessionHash, nonceSize, tpm2.Trial())
	if err != nil {
		return nil, fmt.Errorf("tpm: start trial session: %w", err)
	}
	defer closeSess()
	_, err = tpm2.PolicyPCR{
		PolicySession: sess.Handle(),
		PcrDigest:     tpm2.TPM2BDigest{Buffer: h.Sum(nil)},
		Pcrs:          sel.tpmSelection(),
	}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("tpm: trial PolicyPCR: %w", err)
	}
	rsp, err := tpm2.PolicyGetDigest{PolicySession: sess.Handle()}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("tpm: policy digest: %w", err)
	}
	return slices.Clone(rsp.PolicyDigest.Buffer), nil
}

// flush frees a transient handle. Failure only leaks a slot until the
// connection closes (the resource manager then flushes it), so it is ignored.
func flush(t transport.TPM, h tpm2.TPMHandle) {
	_, _ = tpm2.FlushContext{FlushHandle: h}.Execute(t)
}
