package anpr

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// startLineServer serves s on a loopback port and returns its address and
// a function that stops it and returns Serve's error.
func startLineServer(t *testing.T, s *LineServer) (string, func() error) {
	t.Helper()
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var once sync.Once
	var serr error
	stop := func() error {
		once.Do(func() { cancel(); serr = <-done })
		return serr
	}
	t.Cleanup(func() { _ = stop() })
	return ln.Addr().String(), stop
}

type lineClient struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialLine(t *testing.T, addr string) *lineClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &lineClient{conn: c, r: bufio.NewReader(c)}
}

// send writes one line and returns the reply line.
func (c *lineClient) send(t *testing.T, line string) string {
	t.Helper()
	if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	return c.reply(t)
}

func (c *lineClient) reply(t *testing.T) string {
	t.Helper()
	s, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("read reply: %v (got %q)", err, s)
	}
	return strings.TrimSuffix(s, "\n")
}

func TestLineServerReplies(t *testing.T) {
	rc := &recordingChecker{wanted: map[string]bool{"DE BMW1234": true}}
	addr, stop := startLineServer(t, &LineServer{Checker: rc, Device: "gate-a"})
	c := dialLine(t, addr)
	if got := c.send(t, "2026-11-27T03:14:07Z;3;B MW 1234;D;0.93"); got != "OK chk-1 1" {
		t.Errorf("wanted plate: %q", got)
	}
	if got := c.send(t, "2026-11-27T03:14:08Z;3;AB 1O3 CD;I;0.6"); got != "OK chk-2 0 corrected AB103CD" {
		t.Errorf("corrected plate: %q", got)
	}
	if got := c.send(t, "2026-11-27T03:14:09Z;3;B MW 1234;XX;0.6"); !strings.HasPrefix(got, "ERR country: ") {
		t.Errorf("bad country: %q", got)
	}
	// Keep-alive blank lines get no reply; the next read does.
	if got := c.send(t, "\r\n\n1795749249,2,AB-123-CD,F,87"); got != "OK chk-3 0" {
		t.Errorf("after blank lines: %q", got)
	}
	if got := c.send(t, strings.Repeat("x", 3*MaxLineBytes)); got != "ERR "+errLineTooLong.Error() {
		t.Errorf("long line: %q", got)
	}
	if got := c.send(t, ";;B1;D;1"); got != "OK chk-4 0" {
		t.Errorf("after a long line the connection is still served: %q", got)
	}
	// Pipelined lines are answered in order.
	if _, err := c.conn.Write([]byte(";;B1;D;1\nbad\n;;B2;D;1\n")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"OK chk-5 0", "ERR line: syntax", "OK chk-6 0"} {
		if got := c.reply(t); !strings.HasPrefix(got, want) {
			t.Errorf("pipelined: %q, want %q", got, want)
		}
	}
	if ck := rc.last(); ck.Device != "gate-a" || ck.Lane != "" || !ck.Time.After(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("check from line: %+v", ck)
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	// The connection is closed by the shutdown.
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Fatal("connection still open after shutdown")
	}
}

// TestLineServerFloodIsolated: one camera floods garbage, reconnecting each
// time it is cut off, while another keeps getting an answer to every read.
func TestLineServerFloodIsolated(t *testing.T) {
	rc := &recordingChecker{}
	addr, _ := startLineServer(t, &LineServer{Checker: rc, Device: "gate", MaxErrorsInRow: 10, MaxConns: 4, ReadsPerSecond: -1})

	stopFlood := make(chan struct{})
	floodDone := make(chan int)
	go func() {
		closed := 0
		for {
			select {
			case <-stopFlood:
				floodDone <- closed
				return
			default:
			}
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				continue
			}
			garbage := strings.Repeat("\x01\x02 not a read at all;;;;;;;;\n", 50)
			_, _ = conn.Write([]byte(garbage))
			// Drain until the server closes the connection.
			sc := bufio.NewScanner(conn)
			last := ""
			for sc.Scan() {
				last = sc.Text()
			}
			if last == "ERR too many errors in a row, closing" {
				closed++
			}
			conn.Close()
		}
	}()

	good := dialLine(t, addr)
	const reads = 300
	for i := 0; i < reads; i++ {
		got := good.send(t, "2026-11-27T03:14:07Z;3;B MW 1234;D;0.93")
		if !strings.HasPrefix(got, "OK chk-") {
			t.Fatalf("read %d while another camera floods: %q", i, got)
		}
	}
	close(stopFlood)
	if closed := <-floodDone; closed == 0 {
		t.Fatal("the flooding connection was never closed for too many errors")
	}
	if rc.count() != reads {
		t.Fatalf("%d checks, want %d (garbage must not reach the checker)", rc.count(), reads)
	}
}

func TestLineServerLimits(t *testing.T) {
	rc := &recordingChecker{}
	addr, _ := startLineServer(t, &LineServer{Checker: rc, MaxConns: 1, IdleTimeout: 50 * time.Millisecond, ReadsPerSecond: -1})

	// A connection that says nothing is told and closed.
	idle := dialLine(t, addr)
	if got := idle.reply(t); got != "ERR idle timeout, closing" {
		t.Fatalf("idle: %q", got)
	}
	if _, err := idle.r.ReadString('\n'); err == nil {
		t.Fatal("idle connection left open")
	}

	// With one slot taken, the next connection is refused.
	first := dialLine(t, addr)
	if got := first.send(t, ";;B1;D;1"); !strings.HasPrefix(got, "OK") {
		t.Fatalf("first: %q", got)
	}
	second := dialLine(t, addr)
	if got := second.reply(t); got != "ERR busy: too many connections" {
		t.Fatalf("second: %q", got)
	}
}

func TestLineServerFloodWithoutNewline(t *testing.T) {
	addr, _ := startLineServer(t, &LineServer{Checker: &recordingChecker{}})
	c := dialLine(t, addr)
	go func() {
		chunk := []byte(strings.Repeat("A", 4096))
		for i := 0; i < 64; i++ {
			if _, err := c.conn.Write(chunk); err != nil {
				return
			}
		}
	}()
	if got := c.reply(t); got != "ERR "+errLineTooLong.Error()+", closing" {
		t.Fatalf("flood: %q", got)
	}
}

func TestLineServerCheckerFailureKeepsConnection(t *testing.T) {
	rc := &recordingChecker{fail: true}
	addr, _ := startLineServer(t, &LineServer{Checker: rc, MaxErrorsInRow: 2})
	c := dialLine(t, addr)
	for i := 0; i < 5; i++ {
		if got := c.send(t, ";;B1;D;1"); got != "ERR check failed" {
			t.Fatalf("reply %d: %q", i, got)
		}
	}
}

func TestReadBudget(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	b := newReadBudget(2, t0)
	if b.take(t0) != 0 || b.take(t0) != 0 {
		t.Fatal("burst of 2 refused")
	}
	if w := b.take(t0); w != 500*time.Millisecond {
		t.Fatalf("third read waits %v, want 500ms", w)
	}
	// After a second, two more tokens.
	if w := b.take(t0.Add(1500 * time.Millisecond)); w != 0 {
		t.Fatalf("after refill: wait %v", w)
	}
	if w := newReadBudget(-1, t0); w.take(t0) != 0 || w.take(t0) != 0 || w.take(t0) != 0 {
		t.Fatal("unlimited budget waits")
	}
}

// TestLineServerListenerClosed: if the listener is closed under it, Serve
// closes its connections and returns the error instead of spinning.
func TestLineServerListenerClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	s := &LineServer{Checker: &recordingChecker{}, Logger: slog.New(slog.DiscardHandler)}
	go func() { done <- s.Serve(context.Background(), ln) }()
	c := dialLine(t, ln.Addr().String())
	if got := c.send(t, ";;B1;D;1"); !strings.HasPrefix(got, "OK") {
		t.Fatalf("reply %q", got)
	}
	ln.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve = %v, want net.ErrClosed", err)
	}
	if _, err := c.r.ReadString('\n'); err == nil {
		t.Fatal("connection left open")
	}
}

// dialFrom connects to addr from the loopback address src (127.0.0.x are
// all loopback), as a camera on another host would.
func dialFrom(t *testing.T, src, addr string) *lineClient {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &lineClient{conn: c, r: bufio.NewReader(c)}
}

// One host opening as many idle connections as the server serves in all
// holds only its share: a camera on another address is still served, and
// the host's connections beyond its share are told and closed.
func TestLineServerIdleConnectionsFromOneHostLockNobodyOut(t *testing.T) {
	rc := &recordingChecker{}
	addr, _ := startLineServer(t, &LineServer{Checker: rc, ReadsPerSecond: -1}) // defaults: 32 in all, 4 per source
	var refused int
	for i := range DefaultMaxConns {
		c := dialFrom(t, "127.0.0.1", addr)
		if i < DefaultMaxConnsPerSource {
			continue
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if got, _ := c.r.ReadString('\n'); got == "ERR busy: too many connections from this address\n" {
			refused++
		}
	}
	if want := DefaultMaxConns - DefaultMaxConnsPerSource; refused != want {
		t.Errorf("%d of the host's connections refused, want %d", refused, want)
	}
	camera := dialFrom(t, "127.0.0.2", addr)
	_ = camera.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got := camera.send(t, ";;B1;D;1"); !strings.HasPrefix(got, "OK") {
		t.Fatalf("camera on another address: %q", got)
	}
}

// A camera that sends a line a byte at a time is cut when the line is not
// finished within LineTimeout, however long IdleTimeout is.
func TestLineServerSlowSenderCut(t *testing.T) {
	addr, _ := startLineServer(t, &LineServer{Checker: &recordingChecker{}, IdleTimeout: time.Minute, LineTimeout: 200 * time.Millisecond})
	c := dialLine(t, addr)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for _, b := range []byte(";;B1;D;1 and more and more and more") {
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
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got := c.reply(t); got != "ERR line not finished in time, closing" {
		t.Fatalf("slow sender: %q", got)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("cut after %v, want about the line timeout", took)
	}
}
