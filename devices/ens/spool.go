package ens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/store/atomicfile"
)

// Subdirectories of a Spool's directory.
const (
	SpoolWork   = "work"   // files being checked
	SpoolDone   = "done"   // files checked
	SpoolFailed = "failed" // files refused or not checked, each with <name>.reason
)

// DefaultSpoolInterval is how often a Spool looks at its directory when no
// interval is configured.
const DefaultSpoolInterval = time.Second

// Spool checks declarations dropped as files into Dir: *.xml (ICS1) and
// *.json (ICS2 form or HMRC's). A file is taken once it has kept the same
// size and modification time over two polls; dotfiles and names ending in
// .part or .tmp are left alone, so a sender may write under such a name and
// rename when done. Each file is first moved (durably) into work/, then
// checked, then moved to done/ (with <name>.reason listing the fields left
// out, if any) or to failed/ with <name>.reason saying why.
//
// After a crash, files still in Dir have not been checked and are taken as
// usual; files found in work/ may or may not have reached the Checker, so
// they go to failed/ with a reason asking an operator to look the check up
// and move the file back into Dir if it is missing. A file is therefore
// never checked twice by the Spool and never lost.
//
// A Spool is not safe for use by several goroutines, and two Spools must
// not share a directory.
type Spool struct {
	Dir     string
	Checker devices.Checker
	// Device names this feed in Checks (default "ens").
	Device string
	Limits Limits
	// Strict sends a declaration with any Validate fault to failed/
	// instead of checking its valid fields.
	Strict bool
	// Interval between polls (default DefaultSpoolInterval).
	Interval time.Duration
	// CheckTimeout bounds each Checker call (default DefaultCheckTimeout).
	CheckTimeout time.Duration
	// Log receives one line per file, with its name and outcome but no
	// field values. Nil means slog.Default().
	Log *slog.Logger

	seen      map[string]fileState
	recovered bool
}

// fileState is what a poll saw of a file, to tell when writing has stopped.
type fileState struct {
	size int64
	mod  time.Time
}

func (s *Spool) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Run polls Dir every Interval until ctx is done, then returns ctx.Err().
// It returns early only if the directory cannot be prepared.
func (s *Spool) Run(ctx context.Context) error {
	interval := s.Interval
	if interval <= 0 {
		interval = DefaultSpoolInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Poll(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Poll looks at Dir once: on its first call it sends files left in work/ by
// an interrupted run to failed/; then it checks each file that has not
// changed since the previous Poll, and remembers the others. Errors on a
// single file are logged and recorded in failed/; Poll returns an error
// only when the directory itself cannot be used.
func (s *Spool) Poll(ctx context.Context) error {
	for _, sub := range []string{SpoolWork, SpoolDone, SpoolFailed} {
		if err := os.MkdirAll(filepath.Join(s.Dir, sub), 0o750); err != nil {
			return fmt.Errorf("ens: spool: %w", err)
		}
	}
	if !s.recovered {
		if err := s.recover(); err != nil {
			return err
		}
		s.recovered = true
	}
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return fmt.Errorf("ens: spool: %w", err)
	}
	seen := make(map[string]fileState, len(entries))
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".part") || strings.HasSuffix(name, ".tmp") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed since ReadDir
		}
		st := fileState{size: fi.Size(), mod: fi.ModTime()}
		if prev, ok := s.seen[name]; !ok || prev != st {
			seen[name] = st // still being written, or new: look again next time
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.process(ctx, name)
	}
	s.seen = seen
	return nil
}

// recover moves files an interrupted run left in work/ to failed/.
func (s *Spool) recover() error {
	work := filepath.Join(s.Dir, SpoolWork)
	entries, err := os.ReadDir(work)
	if err != nil {
		return fmt.Errorf("ens: spool: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		s.fail(e.Name(), "interrupted while being checked: the check may or may not have been recorded; "+
			"look it up in the audit log and, if it is missing, move this file back into the spool directory")
	}
	return nil
}

// process claims, parses, checks and files one declaration.
func (s *Spool) process(ctx context.Context, name string) {
	work := filepath.Join(s.Dir, SpoolWork, name)
	if err := os.Rename(filepath.Join(s.Dir, name), work); err != nil {
		s.log().Error("ens: spool: cannot claim file", "file", name, "err", err)
		return
	}
	// The claim must be on disk before the Checker sees the declaration,
	// or a crash could leave a checked file in Dir to be checked again.
	if err := syncDirs(s.Dir, filepath.Join(s.Dir, SpoolWork)); err != nil {
		s.log().Error("ens: spool: sync", "err", err)
	}
	var mt string
	switch strings.ToLower(filepath.Ext(name)) {
	case ".xml":
		mt = MediaXML
	case ".json":
		mt = MediaJSON
	default:
		s.fail(name, "unknown file type: want a .xml or .json file")
		return
	}
	f, err := os.Open(work)
	if err != nil {
		s.fail(name, "cannot open: "+err.Error())
		return
	}
	out, err := checkDeclaration(ctx, f, mt, s.Limits, s.Strict, s.Checker, s.deviceName(), s.CheckTimeout)
	f.Close()
	switch {
	case errors.Is(err, ErrChecker):
		s.fail(name, "the checker failed; the check may have been recorded, look it up in the audit log before resubmitting: "+
			strings.TrimPrefix(err.Error(), ErrChecker.Error()+": "))
		return
	case err != nil:
		s.fail(name, reasonText("refused", err))
		return
	}
	c, res, verr := out.check, out.result, out.faults
	target := uniqueName(filepath.Join(s.Dir, SpoolDone), name)
	if verr != nil {
		if err := writeReason(filepath.Join(s.Dir, SpoolDone), target, reasonText("checked without these fields", verr)); err != nil {
			s.log().Error("ens: spool: cannot write reason", "file", name, "err", err)
		}
	}
	if err := s.move(name, SpoolDone, target); err != nil {
		s.log().Error("ens: spool: cannot file checked declaration", "file", name, "err", err)
		return
	}
	s.log().Info("ens: spool: checked", "file", name, "check", c.ID, "items", len(c.Items), "hits", len(res.Hits), "faults", countFaults(verr))
}

func (s *Spool) deviceName() string {
	if s.Device != "" {
		return s.Device
	}
	return "ens"
}

// fail writes <name>.reason into failed/ and moves work/<name> there.
func (s *Spool) fail(name, reason string) {
	dir := filepath.Join(s.Dir, SpoolFailed)
	target := uniqueName(dir, name)
	if err := writeReason(dir, target, reason); err != nil {
		s.log().Error("ens: spool: cannot write reason", "file", name, "err", err)
	}
	if err := s.move(name, SpoolFailed, target); err != nil {
		s.log().Error("ens: spool: cannot file refused declaration", "file", name, "err", err)
		return
	}
	s.log().Warn("ens: spool: failed", "file", name, "to", filepath.Join(SpoolFailed, target))
}

// move renames work/<name> to <sub>/<target> and syncs both directories.
func (s *Spool) move(name, sub, target string) error {
	if err := os.Rename(filepath.Join(s.Dir, SpoolWork, name), filepath.Join(s.Dir, sub, target)); err != nil {
		return err
	}
	return syncDirs(filepath.Join(s.Dir, SpoolWork), filepath.Join(s.Dir, sub))
}

// uniqueName returns name, or name.1, name.2 ... if dir already holds it
// (a sender may reuse file names).
func uniqueName(dir, name string) string {
	candidate := name
	for i := 1; ; i++ {
		if _, err := os.Lstat(filepath.Join(dir, candidate)); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Lstat(filepath.Join(dir, candidate+".reason")); errors.Is(err, os.ErrNotExist) {
				return candidate
			}
		}
		candidate = name + "." + strconv.Itoa(i)
	}
}

// writeReason writes <target>.reason in dir atomically.
func writeReason(dir, target, reason string) error {
	return atomicfile.WriteFile(filepath.Join(dir, target+".reason"), []byte(reason+"\n"), 0o600)
}

// reasonText renders an error for a reason file, one fault per line.
func reasonText(what string, err error) string {
	var ve *ValidationError
	if errors.As(err, &ve) {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %d fault(s)\n", what, len(ve.Errors))
		for _, f := range ve.Errors {
			b.WriteString(f.Error())
			b.WriteByte('\n')
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	return what + ": " + err.Error()
}

func countFaults(err error) int {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return len(ve.Errors)
	}
	return 0
}

// syncDirs flushes directory entries, so renames survive a power loss.
func syncDirs(dirs ...string) error {
	var errs []error
	for _, d := range dirs {
		errs = append(errs, atomicfile.SyncDir(d))
	}
	return errors.Join(errs...)
}
