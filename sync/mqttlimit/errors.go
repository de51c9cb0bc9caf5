package mqttlimit

import "errors"

// Errors of a limited connection; paho sees them as the connection failing
// and reconnects.
var (
	// ErrScheme means the broker address has a scheme Opener cannot dial
	// (it dials tcp, mqtt, ssl, tls, mqtts, mqtt+ssl and tcps).
	ErrScheme = errors.New("mqtt broker scheme not supported: use tcp:// or ssl://")
	// ErrPacket means the broker sent a packet other than PUBLISH over the
	// limit, or a malformed header; the connection is closed.
	ErrPacket = errors.New("mqtt packet from the broker refused")
)
