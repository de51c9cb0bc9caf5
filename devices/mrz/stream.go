package mrz

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/borderpost/borderpost/devices"
	"github.com/borderpost/borderpost/devices/internal/connlimit"
)

// StreamServer reads zones as MRZ readers send them over TCP or a
// serial-to-TCP link: one zone line per text line ("\n" or "\r\n"). Two or
// three consecutive lines of one zone length (30, 36, 44) make a document;
// a blank line, or a line of another length, drops an unfinished one. For
// every document it writes back one line,
//
//	OK <check id> <number of hits>
//	ERR <reason>
//
// and also "ERR <reason>" for each dropped document and each line no zone
// has. A line over MaxLine ends the connection after its ERR, as does
// silence: IdleTimeout between documents, ReadTimeout for each line once
// its first byte arrived (however slowly the rest trickles in). At most
// MaxConns connections are served at once, and MaxConnsPerSource from one
// IP address, so that one host holding idle connections cannot lock out
// the other readers; others get "ERR busy" and are closed. Set Checker before use; zero values of the other fields take the
// defaults.
type StreamServer struct {
	Checker      devices.Checker
	Device, Lane string // named in every Check
	MaxLine      int    // bytes per line, terminator excluded; 0 means DefaultMaxLine
	MaxConns     int    // 0 means DefaultMaxConns
	// MaxConnsPerSource bounds connections from one IP address; 0 means
	// DefaultMaxConnsPerSource, and it is never more than MaxConns.
	MaxConnsPerSource int
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
	WriteTimeout      time.Duration
	// Now gives the time of each Check and the reference for two-digit
	// years; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger // nil means slog.Default()
}

// NewStreamServer returns a StreamServer for checker configured from c.
func NewStreamServer(checker devices.Checker, c Config, logger *slog.Logger) *StreamServer {
	return &StreamServer{
		Checker: checker, Device: c.Device, Lane: c.Lane,
		MaxLine: c.MaxLine, MaxConns: c.MaxConns, MaxConnsPerSource: c.MaxConnsPerSource,
		ReadTimeout: c.ReadTimeout, IdleTimeout: c.IdleTimeout, WriteTimeout: c.WriteTimeout,
		Logger: logger,
	}
}

// Serve accepts connections on l until ctx is done, then closes l, ends
// every connection and returns nil once all have finished. A check in
// flight at that moment sees the cancelled context. Serve returns an error
// if l fails otherwise; it closes l in every case.
func (s *StreamServer) Serve(ctx context.Context, l net.Listener) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = make(map[net.Conn]struct{})
		slots = connlimit.New(orDefault(s.MaxConns, DefaultMaxConns), orDefault(s.MaxConnsPerSource, DefaultMaxConnsPerSource))
	)
	// Deferred in this order so that on any return the context is cancelled
	// first, which ends every connection, and then Serve waits for them.
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// On shutdown, unblock Accept and every pending read at once.
	context.AfterFunc(ctx, func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			c.SetDeadline(time.Now())
		}
	})

	backoff := time.Duration(0)
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("mrz: stream listener closed: %w", err)
			}
			// Out of file descriptors and the like: wait, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.logger().Warn("mrz: accept failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		release, err := slots.Acquire(c.RemoteAddr())
		if err != nil {
			s.logger().Warn("mrz: connection refused", "remote", c.RemoteAddr().String(), "reason", err.Error())
			c.SetWriteDeadline(time.Now().Add(orDefault(s.WriteTimeout, DefaultWriteTimeout)))
			io.WriteString(c, "ERR busy: "+err.Error()+"\n")
			c.Close()
			continue
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			c.Close()
			release()
			return nil
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer release()
			defer func() {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				c.Close()
			}()
			defer func() {
				// A bug reached by one reader's input must not take the
				// agent down with the other readers.
				if p := recover(); p != nil {
					s.logger().Error("mrz: connection handler panicked", "remote", c.RemoteAddr().String(), "panic", fmt.Sprint(p))
				}
			}()
			s.serveConn(ctx, c)
		}()
	}
}

// serveConn reads lines from c and answers each document until the peer
// closes, misbehaves, falls silent or ctx is done.
func (s *StreamServer) serveConn(ctx context.Context, c net.Conn) {
	var (
		maxLine = orDefault(s.MaxLine, DefaultMaxLine)
		read    = orDefault(s.ReadTimeout, DefaultReadTimeout)
		idle    = orDefault(s.IdleTimeout, DefaultIdleTimeout)
		write   = orDefault(s.WriteTimeout, DefaultWriteTimeout)
		log     = s.logger().With("transport", "stream", "remote", c.RemoteAddr().String())
		br      = bufio.NewReaderSize(c, maxLine+2) // room for "\r\n"
		pending []string
	)
	reply := func(line string) bool {
		c.SetWriteDeadline(time.Now().Add(write))
		_, err := io.WriteString(c, line+"\n")
		return err == nil
	}
	refuse := func(err error) bool {
		log.Info("mrz: refused", "kind", kind(err), "field", fieldOf(err))
		return reply("ERR " + oneLine(strings.TrimPrefix(err.Error(), "mrz: ")))
	}
	// drop answers for an unfinished document.
	drop := func() bool {
		if len(pending) == 0 {
			return true
		}
		err := fmt.Errorf("%w: got %d of %d lines of %d characters", ErrIncomplete, len(pending), Rows(len(pending[0])), len(pending[0]))
		pending = pending[:0]
		return refuse(err)
	}
	log.Debug("mrz: reader connected")
	defer log.Debug("mrz: reader disconnected")
	for {
		// Between documents wait up to idle for a line to begin; once it
		// has (or within a document), the deadline is absolute, so it
		// bounds a whole line however slowly its bytes trickle in.
		if len(pending) > 0 {
			c.SetReadDeadline(time.Now().Add(read))
		} else {
			c.SetReadDeadline(time.Now().Add(idle))
		}
		if ctx.Err() != nil { // after the deadline: Serve's may have been overwritten
			return
		}
		if len(pending) == 0 && br.Buffered() == 0 {
			if _, err := br.Peek(1); err == nil {
				c.SetReadDeadline(time.Now().Add(read))
				if ctx.Err() != nil {
					return
				}
			}
		}
		raw, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			refuse(fmt.Errorf("%w: line longer than %d bytes; closing", ErrLine, maxLine))
			return
		case err != nil && !errors.Is(err, io.EOF):
			var ne net.Error
			if ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() {
				if len(pending) > 0 || len(raw) > 0 {
					refuse(fmt.Errorf("%w: read timeout within a document; closing", ErrIncomplete))
				} else {
					reply("ERR idle timeout; closing")
				}
			}
			return
		}
		eof := err != nil
		if eof && len(raw) == 0 {
			drop()
			return
		}
		line := strings.Trim(string(raw), " \t\r\n")
		if len(line) > maxLine {
			refuse(fmt.Errorf("%w: line longer than %d bytes; closing", ErrLine, maxLine))
			return
		}
		if !s.take(ctx, line, &pending, reply, refuse, drop) || eof {
			if eof {
				drop()
			}
			return
		}
	}
}

// take adds one line to the document being assembled and answers the
// document once it is complete. It returns false when the connection
// should end because a reply could not be written.
func (s *StreamServer) take(ctx context.Context, line string, pending *[]string, reply func(string) bool, refuse func(error) bool, drop func() bool) bool {
	if line == "" {
		return drop()
	}
	rows := Rows(len(line))
	if rows == 0 {
		return drop() && refuse(fmt.Errorf("%w: line of %d characters; a zone has lines of 30, 36 or 44", ErrLine, len(line)))
	}
	if len(*pending) > 0 && len((*pending)[0]) != len(line) && !drop() {
		return false
	}
	*pending = append(*pending, line)
	if len(*pending) < rows {
		return true
	}
	lines := *pending
	*pending = nil
	at := s.now()
	doc, err := Parse(lines, at)
	if err != nil {
		return refuse(err)
	}
	res, err := s.Checker.Check(ctx, doc.Check(s.Device, s.Lane, at))
	if err != nil {
		s.logger().Error("mrz: checker failed", "transport", "stream", "err", err)
		return refuse(ErrCheck)
	}
	id := res.CheckID
	if id == "" {
		id = "-"
	}
	return reply(fmt.Sprintf("OK %s %d", oneWord(id), len(res.Hits)))
}

func (s *StreamServer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *StreamServer) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// oneLine keeps a reply on one line whatever an error says.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// oneWord keeps a check ID from splitting the OK reply.
func oneWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, s)
}

func fieldOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}
