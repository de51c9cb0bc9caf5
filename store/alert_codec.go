package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// Alerts are stored in a compact binary form rather than JSON: decoding a
// million of them at start-up is what stands between a post's boot and
// its first check, and encoding/json is several times slower. The first
// byte says which form a plaintext is in, so values written as JSON by
// format 1 still read.
const (
	codecBinary1 = 0x01
	codecBinary2 = 0x02 // codecBinary1 followed by posts and regions
	codecBinary3 = 0x03 // codecBinary2 followed by the vehicle's colour and the vessel's aliases
	codecBinary4 = 0x04 // the compact form written today (alert_codec4.go)
	codecJSON    = '{'
)

// maxCodecCount bounds a decoded list, so a corrupt length cannot make the
// decoder allocate without limit.
const maxCodecCount = 1 << 16

// decodeAlertValue decodes a stored alert plaintext in any of its forms.
func decodeAlertValue(p []byte) (Alert, error) {
	var a Alert
	if len(p) == 0 {
		return a, fmt.Errorf("%w: empty alert", ErrCorrupt)
	}
	if p[0] == codecJSON {
		if err := json.Unmarshal(p, &a); err != nil {
			return a, fmt.Errorf("%w: alert: %w", ErrCorrupt, err)
		}
		return a, nil
	}
	if p[0] == codecBinary4 {
		return decodeAlert4(p[1:])
	}
	if p[0] != codecBinary1 && p[0] != codecBinary2 && p[0] != codecBinary3 {
		return a, fmt.Errorf("%w: alert in unknown encoding %#x", ErrCorrupt, p[0])
	}
	r := &reader{b: p[1:]}
	a.ID = r.str()
	a.Version = r.uvarint()
	a.Source = r.str()
	a.Category = r.str()
	a.Action = r.str()
	a.Warnings = r.strs()
	a.LegalBasis = r.str()
	a.Authority = r.str()
	a.Issued = r.time()
	a.Expires = r.time()
	a.Purposes = r.strs()
	s := &a.Subject
	s.Kind = SubjectKind(r.str())
	mask := r.byte()
	if mask&(1<<0) != 0 {
		s.Person = &Person{Surname: r.str(), Forenames: r.str(), Aliases: r.strs(), BirthDate: r.str(), Sex: r.str(), Nationalities: r.strs()}
	}
	if mask&(1<<1) != 0 {
		s.Company = &Company{Name: r.str(), Aliases: r.strs(), EORI: r.str(), Identifiers: r.strs(), Country: r.str(), Address: r.str()}
	}
	if mask&(1<<2) != 0 {
		s.Vehicle = &Vehicle{Plate: r.str(), PlateCountry: r.str(), VIN: r.str(), Make: r.str(), Model: r.str()}
	}
	if mask&(1<<3) != 0 {
		s.Container = &Container{Number: r.str()}
	}
	if mask&(1<<4) != 0 {
		s.Document = &Document{Number: r.str(), Type: r.str(), Country: r.str()}
	}
	if mask&(1<<5) != 0 {
		s.Firearm = &Firearm{Serial: r.str(), Make: r.str()}
	}
	if mask&(1<<6) != 0 {
		s.Vessel = &Vessel{IMO: r.str(), Name: r.str()}
	}
	if mask&(1<<7) != 0 {
		s.Aircraft = &Aircraft{Registration: r.str()}
	}
	s.Phone = r.str()
	s.Email = r.str()
	if p[0] >= codecBinary2 {
		a.Posts = r.strs()
		a.Regions = r.strs()
	}
	if p[0] >= codecBinary3 {
		if colour := r.str(); s.Vehicle != nil {
			s.Vehicle.Colour = colour
		} else if colour != "" {
			return Alert{}, fmt.Errorf("%w: a colour without a vehicle", ErrCorrupt)
		}
		if aliases := r.strs(); s.Vessel != nil {
			s.Vessel.Aliases = aliases
		} else if len(aliases) > 0 {
			return Alert{}, fmt.Errorf("%w: vessel aliases without a vessel", ErrCorrupt)
		}
	}
	if r.bad {
		return Alert{}, fmt.Errorf("%w: alert truncated or malformed", ErrCorrupt)
	}
	if len(r.b) != 0 {
		return Alert{}, fmt.Errorf("%w: %d bytes after the alert", ErrCorrupt, len(r.b))
	}
	return a, nil
}

func putStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func putStrs(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = putStr(b, s)
	}
	return b
}

// putTime writes a zero time as one byte, any other as seconds and
// nanoseconds since the epoch (the instant, in UTC).
func putTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// reader decodes the binary form; after the first error every read
// returns a zero value and bad stays set.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) str() string { return r.take(r.uvarint()) }

// take returns the next n bytes as a string, or marks the record bad.
func (r *reader) take(n uint64) string {
	if n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) strs() []string { return r.list(r.str) }

// list reads a count, then that many strings with elem.
func (r *reader) list(elem func() string) []string {
	n := r.uvarint()
	if n == 0 {
		return nil
	}
	if n > maxCodecCount || n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = elem()
	}
	return ss
}

func (r *reader) time() time.Time {
	switch r.byte() {
	case 0:
		return time.Time{}
	case 1:
	default:
		r.bad, r.b = true, nil
		return time.Time{}
	}
	s, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return time.Time{}
	}
	r.b = r.b[n:]
	ns := r.uvarint()
	if ns >= 1e9 {
		r.bad, r.b = true, nil
		return time.Time{}
	}
	return time.Unix(s, int64(ns)).UTC()
}

// alertIDOf returns the ID of a stored alert plaintext without decoding
// the rest, when the form allows it.
func alertIDOf(p []byte) (string, error) {
	if len(p) > 0 && (p[0] == codecBinary1 || p[0] == codecBinary2 || p[0] == codecBinary3 || p[0] == codecBinary4) {
		r := &reader{b: p[1:]}
		if id := r.str(); !r.bad {
			return id, nil
		}
		return "", fmt.Errorf("%w: alert truncated or malformed", ErrCorrupt)
	}
	a, err := decodeAlertValue(p)
	return a.ID, err
}
