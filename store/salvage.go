package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SalvageReport says what SalvageOutbox found in a damaged file.
type SalvageReport struct {
	// Exact is true when the file's tree was intact and the outbox was
	// read through it; false when pages were scanned one by one, which
	// may also find hits central already acknowledged (central stores
	// each hit once, so sending them again is harmless).
	Exact bool `json:"exact"`
	// Entries is the number of hits and officers' outcomes recovered.
	Entries int `json:"entries"`
	// Pages is the number of pages read.
	Pages int `json:"pages"`
}

// SalvageOutbox reads the hits and outcomes waiting for central from the
// replica file at path, its journal (JournalPath) and the journal's log
// (WALPath), any of which may be damaged: through a file's tree when that is intact, otherwise page by
// page, keeping every outbox record that authenticates under the data key.
// It only reads the files. It returns the entries in their old outbox
// order; it fails only when the replica cannot be read or the key opens
// nothing in the files.
func SalvageOutbox(ctx context.Context, path string, kp KeyProvider) ([]Hit, SalvageReport, error) {
	var rep SalvageReport
	key, err := dataKey(ctx, kp)
	if err != nil {
		return nil, rep, err
	}
	defer clear(key)
	meta, outbox, err := salvageRecords(ctx, path, &rep)
	if err != nil {
		return nil, rep, err
	}
	if _, err := os.Stat(JournalPath(path)); err == nil {
		jrep := SalvageReport{}
		jmeta, jout, err := salvageRecords(ctx, JournalPath(path), &jrep)
		if err != nil {
			return nil, rep, err
		}
		meta, outbox = append(meta, jmeta...), append(outbox, jout...)
		rep.Exact, rep.Pages = rep.Exact && jrep.Exact, rep.Pages+jrep.Pages
	}
	// The journal's log: checks answered that the mover had not yet
	// moved into the journal when the files were damaged or the process
	// killed.
	var frames []walSalvaged
	if data, err := os.ReadFile(WALPath(path)); err == nil {
		frames = salvageWAL(data)
	}
	ks := salvageKeys(key, meta)
	if len(ks) == 0 {
		return nil, rep, fmt.Errorf("salvage %s: the data key opens nothing in this file (another key, or its key records are lost): no hits can be recovered from it", path)
	}
	seen := map[string]bool{}
	type entry struct {
		seq uint64
		h   Hit
	}
	var found []entry
	for _, kv := range outbox {
		if len(kv[0]) != 8 {
			continue
		}
		plain, err := ks.open(bucketOutbox, kv[0], kv[1])
		if err != nil {
			continue
		}
		var h Hit
		if json.Unmarshal(plain, &h) != nil || h.ID == "" || seen[h.ID] {
			continue
		}
		seen[h.ID] = true
		found = append(found, entry{binary.BigEndian.Uint64(kv[0]), h})
	}
	for _, fr := range frames {
		plain, err := ks.open(bucketWAL, walFrameKey(fr.epoch, fr.off), fr.body)
		if err != nil {
			continue
		}
		var b walBody
		if json.Unmarshal(plain, &b) != nil {
			continue
		}
		for _, h := range b.Hits {
			if h.ID == "" || seen[h.ID] {
				continue
			}
			seen[h.ID] = true
			found = append(found, entry{h.Seq, h})
		}
	}
	slices.SortStableFunc(found, func(a, b entry) int { return cmpU64(a.seq, b.seq) })
	hits := make([]Hit, len(found))
	for i, e := range found {
		hits[i] = e.h
	}
	rep.Entries = len(hits)
	return hits, rep, nil
}

// walSalvaged is a whole frame found in a journal log by salvageWAL.
type walSalvaged struct {
	epoch uint64
	off   int64
	body  []byte
}

// salvageWAL finds every whole frame of a journal log, of any epoch: it
// reads frames in a row where one starts, and looks for the next frame's
// magic byte by byte where a run ends (the laps before the last one start
// anywhere). Hits in frames the journal already held, or central already
// acknowledged, come again; central stores each hit once.
func salvageWAL(data []byte) []walSalvaged {
	var found []walSalvaged
	for off := int64(walHeaderSize); off <= int64(len(data))-walFrameHead; {
		epoch := binary.BigEndian.Uint64(data[off+8:])
		if body, next, ok := walFrame(data, off, epoch); ok {
			found = append(found, walSalvaged{epoch, off, body})
			off = next
			continue
		}
		off++
	}
	return found
}

// salvageRecords reads the meta and outbox records of the bbolt file at
// path, through its tree if intact, otherwise every record of every leaf.
func salvageRecords(ctx context.Context, path string, rep *SalvageReport) (meta, outbox [][2][]byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("salvage %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("salvage %s: %w", path, err)
	}
	if bf, err := openBoltFile(f, fi.Size()); err == nil {
		err = bf.check(func(p [][]byte, k, v []byte) {
			switch {
			case len(p) == 1 && bytes.Equal(p[0], bucketMeta):
				meta = append(meta, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
			case len(p) == 1 && bytes.Equal(p[0], bucketOutbox):
				outbox = append(outbox, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
			}
		})
		rep.Exact = err == nil
		rep.Pages = int(bf.meta.hwm)
	}
	if !rep.Exact {
		// Every record of every page that looks like a leaf: the outbox's
		// and the meta bucket's are told apart below by their keys and by
		// authentication, so a stray record can only be skipped.
		var all [][2][]byte
		rep.Pages, err = scanLeaves(ctx, f, fi.Size(), func(k, v []byte) { all = append(all, [2][]byte{bytes.Clone(k), bytes.Clone(v)}) })
		if err != nil {
			return nil, nil, fmt.Errorf("salvage %s: %w", path, err)
		}
		meta, outbox = all, all
	}
	return meta, outbox, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// salvageKeys derives the keyrings of every key generation whose check
// value, among the records given, matches key under one of the salts
// found.
func salvageKeys(key []byte, recs [][2][]byte) keyset {
	var salts [][]byte
	type check struct {
		gen uint32
		v   []byte
	}
	var checks []check
	for _, kv := range recs {
		k := string(kv[0])
		switch {
		case k == string(metaSalt) && len(kv[1]) == 32:
			salts = append(salts, kv[1])
		case k == string(metaKeyCheck):
			checks = append(checks, check{1, kv[1]})
		case strings.HasPrefix(k, "keycheck."):
			if g, err := strconv.ParseUint(strings.TrimPrefix(k, "keycheck."), 10, 32); err == nil {
				checks = append(checks, check{uint32(g), kv[1]})
			}
		}
	}
	ks := keyset{}
	for _, s := range salts {
		for _, c := range checks {
			if ks[c.gen] != nil {
				continue
			}
			if ring, err := newKeyring(key, s, c.gen); err == nil && hmac.Equal(ring.check(), c.v) {
				ks[c.gen] = ring
			}
		}
	}
	return ks
}

// scanLeaves reads the file page by page (4 KiB pages unless a valid meta
// says otherwise) and calls fn with every key and value of every page that
// parses as a leaf, inline buckets included, skipping whatever does not
// fit. It returns the number of pages read.
func scanLeaves(ctx context.Context, r io.ReaderAt, size int64, fn func(k, v []byte)) (int, error) {
	ps := 4096
	buf := make([]byte, 4096)
	if n, _ := r.ReadAt(buf, 0); n > 0 {
		if m, err := parseMeta(buf[:n]); err == nil {
			ps = int(m.pageSize)
		}
	}
	pages := 0
	page := make([]byte, ps)
	for off := int64(2 * ps); off+int64(boltPageHeader) <= size; off += int64(ps) {
		if pages%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return pages, err
			}
		}
		n, err := r.ReadAt(page, off)
		if n < boltPageHeader {
			if err != nil && !errors.Is(err, io.EOF) {
				return pages, err
			}
			break
		}
		pages++
		p := page[:n]
		if le.Uint16(p[8:]) != boltLeafPage {
			continue
		}
		if over := int64(le.Uint32(p[12:])); over > 0 && over < 1<<16 && off+(over+1)*int64(ps) <= size {
			big := make([]byte, (over+1)*int64(ps))
			if m, _ := r.ReadAt(big, off); m == len(big) {
				p = big
			}
		}
		scanLeaf(p, 0, fn)
	}
	return pages, nil
}

// scanLeaf calls fn with each record of the leaf page p that lies within
// it, descending into inline buckets.
func scanLeaf(p []byte, depth int, fn func(k, v []byte)) {
	if len(p) < boltPageHeader || depth > 8 || le.Uint16(p[8:]) != boltLeafPage {
		return
	}
	count := int(le.Uint16(p[10:]))
	for i := range count {
		e := boltPageHeader + i*boltElement
		if e+boltElement > len(p) {
			return
		}
		pos, ks, vs := int64(le.Uint32(p[e+4:])), int64(le.Uint32(p[e+8:])), int64(le.Uint32(p[e+12:]))
		if int64(e)+pos+ks+vs > int64(len(p)) {
			continue
		}
		k := p[int64(e)+pos : int64(e)+pos+ks]
		v := p[int64(e)+pos+ks : int64(e)+pos+ks+vs]
		if le.Uint32(p[e:])&boltBucketLeaf != 0 {
			if len(v) > boltBucketHeader && le.Uint64(v) == 0 {
				scanLeaf(v[boltBucketHeader:], depth+1, fn)
			}
			continue
		}
		fn(k, v)
	}
}

// RestoreOutbox puts hits and outcomes recovered from a damaged replica
// into this replica's outbox, numbered after what it holds (a rebuilt
// replica numbers them again from 1: central restarts its count for the
// agent, see docs/protocol.md), with an audit record saying where they
// came from, in one transaction. It returns how many it put.
func (r *Replica) RestoreOutbox(ctx context.Context, hits []Hit, from string) (int, error) {
	entries := slices.Clone(hits)
	err := r.jupdate(func(tx *bolt.Tx) error {
		if err := r.putOutbox(tx, entries); err != nil {
			return err
		}
		return r.appendJournalAudit(tx, AuditRecord{Event: EventReplicaRebuilt, Ref: from,
			Detail: fmt.Sprintf("%d hits and outcomes not yet sent to central recovered", len(entries))})
	})
	if err != nil {
		return 0, fmt.Errorf("restore outbox: %w", err)
	}
	return len(entries), nil
}

// RebuildReport says what Rebuild did.
type RebuildReport struct {
	Aside    string        `json:"aside"` // where the damaged file now is
	Salvage  SalvageReport `json:"salvage"`
	Restored int           `json:"restored"` // hits and outcomes in the new outbox
}

// Rebuild replaces the replica file at path: it moves the file aside
// (path.damaged-<UTC time>, kept for investigation, its journal beside it), recovers the hits and
// outcomes not yet sent to central from it (SalvageOutbox), and creates a
// new, empty replica holding them. The agent then fetches the watch list
// from central (a snapshot, as for a new post). The agent must be
// stopped. Without force it refuses a file that passes VerifyFile.
func Rebuild(ctx context.Context, path string, kp KeyProvider, force bool, opt Options) (RebuildReport, error) {
	var rep RebuildReport
	if opt.Now == nil {
		opt.Now = time.Now
	}
	f, err := os.Open(path)
	if err != nil {
		return rep, fmt.Errorf("rebuild: %w", err)
	}
	locked := exclusiveLock(f)
	f.Close()
	if !locked {
		return rep, fmt.Errorf("rebuild: %s is in use: stop the agent first", path)
	}
	jpath := JournalPath(path)
	_, jerr := os.Stat(jpath)
	hasJournal := jerr == nil
	if !force {
		err := VerifyFile(path)
		if err == nil && hasJournal {
			err = VerifyFile(jpath)
		}
		if err == nil {
			return rep, fmt.Errorf("rebuild: %s and its journal pass their check; rebuild it anyway with --force (the watch list is fetched again from central)", path)
		}
	}
	if _, err := dataKey(ctx, kp); err != nil {
		return rep, err
	}
	rep.Aside = path + ".damaged-" + opt.Now().UTC().Format("20060102T150405Z")
	if err := os.Rename(path, rep.Aside); err != nil {
		return rep, fmt.Errorf("rebuild: move %s aside: %w", path, err)
	}
	_ = removeCloseMark(path) // it vouched for the file moved aside; a new file never matches it anyway
	if hasJournal {
		// The journal goes with it: the new replica gets a new one.
		if err := os.Rename(jpath, JournalPath(rep.Aside)); err != nil {
			return rep, fmt.Errorf("rebuild: move %s aside: %w", jpath, err)
		}
	}
	if err := os.Rename(WALPath(path), WALPath(rep.Aside)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return rep, fmt.Errorf("rebuild: move %s aside: %w", WALPath(path), err)
	}
	syncDir(path)
	hits, sr, err := SalvageOutbox(ctx, rep.Aside, kp)
	rep.Salvage = sr
	if err != nil {
		// Nothing recovered, but the post must run again: say so loudly.
		if opt.Logger != nil {
			opt.Logger.Error("no hits recovered from the damaged replica; it is kept for investigation", "file", rep.Aside, "err", err)
		}
	}
	r, err := Open(ctx, path, kp, opt)
	if err != nil {
		return rep, fmt.Errorf("rebuild: create the new replica: %w", err)
	}
	defer r.Close()
	if rep.Restored, err = r.RestoreOutbox(ctx, hits, rep.Aside); err != nil {
		return rep, err
	}
	return rep, nil
}

// syncDir makes a rename in path's directory durable, as far as it can.
func syncDir(path string) {
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
}
