// Package mqttlimit opens the connections of a paho MQTT client so that an
// oversized incoming PUBLISH is never held in memory: paho reads each packet
// whole before it looks at it, so a 50 MB message on any subscribed topic
// would cost 50 MB (and more, as it is copied) however the handler treats
// it.
//
// The connection parses the MQTT fixed headers of what the broker sends. A
// PUBLISH whose remaining length exceeds the limit has its topic and packet
// identifier read, its payload discarded as it streams in, and reaches paho
// rewritten with an empty payload: paho acknowledges it, so the broker does
// not deliver it again on every reconnect, and the handler sees an empty
// message it refuses like any malformed one. Closing the connection instead
// would make the broker redeliver a QoS 1 message to a persistent session
// for ever. Any other packet over the limit closes the connection.
package mqttlimit

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// DefaultMaxPacket is the limit where none is given: far above any message
// borderpost sends (a snapshot chunk holds 2,000 alerts) and far below what
// would hurt a post's memory.
const DefaultMaxPacket = 16 << 20

// Refused describes an incoming PUBLISH that was emptied for its size.
type Refused struct {
	Topic string
	Size  int // the packet's remaining length: topic, identifier and payload
}

// Opener opens a paho client's connections; pass Open to
// ClientOptions.SetCustomOpenConnectionFn. Set the fields before use; it
// is safe for concurrent use afterwards.
type Opener struct {
	// MaxPacket bounds the remaining length of an incoming packet (topic,
	// packet identifier and payload for a PUBLISH); zero means
	// DefaultMaxPacket.
	MaxPacket int
	// OnRefused is called, on the connection's reading goroutine, for each
	// PUBLISH emptied for its size; it must not block. Nil: not told.
	OnRefused func(Refused)

	mu      sync.Mutex
	emptied map[string]int // emptied PUBLISHes not yet claimed, by topic
}

// Emptied reports whether an empty message on topic is one this Opener
// emptied for its size, and claims it: a handler that gets an empty
// payload asks, and drops the message (it was refused and recorded) when
// the answer is true.
func (o *Opener) Emptied(topic string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.emptied[topic] == 0 {
		return false
	}
	if o.emptied[topic]--; o.emptied[topic] == 0 {
		delete(o.emptied, topic)
	}
	return true
}

func (o *Opener) refused(r Refused) {
	o.mu.Lock()
	if o.emptied == nil {
		o.emptied = make(map[string]int)
	}
	o.emptied[r.Topic]++
	o.mu.Unlock()
	if o.OnRefused != nil {
		o.OnRefused(r)
	}
}

// Open dials the broker as paho would (TCP, or TLS with the options' TLS
// configuration) and returns the connection with incoming packets limited.
func (o *Opener) Open(uri *url.URL, options mqtt.ClientOptions) (net.Conn, error) {
	dialer := &net.Dialer{Timeout: 30 * time.Second}
	if options.Dialer != nil {
		d := *options.Dialer
		dialer = &d
	}
	if options.ConnectTimeout > 0 {
		dialer.Timeout = options.ConnectTimeout
	}
	var conn net.Conn
	var err error
	switch uri.Scheme {
	case "tcp", "mqtt":
		conn, err = dialer.Dial("tcp", uri.Host)
	case "ssl", "tls", "mqtts", "mqtt+ssl", "tcps":
		tc := options.TLSConfig
		if tc == nil {
			tc = &tls.Config{}
		}
		conn, err = tls.DialWithDialer(dialer, "tcp", uri.Host, tc)
	default:
		return nil, fmt.Errorf("%w: %q", ErrScheme, uri.Scheme)
	}
	if err != nil {
		return nil, err
	}
	return o.Wrap(conn), nil
}

// Wrap returns conn with the packets read from it limited.
func (o *Opener) Wrap(conn net.Conn) net.Conn {
	max := o.MaxPacket
	if max <= 0 {
		max = DefaultMaxPacket
	}
	return &limitedConn{Conn: conn, br: bufio.NewReaderSize(conn, 32<<10), max: max, onRefused: o.refused}
}

// limitedConn is a connection whose reads go through the packet limit.
type limitedConn struct {
	net.Conn
	br        *bufio.Reader
	max       int
	onRefused func(Refused)

	out  []byte // header bytes (or a rewritten packet) ready for paho
	left int    // bytes of the current packet still to pass through
	err  error  // sticky: the stream is out of step after an error
}

const publish = 3 // MQTT control packet type

func (c *limitedConn) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if len(c.out) == 0 && c.left == 0 {
		if err := c.nextPacket(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if len(c.out) > 0 {
		n := copy(p, c.out)
		c.out = c.out[n:]
		return n, nil
	}
	n, err := c.br.Read(p[:min(len(p), c.left)])
	c.left -= n
	if err != nil {
		c.err = err
	}
	return n, err
}

// nextPacket reads the next packet's fixed header and decides: pass it
// through, empty it (an oversized PUBLISH) or refuse it.
func (c *limitedConn) nextPacket() error {
	first, err := c.br.ReadByte()
	if err != nil {
		return err
	}
	header := []byte{first}
	size, mult := 0, 1
	for i := 0; ; i++ {
		b, err := c.br.ReadByte()
		if err != nil {
			return err
		}
		header = append(header, b)
		size += int(b&0x7f) * mult
		if b&0x80 == 0 {
			break
		}
		if i == 3 {
			return fmt.Errorf("%w: remaining length longer than 4 bytes", ErrPacket)
		}
		mult *= 128
	}
	if size <= c.max {
		c.out, c.left = header, size
		return nil
	}
	if first>>4 != publish {
		return fmt.Errorf("%w: packet type %d of %d bytes, over the limit of %d", ErrPacket, first>>4, size, c.max)
	}
	return c.empty(first, size)
}

// empty reads an oversized PUBLISH's topic and packet identifier, discards
// its payload as it streams in, and queues the same PUBLISH without payload.
func (c *limitedConn) empty(first byte, size int) error {
	var lenb [2]byte
	if _, err := io.ReadFull(c.br, lenb[:]); err != nil {
		return err
	}
	topicLen := int(lenb[0])<<8 | int(lenb[1])
	idLen := 0
	if (first>>1)&3 > 0 {
		idLen = 2
	}
	kept := 2 + topicLen + idLen
	if kept > size {
		return fmt.Errorf("%w: PUBLISH topic longer than the packet", ErrPacket)
	}
	body := make([]byte, kept)
	copy(body, lenb[:])
	if _, err := io.ReadFull(c.br, body[2:]); err != nil {
		return err
	}
	if _, err := io.CopyN(io.Discard, c.br, int64(size-kept)); err != nil {
		return err
	}
	c.onRefused(Refused{Topic: string(body[2 : 2+topicLen]), Size: size})
	out := []byte{first}
	for n := kept; ; {
		b := byte(n % 128)
		if n /= 128; n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			break
		}
	}
	c.out = append(out, body...)
	return nil
}
