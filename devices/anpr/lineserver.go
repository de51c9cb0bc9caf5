package anpr

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/internal/connlimit"
)

// LineServer defaults, used where a field is left zero.
const (
	DefaultIdleTimeout       = 5 * time.Minute
	DefaultLineTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultMaxConns          = 32
	DefaultMaxConnsPerSource = 4
	DefaultMaxErrorsInRow    = 20
	DefaultReadsPerSecond    = 50
)

// LineServer serves the ANPR line protocol (see ParseLine and README.md)
// on a net.Listener. Each connection is one camera: it sends one read per
// line and gets one reply line per read, in order:
//
//	OK <check id> <number of hits>[ corrected <plate>]
//	ERR <reason>
//
// A refused line is answered with ERR and the connection stays open, unless
// MaxErrorsInRow lines in a row were refused: then it is answered, told and
// closed. Lines are at most MaxLineBytes; a longer line is answered with ERR
// and skipped, and a connection that sends more than 64 lines' worth without
// a line ending is closed. Blank lines are ignored (keep-alives). A
// connection idle for IdleTimeout, or taking longer than LineTimeout to
// finish a line it started, is told and closed; one that sends faster than
// ReadsPerSecond is slowed down (TCP pushes back), not cut off. Beyond
// MaxConns connections, or MaxConnsPerSource from one address, a new one
// is told "ERR busy" and closed, so that one host holding idle connections
// cannot lock out the other cameras.
//
// Set the fields before Serve and do not change them afterwards.
type LineServer struct {
	// Checker receives one Check per accepted read. Required.
	Checker devices.Checker
	// Device is Check.Device for every read from this listener.
	Device string
	// IdleTimeout bounds the wait for the next line; zero means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// LineTimeout bounds reading one line once its first byte arrived;
	// zero means DefaultLineTimeout.
	LineTimeout time.Duration
	// WriteTimeout bounds writing one reply; zero means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// MaxConns bounds open connections; zero means DefaultMaxConns.
	MaxConns int
	// MaxConnsPerSource bounds open connections from one IP address; zero
	// means DefaultMaxConnsPerSource, and it is never more than MaxConns.
	MaxConnsPerSource int
	// MaxErrorsInRow is how many refused lines in a row close a
	// connection; zero means DefaultMaxErrorsInRow.
	MaxErrorsInRow int
	// ReadsPerSecond is the sustained rate of reads per connection, with
	// bursts of as many; zero means DefaultReadsPerSecond, negative means
	// no limit.
	ReadsPerSecond float64
	// Logger receives connection events (never plates); nil means
	// slog.Default().
	Logger *slog.Logger

	now func() time.Time // time.Now unless a test sets it
}

// Serve accepts connections on ln and serves each until ctx is done, then
// closes ln, stops reading from every connection, lets each finish the read
// in hand and reply, closes them, and returns nil. Failed accepts (such as
// running out of file descriptors) are retried with a back-off; if ln is
// closed by someone else, Serve closes its connections the same way and
// returns the error. Serve closes ln in every case.
func (s *LineServer) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	maxConns := orInt(s.MaxConns, DefaultMaxConns)
	slots := connlimit.New(maxConns, orInt(s.MaxConnsPerSource, DefaultMaxConnsPerSource))
	var wg sync.WaitGroup
	defer wg.Wait()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				cancel()
				return fmt.Errorf("anpr: accept: %w", err)
			}
			// Out of file descriptors and the like: wait and go on, as
			// net/http does, rather than spin or stop serving the
			// cameras already connected.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.logger().Warn("anpr: accept failed, retrying", "err", err, "in", backoff)
			if !sleepCtx(ctx, backoff) {
				return nil
			}
			continue
		}
		backoff = 0
		release, err := slots.Acquire(conn.RemoteAddr())
		if err != nil {
			s.logger().Warn("anpr: connection refused", "remote", conn.RemoteAddr().String(), "reason", err.Error())
			_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(conn, "ERR busy: "+err.Error()+"\n")
			conn.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Free the slot before closing, so that a client which sees
			// its connection closed may connect again at once.
			defer conn.Close()
			defer release()
			s.serveConn(ctx, conn)
		}()
	}
}

func (s *LineServer) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func orDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// errLineTooLong and errFlood are what readLine reports about a line that
// does not end in time.
var (
	errLineTooLong = fmt.Errorf("line: %w: more than %d bytes", ErrTooLarge, MaxLineBytes)
	errFlood       = errors.New("flood: no line ending")
)

// serveConn runs one connection until the client leaves, misbehaves or ctx
// is done; the caller closes conn.
func (s *LineServer) serveConn(ctx context.Context, conn net.Conn) {
	remote := conn.RemoteAddr().String()
	log := s.logger().With("remote", remote)
	// Unblock a read in progress when the server stops; the loop then sees
	// ctx done and leaves after its reply.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()
	now := s.now
	if now == nil {
		now = time.Now
	}
	var (
		idle      = orDur(s.IdleTimeout, DefaultIdleTimeout)
		lineTime  = orDur(s.LineTimeout, DefaultLineTimeout)
		writeTime = orDur(s.WriteTimeout, DefaultWriteTimeout)
		maxErrs   = orInt(s.MaxErrorsInRow, DefaultMaxErrorsInRow)
		br        = bufio.NewReaderSize(conn, MaxLineBytes+2)
		bw        = bufio.NewWriterSize(conn, 256)
		budget    = newReadBudget(s.ReadsPerSecond, now())
		errsInRow int
	)
	reply := func(msg string) bool {
		_ = conn.SetWriteDeadline(time.Now().Add(writeTime))
		bw.WriteString(msg)
		bw.WriteByte('\n')
		return bw.Flush() == nil
	}
	// setRead sets a read deadline and reports whether to go on. Checking
	// ctx after setting it means the AfterFunc's deadline cannot be lost.
	setRead := func(d time.Duration) bool {
		_ = conn.SetReadDeadline(time.Now().Add(d))
		return ctx.Err() == nil
	}
	for setRead(idle) {
		if _, err := br.Peek(1); err != nil {
			if isTimeout(err) && ctx.Err() == nil {
				log.Debug("anpr: connection idle, closing")
				reply("ERR idle timeout, closing")
			}
			return
		}
		if !setRead(lineTime) {
			return
		}
		line, err := readLine(br)
		last := errors.Is(err, io.EOF) // an unterminated last line
		switch {
		case errors.Is(err, errFlood):
			log.Warn("anpr: connection flooding without line endings, closing")
			reply("ERR " + errLineTooLong.Error() + ", closing")
			return
		case isTimeout(err):
			if ctx.Err() == nil {
				reply("ERR line not finished in time, closing")
			}
			return
		case last && len(line) == 0:
			return
		case err != nil && !last && !errors.Is(err, errLineTooLong):
			return // the connection failed
		}
		if err == nil || last {
			if len(strings.Trim(string(line), " \r")) == 0 {
				if last {
					return
				}
				continue // a keep-alive
			}
		}
		var msg string
		var refused bool
		if errors.Is(err, errLineTooLong) {
			msg, refused = "ERR "+errLineTooLong.Error(), true
		} else {
			if wait := budget.take(now()); wait > 0 && !sleepCtx(ctx, wait) {
				return
			}
			// The read in hand is checked even while the server stops, so
			// that what the Checker recorded is also what the camera hears;
			// lineTime bounds a Checker that hangs.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lineTime)
			msg, refused = s.handleLine(cctx, line, now())
			cancel()
		}
		if refused {
			errsInRow++
		} else {
			errsInRow = 0
		}
		if errsInRow >= maxErrs {
			log.Warn("anpr: too many refused lines in a row, closing", "count", errsInRow)
			reply(msg)
			reply("ERR too many errors in a row, closing")
			return
		}
		if !reply(msg) || last {
			return
		}
	}
}

// handleLine parses and checks one line and returns the reply, and whether
// the line was refused (which counts towards MaxErrorsInRow; a Checker
// failure does not, it is not the camera's fault).
func (s *LineServer) handleLine(ctx context.Context, line []byte, now time.Time) (reply string, refused bool) {
	r, err := ParseLine(line)
	if err != nil {
		return "ERR " + oneLine(err.Error()), true
	}
	c, err := r.Check(s.Device, now)
	if err != nil {
		return "ERR " + oneLine(err.Error()), true
	}
	res, err := s.Checker.Check(ctx, c)
	if err != nil {
		s.logger().Error("anpr: check failed", "device", c.Device, "err", err)
		return "ERR " + ErrCheck.Error(), false
	}
	it := c.Items[0]
	msg := "OK " + oneLine(res.CheckID) + " " + strconv.Itoa(len(res.Hits))
	if it.Correction != "" {
		msg += " corrected " + it.Value
	}
	return msg, false
}

// readLine returns the next line without its '\n'. A line longer than
// MaxLineBytes is read to its end and dropped (errLineTooLong), unless no
// line ending comes within 64 lines' worth (errFlood). At the end of input
// the last, unterminated line comes with io.EOF.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == nil {
		return line[:len(line)-1], nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, err
	}
	for skipped := len(line); skipped < 64*MaxLineBytes; {
		line, err = br.ReadSlice('\n')
		skipped += len(line)
		switch {
		case err == nil:
			return nil, errLineTooLong
		case !errors.Is(err, bufio.ErrBufferFull):
			return nil, err
		}
	}
	return nil, errFlood
}

// oneLine keeps a reply on one line whatever an error says.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// sleepCtx waits for d or until ctx is done, reporting whether it waited
// the whole time.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// readBudget is a token bucket: rate reads per second, bursts of up to
// rate reads. A negative rate means no limit.
type readBudget struct {
	rate   float64
	tokens float64
	last   time.Time
}

func newReadBudget(rate float64, now time.Time) *readBudget {
	if rate == 0 {
		rate = DefaultReadsPerSecond
	}
	return &readBudget{rate: rate, tokens: max(rate, 1), last: now}
}

// take spends one token and returns how long to wait before the read may
// be handled (zero when a token was there).
func (b *readBudget) take(now time.Time) time.Duration {
	if b.rate < 0 {
		return 0
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(max(b.rate, 1), b.tokens+el*b.rate)
	}
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}
