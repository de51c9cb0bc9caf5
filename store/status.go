package store

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Status is what can be read from a replica file without its key: for
// `borderpost keys status` and operators.
type Status struct {
	Format      uint32    `json:"format"`
	Key         KeyStatus `json:"key"`
	Cursor      Cursor    `json:"cursor"`
	Generation  uint64    `json:"generation"`       // active alert generation
	Loading     bool      `json:"snapshot_loading"` // a snapshot was being loaded (a kill, if no process runs)
	CompactDue  bool      `json:"compact_due"`      // dropped generations left space to reclaim
	FileBytes   int64     `json:"file_bytes"`
	AuditAnchor uint64    `json:"audit_anchor,omitempty"` // last audit record removed by retention
	// JournalBytes is the size of the journal beside the file (audit log
	// and outbox, see JournalPath); 0 for a file of format 3 or before.
	JournalBytes int64 `json:"journal_bytes,omitempty"`
	// DeltaPending is a change applied in part (a kill between its
	// chunks): sent again it resumes; a snapshot replaces it.
	DeltaPending *DeltaProgress `json:"delta_pending,omitempty"`
}

// ReadStatus opens the replica file at path read-only, without a key, and
// describes it. It changes nothing (an interrupted rotation or snapshot
// is reported, not resolved) and fails while another process, such as a
// running agent, holds the file. It checks every page of the file first,
// as Open does, unless opt.VouchKey gives the data key and the close mark
// made with it vouches for the file (a replica the agent closed cleanly):
// at 100M alerts, seconds rather than 15-45 s.
func ReadStatus(ctx context.Context, path string, opt Options) (Status, error) {
	var s Status
	if opt.LockTimeout == 0 {
		opt.LockTimeout = 2 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return s, fmt.Errorf("replica status: %w", err)
	}
	s.FileBytes = fi.Size()
	var markKey []byte
	if opt.VouchKey != nil {
		// Without the key the file is checked whole: the status needs none.
		if key, err := opt.VouchKey.DataKey(ctx); err == nil {
			markKey = closeMarkKey(key)
			clear(key)
			defer clear(markKey)
		}
	}
	if err := checkFileLogged(path, opt.LockTimeout, markKey, opt.Logger); err != nil {
		return s, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout, ReadOnly: true})
	if err != nil {
		return s, fmt.Errorf("open replica %s: %w (is the agent running?)", path, err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil || meta.Get(metaFormat) == nil {
			return fmt.Errorf("%w: %s is not a replica", ErrFormat, path)
		}
		s.Format = binary.BigEndian.Uint32(meta.Get(metaFormat))
		if s.Format > FormatVersion {
			return fmt.Errorf("%w: file format %d", ErrFormat, s.Format)
		}
		s.Key.Generation = binary.BigEndian.Uint32(meta.Get(metaKeyGen))
		check := meta.Get(keyCheckName(s.Key.Generation))
		if s.Format == 1 {
			check = meta.Get(metaKeyCheck)
		}
		if len(check) >= 8 {
			s.Key.Check = hex.EncodeToString(check[:8])
		}
		if rot, err := readRotation(tx); err != nil {
			return err
		} else if rot != nil {
			s.Key.Rotating, s.Key.RotatingTo, s.Key.Done, s.Key.Total = true, rot.To, rot.Done, rot.Total
		}
		var err error
		if s.Cursor, err = readCursor(tx); err != nil {
			return err
		}
		if g := meta.Get(metaAlertGen); g != nil {
			s.Generation = binary.BigEndian.Uint64(g)
		}
		s.Loading = meta.Get(metaSnapshot) != nil
		s.CompactDue = meta.Get(metaCompact) != nil
		p, err := readPendingDelta(tx)
		if err != nil {
			return err
		}
		s.DeltaPending = p.progress()
		a, err := readAnchor(tx)
		s.AuditAnchor = a.Seq
		return err
	})
	if err != nil || s.Format < FormatVersion {
		return s, err
	}
	jpath := JournalPath(path)
	fi, err = os.Stat(jpath)
	if err != nil {
		return s, fmt.Errorf("replica status: %w: %w", ErrJournal, err)
	}
	s.JournalBytes = fi.Size()
	if err := verifyFile(jpath, opt.LockTimeout); err != nil {
		return s, err
	}
	j, err := bolt.Open(jpath, 0o600, &bolt.Options{Timeout: opt.LockTimeout, ReadOnly: true})
	if err != nil {
		return s, fmt.Errorf("open journal %s: %w (is the agent running?)", jpath, err)
	}
	defer j.Close()
	err = j.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return fmt.Errorf("%w: %s has no meta", ErrJournal, jpath)
		}
		a, err := readAnchor(tx)
		s.AuditAnchor = a.Seq
		return err
	})
	return s, err
}
