package mrz

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/borderpost/borderpost/devices"
)

// FuzzParse feeds up to three lines to Parse. Whatever it accepts must be
// a zone whose every check digit holds, and it must turn into a Check whose
// values are normalised; whatever it refuses must be a FieldError.
func FuzzParse(f *testing.F) {
	f.Add(td3Line1, td3Line2, "")
	f.Add("I<UTOD23145890<7349<<<<<<<<<<<", "3407127M9507122UTO<<<<<<<<<<<2", "STEVENSON<<PETER<JOHN<<<<<<<<<")
	f.Add("I<UTOD23145890<7349<<<<<<<<<<<", "3407127M9507122UTO<<<<<<<<<<<2", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
	f.Add("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6", "")
	f.Add("P<D<<ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36D<<7408122F1204159ZE184226B<<<<<10", "")
	f.Add("", "", "")
	// The shared vectors join the seeds when they are there; the fuzz
	// target runs without them.
	if _, err := locateData(); err == nil {
		for _, v := range loadVectors(f) {
			f.Add(v.lines[0], v.lines[1], strings.Join(v.lines[2:], ""))
		}
	}
	f.Fuzz(func(t *testing.T, l1, l2, l3 string) {
		lines := []string{l1, l2}
		if l3 != "" {
			lines = append(lines, l3)
		}
		checkParse(t, lines)
		// Random bytes seldom pass the composite check: parse the same lines
		// again with every check digit made right, to reach dates, codes
		// and names.
		if fixed := withCheckDigits(lines); fixed != nil {
			if d, err := checkParse(t, fixed); err != nil && errors.Is(err, ErrCheckDigit) {
				t.Fatalf("check digits made right, still %v (document %+v)", err, d)
			}
		}
	})
}

// withCheckDigits returns lines with every check digit recomputed, or nil
// if lines have no zone's shape or characters.
func withCheckDigits(lines []string) []string {
	l := layoutFor(lines)
	if l == nil {
		return nil
	}
	b := make([][]byte, len(lines))
	for i, s := range lines {
		for j := 0; j < len(s); j++ {
			if _, ok := charValue(s[j]); !ok {
				return nil
			}
		}
		b[i] = []byte(s)
	}
	set := func(over, cd span) { b[cd.line][cd.start], _ = CheckDigit(over.in(lines)) }
	if !l.longNumber || b[l.numberCD.line][l.numberCD.start] != '<' {
		set(l.number, l.numberCD)
	} else if opt := l.optional.in(lines); strings.IndexByte(opt, '<') >= 2 || strings.IndexByte(opt, '<') < 0 {
		// The long number's own check digit ends its continuation.
		end := strings.IndexByte(opt, '<')
		if end < 0 {
			end = len(opt)
		}
		b[l.optional.line][l.optional.start+end-1], _ = CheckDigit(l.number.in(lines) + opt[:end-1])
	}
	set(l.birth, l.birthCD)
	set(l.expiry, l.expiryCD)
	if l.personalCD != (span{}) {
		set(l.optional, l.personalCD)
	}
	fixed := make([]string, len(b))
	for i := range b {
		fixed[i] = string(b[i])
	}
	var composite strings.Builder
	for _, s := range l.compositeOver {
		composite.WriteString(s.in(fixed))
	}
	b[l.composite.line][l.composite.start], _ = CheckDigit(composite.String())
	for i := range b {
		fixed[i] = string(b[i])
	}
	return fixed
}

var (
	numberRE = regexp.MustCompile(`^[A-Z0-9]+$`)
	birthRE  = regexp.MustCompile(`^(\d{4}(-\d{2}(-\d{2})?)?)?$`)
)

// checkParse parses lines and fails t if the result breaks an invariant.
func checkParse(t *testing.T, lines []string) (Document, error) {
	d, err := Parse(lines, now)
	if err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Err == nil || !strings.HasPrefix(err.Error(), "mrz: ") || strings.ContainsAny(err.Error(), "\n\r") {
			t.Fatalf("error %q is not a one-line FieldError", err)
		}
		return d, err
	}
	l := layoutFor(lines)
	var composite strings.Builder
	for _, s := range l.compositeOver {
		composite.WriteString(s.in(lines))
	}
	if cd, _ := CheckDigit(composite.String()); cd != l.composite.in(lines)[0] {
		t.Fatalf("accepted with a wrong composite check digit: %q", lines)
	}
	if !numberRE.MatchString(d.Number) || !birthRE.MatchString(d.BirthDate) {
		t.Fatalf("number %q birth %q not normalised", d.Number, d.BirthDate)
	}
	if d.BirthDate > now.Format(time.DateOnly) {
		t.Fatalf("birth date %s after now", d.BirthDate)
	}
	if y := d.Expiry.Year(); y <= now.Year()-50 || y > now.Year()+50 {
		t.Fatalf("expiry %s outside the 50-year window", d.Expiry)
	}
	c := d.Check("fuzz", "", now)
	if c.Items[0].Kind != devices.KindDocument || c.Items[0].Value != d.Number {
		t.Fatalf("check %+v", c)
	}
	for _, it := range c.Items {
		if len(it.Country) != 0 && len(it.Country) != 2 || len(it.Nationality) != 0 && len(it.Nationality) != 2 {
			t.Fatalf("country %q nationality %q not alpha-2", it.Country, it.Nationality)
		}
	}
	return d, nil
}

// FuzzStream sends arbitrary bytes down one connection. The server must
// finish, answer only with "OK <id> <n>" and "ERR <reason>" lines, and send
// exactly one OK per check it made.
func FuzzStream(f *testing.F) {
	f.Add([]byte(td3Zone + td1Zone + td2Zone))
	f.Add([]byte(td3Line1 + "\r\n\r\n" + td3Line2 + "\r\n"))
	f.Add([]byte(strings.Repeat("<", 200) + "\n" + td3Zone))
	f.Add([]byte("\x00\xff\n\n\n" + td3Line1))
	f.Add([]byte(td1Zone[:31] + td3Zone))
	okRE := regexp.MustCompile(`^OK chk-\d+ [0-9]+$`)
	f.Fuzz(func(t *testing.T, data []byte) {
		checker := &recordingChecker{hitsFor: map[string]int{"L898902C3": 1}}
		s := &StreamServer{Checker: checker, MaxLine: 64,
			ReadTimeout: time.Minute, IdleTimeout: time.Minute, // never reached: the input is finite
			Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		conn := &bufferConn{in: bytes.NewReader(data)}
		s.serveConn(t.Context(), conn)
		replies := strings.Split(strings.TrimSuffix(conn.out.String(), "\n"), "\n")
		if conn.out.Len() == 0 {
			replies = nil
		}
		ok := 0
		for _, rep := range replies {
			switch {
			case okRE.MatchString(rep):
				ok++
			case strings.HasPrefix(rep, "ERR ") && !strings.ContainsAny(rep, "\r\x00"):
			default:
				t.Fatalf("reply %q", rep)
			}
		}
		if n := len(checker.recorded()); ok != n {
			t.Fatalf("%d OK replies for %d checks", ok, n)
		}
	})
}

// bufferConn is a connection whose peer sent in and then closed its side;
// what the server writes collects in out. Deadlines never expire.
type bufferConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *bufferConn) Read(p []byte) (int, error)       { return c.in.Read(p) }
func (c *bufferConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *bufferConn) Close() error                     { return nil }
func (c *bufferConn) LocalAddr() net.Addr              { return pipeAddr{} }
func (c *bufferConn) RemoteAddr() net.Addr             { return pipeAddr{} }
func (c *bufferConn) SetDeadline(time.Time) error      { return nil }
func (c *bufferConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bufferConn) SetWriteDeadline(time.Time) error { return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "buffer" }
func (pipeAddr) String() string  { return "buffer" }
