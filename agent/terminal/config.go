package terminal

import (
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Config sets the terminal's policies. Zero fields take the defaults below.
type Config struct {
	// Purposes maps each role to the alert purposes it serves: a hit is
	// shown to a role only when the alert lists at least one of them. A
	// hit whose alert lists no purpose is shown to no one. Technicians see
	// no hits whatever this says.
	Purposes map[Role][]string `yaml:"purposes" json:"purposes"`
	// Post is the post's name as the header shows it; the agent sets it
	// from agent.post.
	Post string `yaml:"-" json:"-"`
	// Lane is put on manual checks as their lane, e.g. "booth-3".
	Lane string `yaml:"lane" json:"lane"`
	// SessionIdle ends a session after this long without a request from the
	// officer (the live stream does not count). Default 30 minutes.
	SessionIdle time.Duration `yaml:"session_idle" json:"session_idle"`
	// SessionMax ends a session this long after login whatever happens.
	// Default 12 hours, one shift.
	SessionMax time.Duration `yaml:"session_max" json:"session_max"`
	// LoginFailures is how many failed logins an account may have within
	// LoginWindow before it is locked for LoginWindow. Default 5.
	LoginFailures int `yaml:"login_failures" json:"login_failures"`
	// AddressFailures is the same limit per client address. Default 20.
	AddressFailures int `yaml:"address_failures" json:"address_failures"`
	// LoginWindow is the window and lockout time. Default 15 minutes.
	LoginWindow time.Duration `yaml:"login_window" json:"login_window"`
	// SecureCookies marks the session cookie Secure even when a request
	// arrives without TLS (behind a TLS-terminating proxy). Requests over
	// TLS always get Secure cookies.
	SecureCookies bool `yaml:"secure_cookies" json:"secure_cookies"`
	// KeepHits is how many recent hits the terminal keeps to show a page
	// that connects later. Default 500.
	KeepHits int `yaml:"keep_hits" json:"keep_hits"`
	// BannerEvery is how often the live stream refreshes the banners.
	// Default 5 seconds.
	BannerEvery time.Duration `yaml:"banner_every" json:"banner_every"`
}

func (c Config) withDefaults() (Config, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.SessionIdle, 30*time.Minute)
	def(&c.SessionMax, 12*time.Hour)
	def(&c.LoginWindow, 15*time.Minute)
	def(&c.BannerEvery, 5*time.Second)
	if c.LoginFailures == 0 {
		c.LoginFailures = 5
	}
	if c.AddressFailures == 0 {
		c.AddressFailures = 20
	}
	if c.KeepHits == 0 {
		c.KeepHits = 500
	}
	switch {
	case c.SessionIdle < 0 || c.SessionMax < 0 || c.LoginWindow < 0 || c.BannerEvery < 0:
		return c, fmt.Errorf("%w: durations must be positive", ErrConfig)
	case c.LoginFailures < 0 || c.AddressFailures < 0 || c.KeepHits < 0:
		return c, fmt.Errorf("%w: counts must be positive", ErrConfig)
	}
	for r := range c.Purposes {
		if _, err := ParseRole(string(r)); err != nil {
			return c, fmt.Errorf("%w: purposes: %w", ErrConfig, err)
		}
	}
	return c, nil
}

// CheckListen refuses to serve the terminal over plain HTTP on anything but
// a loopback address: officers' passwords and hits must not cross the
// network in clear. addr is host:port as given to net.Listen.
func CheckListen(addr string, tls bool) error {
	if tls {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("%w: %s needs a TLS certificate (only loopback may serve plain HTTP)", ErrPlainHTTP, addr)
	}
	return nil
}
