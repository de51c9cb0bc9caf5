package tpm

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// Environment of the child process in TestUnsealInNewProcess.
const (
	childEnvAddr     = "BP_TPM_TEST_CHILD_ADDR"
	childEnvPlatform = "BP_TPM_TEST_CHILD_PLATFORM"
	childEnvBlob     = "BP_TPM_TEST_CHILD_BLOB"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnvAddr) != "" {
		os.Exit(childUnseal())
	}
	os.Exit(m.Run())
}

// childUnseal runs in a fresh process: it unseals the blob through
// KeyProvider and prints the SHA-256 of the key (not the key).
func childUnseal() int {
	p := KeyProvider{
		Config: Config{
			Address:         os.Getenv(childEnvAddr),
			PlatformAddress: os.Getenv(childEnvPlatform),
			PCRs:            []int{7}, // deliberately not the blob's: the blob decides
		},
		BlobPath: os.Getenv(childEnvBlob),
	}
	key, err := p.DataKey(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "child unseal:", err)
		return 1
	}
	sum := sha256.Sum256(key)
	fmt.Println(hex.EncodeToString(sum[:]))
	return 0
}

func newKey(t testing.TB) []byte {
	t.Helper()
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return key
}

func openTPM(t testing.TB, cfg Config) *TPM {
	t.Helper()
	tp, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { tp.Close() })
	return tp
}

func seal(t testing.TB, tp *TPM, key []byte) *Blob {
	t.Helper()
	b, err := tp.Seal(context.Background(), key)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return b
}

func mustUnseal(t testing.TB, tp *TPM, b *Blob, want []byte) {
	t.Helper()
	got, err := tp.Unseal(context.Background(), b)
	if err != nil {
		t.Fatalf("Unseal: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Unseal returned a different key")
	}
}

// extendPCR extends pcr in the sha256 bank with a measurement of event.
func extendPCR(t testing.TB, tp *TPM, pcr int, event string) {
	t.Helper()
	extendPCRBank(t, tp, "sha256", pcr, event)
}

// extendPCRBank extends pcr in one bank only, as firmware that measures
// into one bank would.
func extendPCRBank(t testing.TB, tp *TPM, bank string, pcr int, event string) {
	t.Helper()
	alg := bankAlgs[bank]
	h, err := alg.Hash()
	if err != nil {
		t.Fatal(err)
	}
	w := h.New()
	w.Write([]byte(event))
	err = tp.run(context.Background(), func(t transport.TPM) error {
		_, err := tpm2.PCRExtend{
			PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(pcr), Auth: tpm2.PasswordAuth(nil)},
			Digests: tpm2.TPMLDigestValues{Digests: []tpm2.TPMTHA{{
				HashAlg: alg,
				Digest:  w.Sum(nil),
			}}},
		}.Execute(t)
		return err
	})
	if err != nil {
		t.Fatalf("extend PCR %d: %v", pcr, err)
	}
}

func resetPCR(t testing.TB, tp *TPM, pcr int) {
	t.Helper()
	err := tp.run(context.Background(), func(t transport.TPM) error {
		_, err := tpm2.PCRReset{
			PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(pcr), Auth: tpm2.PasswordAuth(nil)},
		}.Execute(t)
		return err
	})
	if err != nil {
		t.Fatalf("reset PCR %d: %v", pcr, err)
	}
}

func encode(t testing.TB, b *Blob) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSealUnsealRoundTrip(t *testing.T) {
	sw := startSwtpm(t)
	tp := openTPM(t, sw.config(7, 16))
	key := newKey(t)
	b := seal(t, tp, key)
	mustUnseal(t, tp, b, key)

	data := encode(t, b)
	if bytes.Contains(data, key) {
		t.Fatal("blob file contains the data key in the clear")
	}
	back, err := ReadBlob(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadBlob: %v", err)
	}
	if got := back.PCRs(); len(got) != 2 || got[0] != 7 || got[1] != 16 || back.Bank() != "sha256" {
		t.Fatalf("blob selection = %s %v, want sha256 [7 16]", back.Bank(), got)
	}
	mustUnseal(t, tp, back, key)

	// Sealing twice gives different blobs for the same key (fresh seed
	// per object), and both unseal.
	b2 := seal(t, tp, key)
	if bytes.Equal(encode(t, b2), data) {
		t.Fatal("two seals produced identical blobs")
	}
	mustUnseal(t, tp, b2, key)
}

func TestSealRejectsWrongKeySize(t *testing.T) {
	sw := startSwtpm(t)
	tp := openTPM(t, sw.config(16))
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := tp.Seal(context.Background(), make([]byte, n)); !errors.Is(err, ErrKeySize) {
			t.Errorf("Seal(%d bytes) error = %v, want ErrKeySize", n, err)
		}
	}
}

func TestUnsealInNewProcess(t *testing.T) {
	sw := startSwtpm(t)
	cfg := sw.config(16)
	key := newKey(t)
	path := BlobPathFor(filepath.Join(t.TempDir(), "replica.db"))
	if err := Provision(context.Background(), cfg, path, key); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	// swtpm serves one connection at a time and Provision closed ours.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childEnvAddr+"="+cfg.Address,
		childEnvPlatform+"="+cfg.PlatformAddress,
		childEnvBlob+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child process: %v: %s", err, stderr.String())
	}
	sum := sha256.Sum256(key)
	if got, want := strings.TrimSpace(string(out)), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("child unsealed key with SHA-256 %s, want %s", got, want)
	}
}

func TestUnsealFailsWhenBoundPCRChanges(t *testing.T) {
	sw := startSwtpm(t)
	tp := openTPM(t, sw.config(16))
	key := newKey(t)
	b := seal(t, tp, key)

	// A PCR outside the policy may change freely.
	extendPCR(t, tp, 23, "unrelated application measurement")
	mustUnseal(t, tp, b, key)

	extendPCR(t, tp, 16, "new boot loader")
	got, err := tp.Unseal(context.Background(), b)
	if !errors.Is(err, ErrPolicy) {
		t.Fatalf("Unseal after extending bound PCR: key=%v err=%v, want ErrPolicy", got != nil, err)
	}
	if got != nil {
		t.Fatal("Unseal returned key material with an error")
	}
	msg := err.Error()
	for _, want := range []string{"sha256:[16]", "changed since sealing: [16]", "re-provision"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}

	// The policy is about the values, not about events: back to the
	// sealed value, the key unseals again.
	resetPCR(t, tp, 16)
	mustUnseal(t, tp, b, key)
}

func TestOtherBanks(t *testing.T) {
	sw := startSwtpm(t)
	for _, bank := range []string{"sha1", "sha384"} {
		t.Run(bank, func(t *testing.T) {
			cfg := sw.config(16)
			cfg.Bank = bank
			tp := openTPM(t, cfg)
			defer tp.Close()
			resetPCR(t, tp, 16)
			key := newKey(t)
			b := seal(t, tp, key)
			if b.Bank() != bank {
				t.Fatalf("blob bank %s, want %s", b.Bank(), bank)
			}
			// Only the bound bank counts.
			extendPCRBank(t, tp, "sha256", 16, "other bank")
			mustUnseal(t, tp, b, key)
			extendPCRBank(t, tp, bank, 16, "bound bank")
			if _, err := tp.Unseal(context.Background(), b); !errors.Is(err, ErrPolicy) {
				t.Fatalf("Unseal after extending %s PCR 16 = %v, want ErrPolicy", bank, err)
			}
		})
	}
}

func TestPolicyErrorNamesOnlyChangedPCRs(t *testing.T) {
	sw := startSwtpm(t)
	tp := openTPM(t, sw.config(16, 23))
	key := newKey(t)
	b := seal(t, tp, key)
	extendPCR(t, tp, 23, "changed")
	_, err := tp.Unseal(context.Background(), b)
	if !errors.Is(err, ErrPolicy) {
		t.Fatalf("err = %v, want ErrPolicy", err)
	}
	if !strings.Contains(err.Error(), "changed since sealing: [23]") {
		t.Fatalf("error %q should name PCR 23 only", err)
	}
}

func TestUnsealAfterSwtpmRestart(t *testing.T) {
	sw := startSwtpm(t)
	key := newKey(t)
	tp := openTPM(t, sw.config(7, 16))
	b := seal(t, tp, key)
	// PCR 16 moves during this boot; the restart must reset it.
	extendPCR(t, tp, 16, "this boot only")
	tp.Close()

	sw.restart()
	tp2 := openTPM(t, sw.config(7, 16))
	mustUnseal(t, tp2, b, key)
}

func TestUnsealOnOtherTPM(t *testing.T) {
	sw := startSwtpm(t)
	key := newKey(t)
	tp := openTPM(t, sw.config(16))
	b := seal(t, tp, key)
	tp.Close()

	// A second swtpm has its own seeds, like a cleared or swapped TPM.
	other := startSwtpm(t)
	tp2 := openTPM(t, other.config(16))
	if _, err := tp2.Unseal(context.Background(), b); !errors.Is(err, ErrWrongTPM) {
		t.Fatalf("Unseal on another TPM: %v, want ErrWrongTPM", err)
	}
}

func TestDamagedBlob(t *testing.T) {
	sw := startSwtpm(t)
	tp := openTPM(t, sw.config(16))
	key := newKey(t)
	b := seal(t, tp, key)
	data := encode(t, b)

	t.Run("truncated", func(t *testing.T) {
		for n := 0; n < len(data); n++ {
			if _, err := ReadBlob(bytes.NewReader(data[:n])); !errors.Is(err, ErrBlobFormat) {
				t.Fatalf("ReadBlob(first %d of %d bytes) = %v, want ErrBlobFormat", n, len(data), err)
			}
		}
	})
	t.Run("bit flipped", func(t *testing.T) {
		for i := range data {
			bad := bytes.Clone(data)
			bad[i] ^= 0x10
			_, err := ReadBlob(bytes.NewReader(bad))
			if !errors.Is(err, ErrBlobFormat) && !(i >= 8 && i < 10 && errors.Is(err, ErrBlobVersion)) {
				t.Fatalf("ReadBlob(byte %d flipped) = %v, want ErrBlobFormat", i, err)
			}
		}
	})
	t.Run("extra bytes", func(t *testing.T) {
		if _, err := ReadBlob(bytes.NewReader(append(bytes.Clone(data), 0))); !errors.Is(err, ErrBlobFormat) {
			t.Fatalf("ReadBlob(trailing byte) = %v, want ErrBlobFormat", err)
		}
	})
	t.Run("future version", func(t *testing.T) {
		bad := bytes.Clone(data)
		bad[9] = 2
		if _, err := ReadBlob(bytes.NewReader(bad)); !errors.Is(err, ErrBlobVersion) {
			t.Fatalf("ReadBlob(version 2) = %v, want ErrBlobVersion", err)
		}
	})
	// Damage with a valid checksum gets past the file format; the TPM
	// must then refuse the object.
	t.Run("private altered", func(t *testing.T) {
		bad := *b
		bad.private = bytes.Clone(b.private)
		bad.private[len(bad.private)-1] ^= 1
		if _, err := tp.Unseal(context.Background(), &bad); !errors.Is(err, ErrWrongTPM) {
			t.Fatalf("Unseal(private altered) = %v, want ErrWrongTPM", err)
		}
	})
	t.Run("storage root key pin altered", func(t *testing.T) {
		bad := *b
		bad.srkName = bytes.Clone(b.srkName)
		bad.srkName[len(bad.srkName)-1] ^= 1
		_, err := tp.Unseal(context.Background(), &bad)
		if !errors.Is(err, ErrWrongTPM) || !strings.Contains(err.Error(), "storage root key differs") {
			t.Fatalf("Unseal(SRK pin altered) = %v, want ErrWrongTPM naming the storage root key", err)
		}
	})
	t.Run("policy altered", func(t *testing.T) {
		pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](b.public)
		if err != nil {
			t.Fatal(err)
		}
		pub.AuthPolicy.Buffer = bytes.Clone(pub.AuthPolicy.Buffer)
		pub.AuthPolicy.Buffer[0] ^= 1
		bad := *b
		bad.public = tpm2.Marshal(pub)
		if _, err := tp.Unseal(context.Background(), &bad); !errors.Is(err, ErrWrongTPM) {
			t.Fatalf("Unseal(policy altered) = %v, want ErrWrongTPM", err)
		}
	})
	t.Run("password object refused", func(t *testing.T) {
		pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](b.public)
		if err != nil {
			t.Fatal(err)
		}
		pub.ObjectAttributes.UserWithAuth = true
		bad := *b
		bad.public = tpm2.Marshal(pub)
		if _, err := ReadBlob(bytes.NewReader(encode(t, &bad))); !errors.Is(err, ErrBlobFormat) {
			t.Fatalf("ReadBlob(UserWithAuth object) = %v, want ErrBlobFormat", err)
		}
	})
	// The TPM still works after all that.
	mustUnseal(t, tp, b, key)
}

func TestProvisionAndKeyProvider(t *testing.T) {
	sw := startSwtpm(t)
	cfg := sw.config(16)
	dir := t.TempDir()
	path := BlobPathFor(filepath.Join(dir, "replica.db"))
	ctx := context.Background()

	if _, err := (&KeyProvider{Config: cfg, BlobPath: path}).DataKey(ctx); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("DataKey without a blob file = %v, want not-exist", err)
	}

	key1 := newKey(t)
	if err := Provision(ctx, cfg, path, key1); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("blob mode %v, want 0600", fi.Mode().Perm())
	}
	p := &KeyProvider{Config: cfg, BlobPath: path}
	if got, err := p.DataKey(ctx); err != nil || !bytes.Equal(got, key1) {
		t.Fatalf("DataKey = equal:%v err:%v", bytes.Equal(got, key1), err)
	}

	// Re-provisioning replaces the key; a failing provision leaves it.
	key2 := newKey(t)
	if err := Provision(ctx, cfg, path, key2); err != nil {
		t.Fatalf("Provision again: %v", err)
	}
	if err := Provision(ctx, cfg, path, key1[:5]); !errors.Is(err, ErrKeySize) {
		t.Fatalf("Provision(short key) = %v, want ErrKeySize", err)
	}
	bad := cfg
	bad.PCRs = nil
	if err := Provision(ctx, bad, path, key1); !errors.Is(err, ErrConfig) {
		t.Fatalf("Provision(no PCRs) = %v, want ErrConfig", err)
	}
	if got, err := p.DataKey(ctx); err != nil || !bytes.Equal(got, key2) {
		t.Fatalf("DataKey after re-provision = equal:%v err:%v", bytes.Equal(got, key2), err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the blob (no temporary files)", len(entries))
	}

	// A corrupted file on disk gives a format error naming the file.
	if err := os.WriteFile(path, []byte("BPTPMKEY\x00\x01garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DataKey(ctx); !errors.Is(err, ErrBlobFormat) || !strings.Contains(err.Error(), path) {
		t.Fatalf("DataKey(corrupt file) = %v, want ErrBlobFormat naming the file", err)
	}
}

func TestCancelledContext(t *testing.T) {
	sw := startSwtpm(t)
	tp := openTPM(t, sw.config(16))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tp.Seal(ctx, newKey(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Seal(cancelled) = %v, want context.Canceled", err)
	}
	if _, err := Open(ctx, sw.config(16)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open(cancelled) = %v, want context.Canceled", err)
	}
	if _, err := tp.Unseal(context.Background(), &Blob{}); !errors.Is(err, ErrBlobFormat) {
		t.Fatalf("Unseal(zero Blob) = %v, want ErrBlobFormat", err)
	}
	if _, err := tp.Unseal(context.Background(), nil); !errors.Is(err, ErrBlobFormat) {
		t.Fatalf("Unseal(nil) = %v, want ErrBlobFormat", err)
	}
	// A cancelled call before any command leaves the connection usable.
	key := newKey(t)
	mustUnseal(t, tp, seal(t, tp, key), key)
	tp.Close()
	if _, err := tp.Seal(context.Background(), key); !errors.Is(err, ErrClosed) {
		t.Fatalf("Seal after Close = %v, want ErrClosed", err)
	}
}

func TestConfigValidation(t *testing.T) {
	bad := map[string]Config{
		"no TPM":           {PCRs: []int{7}},
		"both TPMs":        {Device: "/dev/tpmrm0", Address: "127.0.0.1:2321", PCRs: []int{7}},
		"no PCRs":          {Device: "/dev/tpmrm0"},
		"PCR too high":     {Device: "/dev/tpmrm0", PCRs: []int{24}},
		"negative PCR":     {Device: "/dev/tpmrm0", PCRs: []int{-1}},
		"duplicate PCR":    {Device: "/dev/tpmrm0", PCRs: []int{7, 7}},
		"unknown bank":     {Device: "/dev/tpmrm0", PCRs: []int{7}, Bank: "md5"},
		"address w/o port": {Address: "localhost", PCRs: []int{7}},
	}
	for name, cfg := range bad {
		if _, err := Open(context.Background(), cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: Open = %v, want ErrConfig", name, err)
		}
	}
	cfg := Config{Address: "127.0.0.1:2321", PCRs: []int{16, 7}}
	sel, platform, err := cfg.validate()
	if err != nil {
		t.Fatal(err)
	}
	if platform != "127.0.0.1:2322" || sel.String() != "sha256:[7 16]" {
		t.Fatalf("validate = %s %s, want sha256:[7 16] 127.0.0.1:2322", sel, platform)
	}
}

// busRecorder records every command and response that crosses the
// transport, as a probe on the LPC/SPI bus would see them.
type busRecorder struct {
	transport.TPMCloser
	seen bytes.Buffer
}

func (r *busRecorder) Send(cmd []byte) ([]byte, error) {
	r.seen.Write(cmd)
	rsp, err := r.TPMCloser.Send(cmd)
	r.seen.Write(rsp)
	return rsp, err
}

func TestKeyNeverCrossesBusInClear(t *testing.T) {
	sw := startSwtpm(t)
	tp := openTPM(t, sw.config(16))
	rec := &busRecorder{TPMCloser: tp.t}
	tp.t = rec
	key := newKey(t)
	mustUnseal(t, tp, seal(t, tp, key), key)
	if rec.seen.Len() == 0 {
		t.Fatal("recorder saw no traffic")
	}
	// Any 8-byte window of the key would be a leak, not only all of it.
	for i := 0; i+8 <= len(key); i++ {
		if bytes.Contains(rec.seen.Bytes(), key[i:i+8]) {
			t.Fatalf("key bytes %d..%d crossed the bus in the clear", i, i+8)
		}
	}
}

// TestCancelInterruptsBlockedTPM shows that a TPM that never answers does
// not hang the caller: cancelling the context closes the connection.
func TestCancelInterruptsBlockedTPM(t *testing.T) {
	port, err := freePortPair()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, p := range []int{port, port + 1} {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		isCommandPort := p == port
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			if isCommandPort {
				// Take the first command, then go silent and let
				// the caller give up.
				buf := make([]byte, 64)
				if n, _ := c.Read(buf); n > 0 {
					cancel()
				}
			}
			io.Copy(io.Discard, c)
		}()
	}
	_, err = Open(ctx, Config{Address: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), PCRs: []int{7}})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrClosed) {
		t.Fatalf("Open against a silent TPM = %v, want ErrClosed wrapping context.Canceled", err)
	}
}

// BenchmarkUnseal measures one start-up unseal against swtpm (SRK
// derivation, Load, salted policy session, Unseal) on an open connection.
func BenchmarkUnseal(b *testing.B) {
	sw := startSwtpm(b)
	tp := openTPM(b, sw.config(7))
	key := newKey(b)
	blob := seal(b, tp, key)
	for b.Loop() {
		if _, err := tp.Unseal(context.Background(), blob); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeal measures one seal against swtpm.
func BenchmarkSeal(b *testing.B) {
	sw := startSwtpm(b)
	tp := openTPM(b, sw.config(7))
	key := newKey(b)
	for b.Loop() {
		seal(b, tp, key)
	}
}
