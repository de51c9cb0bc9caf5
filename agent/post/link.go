package post

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	bpsync "github.com/borderpost/borderpost/sync"
)

// linkConfig turns the mqtt section into the session's link settings.
func (a *Agent) linkConfig() (bpsync.LinkConfig, error) {
	m := a.cfg.MQTT
	lc := bpsync.LinkConfig{Broker: m.Broker, Username: m.Username, KeepAlive: m.KeepAlive, MaxMessage: m.MaxMessage}
	if m.Password != "" {
		b, err := os.ReadFile(m.Password)
		if err != nil {
			return lc, fmt.Errorf("mqtt.password_file: %w", err)
		}
		lc.Password = strings.TrimSpace(string(b))
	}
	if m.CA != "" || m.Cert != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if m.CA != "" {
			pem, err := os.ReadFile(m.CA)
			if err != nil {
				return lc, fmt.Errorf("mqtt.ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return lc, fmt.Errorf("mqtt.ca: %s holds no PEM certificate", m.CA)
			}
		}
		if m.Cert != "" {
			cert, err := tls.LoadX509KeyPair(m.Cert, m.KeyFile)
			if err != nil {
				return lc, fmt.Errorf("mqtt.cert/mqtt.key: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		lc.TLS = tc
	}
	return lc, nil
}
