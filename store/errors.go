package store

import "errors"

// Errors returned by the store. Callers test with errors.Is; the wrapped
// message says what failed and what to do.
var (
	// ErrNoKey means the key provider could not produce a data key.
	ErrNoKey = errors.New("no data key")
	// ErrWrongKey means the data key does not match the one the replica
	// was created with.
	ErrWrongKey = errors.New("data key does not match the replica")
	// ErrFormat means the file was written by a newer replica format.
	ErrFormat = errors.New("unsupported replica format")
	// ErrCorrupt means a stored value failed authentication or decoding.
	ErrCorrupt = errors.New("replica record corrupt")
	// ErrReplay means a change's sequence is at or below the replica's.
	ErrReplay = errors.New("change already applied (replay)")
	// ErrGap means a change's sequence is beyond the next one expected.
	ErrGap = errors.New("change sequence gap")
	// ErrEpoch means a change belongs to another epoch than the replica's.
	ErrEpoch = errors.New("change belongs to another epoch")
	// ErrChain means a change's previous hash is not the replica's head.
	ErrChain = errors.New("change does not follow the replica's chain")
	// ErrDigest means the state after a change does not have the digest
	// the change announced.
	ErrDigest = errors.New("replica digest mismatch after change")
	// ErrInvalidAlert means an alert lacks an ID, a version or a subject.
	ErrInvalidAlert = errors.New("invalid alert")
	// ErrBusy means a key rotation, a snapshot or a delta applied in
	// chunks is already in progress.
	ErrBusy = errors.New("replica busy with a rotation or snapshot")
	// ErrSnapshotDone means a snapshot writer was used after Commit or
	// Abort, or after Open removed its partial generation.
	ErrSnapshotDone = errors.New("snapshot already committed or abandoned")
	// ErrImportFormat means an import file line is not a valid alert or
	// header; the message names the line.
	ErrImportFormat = errors.New("invalid alert import line")
	// ErrDamaged means the replica file is cut short or its structure is
	// damaged: it is refused before the database is opened, and the
	// message names the file and the remedy (`borderpost replica rebuild`).
	ErrDamaged = errors.New("replica file damaged")
	// ErrTermsVersion means a term function was given without its version.
	ErrTermsVersion = errors.New("term function without a version")
	// ErrTermTable means the term table beside the replica cannot be used
	// (none, stale, from another file or key, damaged): the term index is
	// walked instead (see termtable.go).
	ErrTermTable = errors.New("term table not usable")
	// ErrSealedFile means a sealed file beside the replica (the agent's
	// name index) cannot be used (none, stale, of another layout, file or
	// key, damaged): its owner rebuilds it (see sealedfile.go).
	ErrSealedFile = errors.New("sealed file not usable")
	// ErrJournal means the journal beside the replica (audit log and
	// outbox) is missing, empty or another replica's: the replica is not
	// opened, since starting without it would lose hits and records.
	ErrJournal = errors.New("replica journal not usable")
	// ErrAuditChain means the audit log's hash chain is broken.
	ErrAuditChain = errors.New("audit chain broken")
)
