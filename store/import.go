package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	gojson "github.com/goccy/go-json"
)

// importChunk is the number of alerts per snapshot transaction during an
// import: about what bbolt digests well with random keys.
const importChunk = 10000

// maxImportLine bounds one line of an import file.
const maxImportLine = 1 << 20

// ImportHeader is the optional first line of an import file, naming the
// state central's stream is at (see README.md). Without it the imported
// set gets cursor epoch 0, sequence 0.
type ImportHeader struct {
	Epoch  uint64 `json:"epoch"`
	Seq    uint64 `json:"seq"`
	Hash   string `json:"hash,omitempty"`   // 64 hex digits: hash of change Seq
	Digest string `json:"digest,omitempty"` // 64 hex digits: the set's digest, verified
	Count  int    `json:"count,omitempty"`  // number of alerts, for progress only
}

// ImportProgress is reported after each chunk of an import.
type ImportProgress struct {
	Records int   // alert lines read so far
	Bytes   int64 // bytes read so far
	Total   int   // alert count announced by the header, 0 if unknown
}

// ImportResult describes a finished import.
type ImportResult struct {
	Records int    // alert lines read
	Alerts  int    // distinct alerts now held (a repeated ID counts once)
	Cursor  Cursor // the replica's cursor after the import
}

// Import replaces the replica's alert set with the alerts in r, in the
// JSON Lines format of README.md (an optional header line, then one Alert
// per line), through a snapshot: nothing changes unless every line is
// valid and, when the header gives one, the digest matches. It calls
// progress, if not nil, after each chunk. Errors name the line; they
// never quote its content.
func Import(ctx context.Context, r io.Reader, rep *Replica, progress func(ImportProgress)) (ImportResult, error) {
	return importWith(ctx, r, rep, progress, importChunk)
}

func importWith(ctx context.Context, r io.Reader, rep *Replica, progress func(ImportProgress), chunk int) (ImportResult, error) {
	var res ImportResult
	cr := &countingReader{r: r}
	br := bufio.NewReaderSize(cr, 1<<16)
	var hdr *ImportHeader
	var pending []rawLine
	var snap *Snapshot
	line := 0
	defer func() {
		if snap != nil {
			snap.Abort()
		}
	}()
	begin := func() error {
		h := ImportHeader{}
		if hdr != nil {
			h = *hdr
		}
		var hash [32]byte
		if h.Hash != "" {
			b, _ := hex.DecodeString(h.Hash)
			copy(hash[:], b)
		}
		var err error
		snap, err = rep.BeginSnapshot(h.Epoch, h.Seq, hash)
		return err
	}
	flush := func() error {
		if snap == nil {
			if err := begin(); err != nil {
				return err
			}
		}
		if len(pending) == 0 {
			return nil
		}
		alerts, err := parseLines(pending)
		if err != nil {
			return err
		}
		if err := snap.Add(ctx, alerts); err != nil {
			return err
		}
		pending = pending[:0]
		if progress != nil {
			p := ImportProgress{Records: res.Records, Bytes: cr.n}
			if hdr != nil {
				p.Total = hdr.Count
			}
			progress(p)
		}
		return nil
	}
	for {
		b, err := readLine(br)
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			return res, fmt.Errorf("%w: line %d: %w", ErrImportFormat, line, err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if line == 1 {
			h, _, err := ParseImportLine(b, true)
			if err != nil {
				return res, fmt.Errorf("line %d: %w", line, err)
			}
			if h != nil {
				hdr = h
				continue
			}
		}
		pending = append(pending, rawLine{line, b})
		res.Records++
		if len(pending) == chunk {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if res.Records == 0 && hdr == nil {
		return res, fmt.Errorf("%w: no alerts in the file; an empty set must be stated by a header line with count 0", ErrImportFormat)
	}
	if err := flush(); err != nil {
		return res, err
	}
	want := snap.Digest()
	if hdr != nil && hdr.Digest != "" {
		d, err := ParseDigest(hdr.Digest)
		if err != nil {
			return res, fmt.Errorf("%w: header digest: %w", ErrImportFormat, err)
		}
		want = d
	}
	res.Alerts = snap.Count()
	s := snap
	snap = nil
	if err := s.Commit(ctx, want); err != nil {
		return res, err
	}
	cur, err := rep.Cursor()
	res.Cursor = cur
	return res, err
}

type rawLine struct {
	n int
	b []byte
}

// parseLines decodes a chunk of alert lines on every core, since JSON
// decoding is most of an import's work, and returns them in order or the
// error of the first bad line.
func parseLines(lines []rawLine) ([]Alert, error) {
	out := make([]Alert, len(lines))
	errs := make([]error, len(lines))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(lines)/256))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(lines); i += workers {
				_, a, err := ParseImportLine(lines[i].b, false)
				if err != nil {
					errs[i] = fmt.Errorf("line %d: %w", lines[i].n, err)
					continue
				}
				out[i] = *a
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readLine returns the next line without its end, refusing lines longer
// than maxImportLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		part, isPrefix, err := br.ReadLine()
		if err != nil {
			if err == io.EOF && buf != nil {
				return buf, nil
			}
			return nil, err
		}
		buf = append(buf, part...)
		if len(buf) > maxImportLine {
			return nil, fmt.Errorf("longer than %d bytes", maxImportLine)
		}
		if !isPrefix {
			return buf, nil
		}
	}
}

// ParseImportLine decodes one line of an import file as Import does: the
// header (allowed on the first line only) or an alert, strictly (unknown
// fields are refused) and validated. Its errors never quote the line: a
// line holds names and document numbers. Other readers of alert files
// (`borderpost screen --alerts`) use it so that a file means the same to
// every command.
func ParseImportLine(b []byte, first bool) (*ImportHeader, *Alert, error) {
	if first && bytes.Contains(b, []byte(`"snapshot"`)) {
		var h struct {
			Snapshot *ImportHeader `json:"snapshot"`
		}
		if err := strictUnmarshal(b, &h); err == nil && h.Snapshot != nil {
			if err := h.Snapshot.validate(); err != nil {
				return nil, nil, err
			}
			return h.Snapshot, nil, nil
		}
	}
	var a Alert
	if err := strictUnmarshal(b, &a); err != nil {
		return nil, nil, fmt.Errorf("%w: %s", ErrImportFormat, jsonErrorText(err))
	}
	if err := a.Validate(); err != nil {
		return nil, nil, err
	}
	return nil, &a, nil
}

func (h *ImportHeader) validate() error {
	if h.Hash != "" {
		if b, err := hex.DecodeString(h.Hash); err != nil || len(b) != 32 {
			return fmt.Errorf("%w: header hash must be 64 hexadecimal digits", ErrImportFormat)
		}
	}
	if h.Digest != "" {
		if _, err := ParseDigest(h.Digest); err != nil {
			return fmt.Errorf("%w: header digest must be 64 hexadecimal digits", ErrImportFormat)
		}
	}
	if h.Count < 0 {
		return fmt.Errorf("%w: header count is negative", ErrImportFormat)
	}
	return nil
}

func strictUnmarshal(b []byte, v any) error {
	// goccy/go-json decodes an alert line in a third of encoding/json's
	// time (2.0 against 5.6 µs, 1,000-line benchmark): at 100 million
	// alerts, minutes of an import. It is lenient on syntax (it reads
	// "nul" as null), so the standard library's scanner says first what
	// is JSON; FuzzStrictDecodersAgree holds the pair to encoding/json's
	// answers, which the rest of the agent uses.
	if !json.Valid(b) {
		return stdStrictUnmarshal(b, v) // for encoding/json's error
	}
	d := gojson.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return decodeOne(d, v)
}

// stdStrictUnmarshal is strictUnmarshal on encoding/json.
func stdStrictUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return decodeOne(d, v)
}

// decodeOne decodes the one JSON value a line must hold into v.
func decodeOne(d interface {
	Decode(any) error
	More() bool
}, v any) error {
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}

// jsonErrorText describes a decoding error by position and field, never
// by the value that failed (it may be a name or a document number).
func jsonErrorText(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var gsyn *gojson.SyntaxError
	var gtyp *gojson.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &gsyn):
		return fmt.Sprintf("malformed JSON at byte %d", gsyn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be %s", typ.Field, typ.Type)
	case errors.As(err, &gtyp):
		return fmt.Sprintf("field %q must be %s", gtyp.Field, gtyp.Type)
	}
	var tp *time.ParseError
	if errors.As(err, &tp) {
		return "a time must be written as RFC 3339, e.g. 2026-11-27T04:00:00Z"
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") || err == io.ErrUnexpectedEOF {
		return msg
	}
	return "not a valid alert object"
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
