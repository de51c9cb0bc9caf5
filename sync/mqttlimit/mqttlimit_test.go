package mqttlimit

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

// streamConn is a net.Conn that reads from r.
type streamConn struct {
	net.Conn
	r io.Reader
}

func (c streamConn) Read(p []byte) (int, error) { return c.r.Read(p) }

type xs struct{}

func (xs) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// remaining encodes an MQTT remaining length.
func remaining(n int) []byte {
	var out []byte
	for {
		b := byte(n % 128)
		if n /= 128; n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			return out
		}
	}
}

// publishHeader is a QoS 1 PUBLISH's bytes up to its payload.
func publishHeader(topic string, id uint16, payload int) []byte {
	vh := append([]byte{byte(len(topic) >> 8), byte(len(topic))}, topic...)
	vh = append(vh, byte(id>>8), byte(id))
	return append(append([]byte{0x32}, remaining(len(vh)+payload)...), vh...)
}

// An oversized PUBLISH reaches the reader as the same PUBLISH (topic,
// packet identifier, flags) without payload, and what surrounds it passes
// unchanged; the payload is never buffered.
func TestOversizedPublishEmptied(t *testing.T) {
	connack := []byte{0x20, 0x02, 0x00, 0x00}
	small := append(publishHeader("bp/v1/a", 1, 5), "hello"...)
	big := 50 << 20
	pingresp := []byte{0xd0, 0x00}
	in := io.MultiReader(bytes.NewReader(connack), bytes.NewReader(small),
		bytes.NewReader(publishHeader("bp/v1/big", 7, big)), io.LimitReader(xs{}, int64(big)), bytes.NewReader(pingresp))
	var got []Refused
	o := &Opener{MaxPacket: 1 << 20, OnRefused: func(r Refused) { got = append(got, r) }}
	c := o.Wrap(streamConn{r: in})
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append(append([]byte{}, connack...), small...), publishHeader("bp/v1/big", 7, 0)...), pingresp...)
	if !bytes.Equal(out, want) {
		t.Fatalf("read %d bytes %q..., want %q", len(out), out[:min(len(out), 64)], want)
	}
	if len(got) != 1 || got[0].Topic != "bp/v1/big" || got[0].Size != 2+9+2+big {
		t.Fatalf("refusals %+v", got)
	}
	if !o.Emptied("bp/v1/big") || o.Emptied("bp/v1/big") || o.Emptied("bp/v1/a") {
		t.Error("Emptied must claim the one refusal of its topic, and only it")
	}
}

// Another packet over the limit (only a broken or hostile broker sends
// one) ends the connection.
func TestOversizedOtherPacketRefused(t *testing.T) {
	in := io.MultiReader(bytes.NewReader(append([]byte{0x90}, remaining(2<<20)...)), io.LimitReader(xs{}, 2<<20))
	c := (&Opener{MaxPacket: 1 << 20}).Wrap(streamConn{r: in})
	if _, err := io.ReadAll(c); !errors.Is(err, ErrPacket) {
		t.Fatalf("err = %v, want %v", err, ErrPacket)
	}
}
