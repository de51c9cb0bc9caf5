package mrz

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startStream serves s on a loopback listener until the test ends.
func startStream(t testing.TB, s *StreamServer) (addr string, stop func() error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.Now == nil {
		s.Now = func() time.Time { return now }
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	var once sync.Once
	var serveErr error
	stop = func() error {
		once.Do(func() { cancel(); serveErr = <-done })
		return serveErr
	}
	t.Cleanup(func() { stop() })
	return l.Addr().String(), stop
}

type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, conn: c, r: bufio.NewReader(c)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatal(err)
	}
}

// reply reads one reply line; the deadline only keeps a broken server from
// hanging the test.
func (c *client) reply() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	s, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("reading reply: %v (got %q)", err, s)
	}
	return strings.TrimSuffix(s, "\n")
}

// closed says whether the server closed the connection: an end of file,
// or a reset when the server closed it with bytes of the client's still
// unread in its socket (a half document at shutdown, under load).
func (c *client) closed() bool {
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.r.ReadByte()
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

const (
	td1Zone = "I<UTOD23145890<7349<<<<<<<<<<<\n3407127M9507122UTO<<<<<<<<<<<2\nSTEVENSON<<PETER<JOHN<<<<<<<<<\n"
	td2Zone = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6\n"
	td3Zone = td3Line1 + "\n" + td3Line2 + "\n"
)

func TestStreamDocuments(t *testing.T) {
	checker := &recordingChecker{hitsFor: map[string]int{"D23145890734": 1}}
	addr, _ := startStream(t, &StreamServer{Checker: checker, Device: "gate-1", Lane: "2"})
	c := dial(t, addr)
	steps := []struct{ send, want string }{
		{td3Zone, "OK chk-1 0"},
		{td1Zone, "OK chk-2 1"},
		{strings.ReplaceAll(td2Zone, "\n", "\r\n"), "OK chk-3 0"},
		{"  " + td3Line1 + " \t\n" + td3Line2 + "\n", "OK chk-4 0"},
		{td3Line1 + "\n" + td3Line2[:19] + "5" + td3Line2[20:] + "\n", "ERR birth date check digit is 2, line 2 position 20 says 5"},
		{td3Line1 + "\n\n", "ERR incomplete document: got 1 of 2 lines of 44 characters"},
		{"HELLO\n", "ERR bad line: line of 5 characters; a zone has lines of 30, 36 or 44"},
		// A TD1 line after one TD3 line: the TD3 document is dropped and
		// the TD1 lines that follow make a document of their own.
		{td3Line1 + "\n" + td1Zone, "ERR incomplete document: got 1 of 2 lines of 44 characters"},
		{"", "OK chk-5 1"},
		{"\n\n" + td3Zone, "OK chk-6 0"},
	}
	for _, s := range steps {
		if s.send != "" {
			c.send(s.send)
		}
		if got := c.reply(); got != s.want {
			t.Errorf("sent %q\ngot  %q\nwant %q", s.send, got, s.want)
		}
	}
	checks := checker.recorded()
	if len(checks) != 6 {
		t.Fatalf("%d checks, want 6", len(checks))
	}
	if checks[1].Device != "gate-1" || checks[1].Lane != "2" || checks[1].Items[0].Value != "D23145890734" || checks[1].Items[1].Value != "PETER JOHN STEVENSON" {
		t.Errorf("TD1 check %+v", checks[1])
	}
}

func TestStreamLastLineWithoutNewline(t *testing.T) {
	addr, _ := startStream(t, &StreamServer{Checker: &recordingChecker{}})
	c := dial(t, addr)
	c.send(td3Line1 + "\n" + td3Line2)
	c.conn.(*net.TCPConn).CloseWrite()
	if got := c.reply(); got != "OK chk-1 0" {
		t.Errorf("got %q", got)
	}
}

func TestStreamLineTooLong(t *testing.T) {
	addr, _ := startStream(t, &StreamServer{Checker: &recordingChecker{}, MaxLine: 64})
	c := dial(t, addr)
	c.send(strings.Repeat("<", 65) + "\n")
	if got := c.reply(); got != "ERR bad line: line longer than 64 bytes; closing" {
		t.Errorf("got %q", got)
	}
	if !c.closed() {
		t.Error("connection still open")
	}
	// No newline at all: the limit holds without one.
	c = dial(t, addr)
	c.send(strings.Repeat("A", 1000))
	if got := c.reply(); !strings.HasPrefix(got, "ERR bad line: line longer") {
		t.Errorf("got %q", got)
	}
}

func TestStreamCheckerFails(t *testing.T) {
	addr, _ := startStream(t, &StreamServer{Checker: &recordingChecker{err: errors.New("store closed")}})
	c := dial(t, addr)
	c.send(td3Zone)
	if got := c.reply(); got != "ERR check failed" {
		t.Errorf("got %q", got)
	}
	// The connection stays usable.
	c.send("X\n")
	if got := c.reply(); !strings.HasPrefix(got, "ERR bad line") {
		t.Errorf("got %q", got)
	}
}

func TestStreamIdleTimeout(t *testing.T) {
	addr, _ := startStream(t, &StreamServer{Checker: &recordingChecker{}, IdleTimeout: 50 * time.Millisecond})
	c := dial(t, addr)
	if got := c.reply(); got != "ERR idle timeout; closing" {
		t.Errorf("got %q", got)
	}
	if !c.closed() {
		t.Error("connection still open")
	}
}

func TestStreamReadTimeoutWithinDocument(t *testing.T) {
	addr, _ := startStream(t, &StreamServer{Checker: &recordingChecker{}, ReadTimeout: 50 * time.Millisecond})
	c := dial(t, addr)
	c.send(td3Line1 + "\n" + td3Line2[:10])
	if got := c.reply(); got != "ERR incomplete document: read timeout within a document; closing" {
		t.Errorf("got %q", got)
	}
	if !c.closed() {
		t.Error("connection still open")
	}
}

func TestStreamConnectionLimit(t *testing.T) {
	addr, _ := startStream(t, &StreamServer{Checker: &recordingChecker{}, MaxConns: 1})
	first := dial(t, addr)
	first.send(td3Zone) // served: it holds the only slot
	if got := first.reply(); got != "OK chk-1 0" {
		t.Fatalf("got %q", got)
	}
	second := dial(t, addr)
	if got := second.reply(); got != "ERR busy: too many connections" {
		t.Errorf("got %q", got)
	}
	if !second.closed() {
		t.Error("second connection still open")
	}
	// The slot frees once the first reader leaves.
	first.conn.Close()
	for i := 0; ; i++ {
		third := dial(t, addr)
		third.send(td3Zone)
		got := third.reply()
		if got == "OK chk-2 0" {
			break
		}
		if got != "ERR busy: too many connections" || i == 1000 {
			t.Fatalf("got %q after %d tries", got, i)
		}
		runtimeYield()
	}
}

// runtimeYield gives the server a moment to notice a closed connection.
func runtimeYield() { time.Sleep(time.Millisecond) }

// A reader that stalls mid-line, one that floods, one that sends garbage
// and one that sends half a document do not delay or disturb a good one.
func TestStreamMisbehavingConnectionIsolated(t *testing.T) {
	checker := &recordingChecker{}
	// Five readers, all on loopback: one address here.
	addr, _ := startStream(t, &StreamServer{Checker: checker, MaxLine: 64, MaxConnsPerSource: 5})

	stalled := dial(t, addr)
	stalled.send(td3Line1[:20]) // and never more

	half := dial(t, addr)
	half.send(td3Line1 + "\n") // its second line never comes

	flood := dial(t, addr)
	go io.Copy(flood.conn, neverEnding{}) // closed by the server after its ERR

	garbage := dial(t, addr)
	garbage.send("\x00\xff\xfe" + strings.Repeat("\x1b[2J", 10) + "\n")

	good := dial(t, addr)
	for i := 1; i <= 20; i++ {
		good.send(td3Zone)
		if got, want := good.reply(), "OK chk-"; !strings.HasPrefix(got, want) {
			t.Fatalf("document %d: got %q", i, got)
		}
	}
	if got := flood.reply(); !strings.HasPrefix(got, "ERR bad line: line longer than 64") {
		t.Errorf("flood: got %q", got)
	}
	if got := garbage.reply(); !strings.HasPrefix(got, "ERR bad line: line of 43 characters") {
		t.Errorf("garbage: got %q", got)
	}
	// The half document, finished late, still counts.
	half.send(td3Line2 + "\n")
	if got := half.reply(); !strings.HasPrefix(got, "OK chk-") {
		t.Errorf("half: got %q", got)
	}
	if n := len(checker.recorded()); n != 21 {
		t.Errorf("%d checks, want 21", n)
	}
}

type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	return len(p), nil
}

func TestStreamShutdown(t *testing.T) {
	addr, stop := startStream(t, &StreamServer{Checker: &recordingChecker{}})
	idle := dial(t, addr)
	mid := dial(t, addr)
	mid.send(td3Line1 + "\n")
	idle.send(td3Zone)
	if got := idle.reply(); got != "OK chk-1 0" {
		t.Fatalf("got %q", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve returned %v after shutdown", err)
	}
	if !idle.closed() || !mid.closed() {
		t.Error("connections still open after Serve returned")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("listener still accepting")
	}
}

func TestStreamListenerFails(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	s := &StreamServer{Checker: &recordingChecker{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := s.Serve(context.Background(), l); err == nil {
		t.Error("Serve on a closed listener returned nil")
	}
}

// A panic reached through one connection ends that connection only.
func TestStreamPanicIsolated(t *testing.T) {
	addr, _ := startStream(t, &StreamServer{Checker: panicOn{"L898902C3"}})
	bad := dial(t, addr)
	bad.send(td3Zone)
	if !bad.closed() {
		t.Error("connection that panicked still open")
	}
	good := dial(t, addr)
	good.send(td1Zone)
	if got := good.reply(); got != "OK ok 0" {
		t.Errorf("got %q", got)
	}
}

// Every vector sent down one connection gets OK or ERR as it says.
func TestStreamVectors(t *testing.T) {
	vectors := loadVectors(t)
	addr, _ := startStream(t, &StreamServer{Checker: &recordingChecker{}})
	c := dial(t, addr)
	for _, v := range vectors {
		c.send(strings.Join(v.lines, "\n") + "\n")
		got := c.reply()
		if v.valid != strings.HasPrefix(got, "OK ") {
			t.Errorf("%s: got %q; expect_valid %v", v.id, got, v.valid)
		}
	}
}

// dialFrom connects to addr from the loopback address src (127.0.0.x are
// all loopback), as a reader on another host would.
func dialFrom(t testing.TB, src, addr string) *client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, conn: c, r: bufio.NewReader(c)}
}

// One host opening as many idle connections as the server serves in all
// holds only its share: a reader on another address is still served.
func TestStreamIdleConnectionsFromOneHostLockNobodyOut(t *testing.T) {
	addr, _ := startStream(t, &StreamServer{Checker: &recordingChecker{}}) // defaults: 16 in all, 4 per source
	refused := 0
	for i := range DefaultMaxConns {
		c := dialFrom(t, "127.0.0.1", addr)
		if i < DefaultMaxConnsPerSource {
			continue
		}
		if c.reply() == "ERR busy: too many connections from this address" {
			refused++
		}
	}
	if want := DefaultMaxConns - DefaultMaxConnsPerSource; refused != want {
		t.Errorf("%d of the host's connections refused, want %d", refused, want)
	}
	reader := dialFrom(t, "127.0.0.2", addr)
	reader.send(td3Zone)
	if got := reader.reply(); got != "OK chk-1 0" {
		t.Fatalf("reader on another address: %q", got)
	}
}

// A reader that sends its first line a byte at a time is cut when the line
// is not finished within ReadTimeout, however long IdleTimeout is.
func TestStreamSlowSenderCut(t *testing.T) {
	addr, _ := startStream(t, &StreamServer{Checker: &recordingChecker{}, IdleTimeout: time.Minute, ReadTimeout: 200 * time.Millisecond})
	c := dial(t, addr)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for _, b := range []byte(td3Line1) {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := c.conn.Write([]byte{b}); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	if got := c.reply(); got != "ERR incomplete document: read timeout within a document; closing" {
		t.Errorf("got %q", got)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("cut after %v, want about the read timeout", took)
	}
	if !c.closed() {
		t.Error("connection still open")
	}
}
