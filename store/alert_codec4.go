package store

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Alert encoding 4 is the compact form every write uses today. At a
// hundred million alerts, most of them an identifier and little else,
// the replica is mostly alert records, and what the older forms spent on
// them was empty fields (a byte each), subject kinds spelt out, and the
// same few words (source, purposes, action) in every record. Form 4
// writes:
//
//	0x04 ID(str) version(uvarint) present(uvarint)
//	source category action warnings legal-basis authority issued expires
//	purposes posts regions phone email   (each only when its bit is set)
//	kind(byte) subject-mask(byte) subject members
//
// Strings that are vocabulary rather than data (source, category,
// action, warnings, purposes, posts, a document's type, ...) are written
// as words (putWord): a position in codec4Words, or one in codec4Prefixes
// and the rest, or the string itself, so any string is still written as
// it is. Times are seconds from 2020-01-01 (zigzag), nanoseconds only
// when present. The record is sealed exactly as before (AES-GCM, the
// place in the associated data); only the plaintext is smaller.

// codec4Words is the vocabulary of form 4. Entries are never changed or
// reordered, only appended: a record names them by position, and one
// naming a position beyond the table is refused as corrupt.
var codec4Words = [...]string{
	// sources
	"SIS", "EUROPOL", "NATIONAL", "INTERPOL",
	// purposes
	"border", "customs", "police", "immigration",
	// kinds of post
	"road", "sea", "air", "rail", "postal",
	// document types
	"passport", "id-card", "residence-permit", "visa", "driving-licence",
	// actions
	"arrest", "discreet check", "specific check", "inquiry check", "seize", "refuse entry", "inform",
	// warnings
	"armed", "violent", "escape-risk", "escaped", "suicide risk", "public-health risk", "terrorism-related",
	// SIS categories (Regulation (EU) 2018/1862)
	"art24-refusal", "art26-arrest", "art32-missing", "art34-judicial", "art36-check", "art36-discreet-check",
	"art36-specific-check", "art36-inquiry-check", "art37a-inform", "art38-seizure", "art38-inform",
	// sex
	"M", "F", "X",
}

// codec4Prefixes begin vocabulary strings that go on with data of their
// own: a legal basis naming an article, a category naming an article and
// an object. Appended to, never reordered, like codec4Words.
var codec4Prefixes = [...]string{
	"Regulation (EU) 2018/1862, ", "Regulation (EU) 2018/1861, ", "Regulation (EU) 2018/1860, ",
	"art24-", "art26-", "art32-", "art34-", "art36-", "art37a-", "art38-", "art40-",
}

// codec4Word finds a string's position in codec4Words.
var codec4Word = func() map[string]int {
	m := make(map[string]int, len(codec4Words))
	for i, w := range codec4Words {
		m[w] = i
	}
	return m
}()

// codec4Kinds are the subject kinds by their code (position + 1); code 0
// is followed by the kind spelt out. Appended to, never reordered.
var codec4Kinds = [...]SubjectKind{SubjectPerson, SubjectCompany, SubjectVehicle, SubjectContainer, SubjectDocument,
	SubjectFirearm, SubjectPhone, SubjectEmail, SubjectVessel, SubjectAircraft}

// codec4Epoch is the origin of form 4's times: 2020-01-01T00:00:00Z.
const codec4Epoch = 1577836800

// The present bits of form 4.
const (
	c4Source = 1 << iota // the seven most common first: one byte
	c4Category
	c4Action
	c4Warnings
	c4Issued
	c4Expires
	c4Purposes
	c4LegalBasis
	c4Authority
	c4Posts
	c4Regions
	c4Phone
	c4Email
	c4IssuedNanos
	c4ExpiresNanos
	c4Known = 1<<iota - 1
)

// encodeAlert appends the binary form of a to b, in form 4.
func encodeAlert(b []byte, a *Alert) []byte {
	b = append(b, codecBinary4)
	b = putStr(b, a.ID)
	b = binary.AppendUvarint(b, a.Version)
	s := &a.Subject
	var present uint64
	for _, f := range [...]struct {
		bit uint64
		on  bool
	}{
		{c4Source, a.Source != ""}, {c4Category, a.Category != ""}, {c4Action, a.Action != ""}, {c4Warnings, len(a.Warnings) > 0},
		{c4LegalBasis, a.LegalBasis != ""}, {c4Authority, a.Authority != ""}, {c4Issued, !a.Issued.IsZero()}, {c4Expires, !a.Expires.IsZero()},
		{c4Purposes, len(a.Purposes) > 0}, {c4Posts, len(a.Posts) > 0}, {c4Regions, len(a.Regions) > 0}, {c4Phone, s.Phone != ""}, {c4Email, s.Email != ""},
		{c4IssuedNanos, !a.Issued.IsZero() && a.Issued.Nanosecond() != 0}, {c4ExpiresNanos, !a.Expires.IsZero() && a.Expires.Nanosecond() != 0},
	} {
		if f.on {
			present |= f.bit
		}
	}
	b = binary.AppendUvarint(b, present)
	if present&c4Source != 0 {
		b = putWord(b, a.Source)
	}
	if present&c4Category != 0 {
		b = putWord(b, a.Category)
	}
	if present&c4Action != 0 {
		b = putWord(b, a.Action)
	}
	if present&c4Warnings != 0 {
		b = putWords(b, a.Warnings)
	}
	if present&c4LegalBasis != 0 {
		b = putWord(b, a.LegalBasis)
	}
	if present&c4Authority != 0 {
		b = putWord(b, a.Authority)
	}
	if present&c4Issued != 0 {
		b = putTime4(b, a.Issued, present&c4IssuedNanos != 0)
	}
	if present&c4Expires != 0 {
		b = putTime4(b, a.Expires, present&c4ExpiresNanos != 0)
	}
	if present&c4Purposes != 0 {
		b = putWords(b, a.Purposes)
	}
	if present&c4Posts != 0 {
		b = putWords(b, a.Posts)
	}
	if present&c4Regions != 0 {
		b = putWords(b, a.Regions)
	}
	if present&c4Phone != 0 {
		b = putStr(b, s.Phone)
	}
	if present&c4Email != 0 {
		b = putStr(b, s.Email)
	}
	kind := byte(0)
	for i, k := range codec4Kinds {
		if s.Kind == k {
			kind = byte(i + 1)
		}
	}
	b = append(b, kind)
	if kind == 0 {
		b = putStr(b, string(s.Kind))
	}
	var mask byte
	for i, on := range []bool{s.Person != nil, s.Company != nil, s.Vehicle != nil, s.Container != nil,
		s.Document != nil, s.Firearm != nil, s.Vessel != nil, s.Aircraft != nil} {
		if on {
			mask |= 1 << i
		}
	}
	b = append(b, mask)
	if p := s.Person; p != nil {
		b = putStr(b, p.Surname)
		b = putStr(b, p.Forenames)
		b = putStrs(b, p.Aliases)
		b = putStr(b, p.BirthDate)
		b = putWord(b, p.Sex)
		b = putWords(b, p.Nationalities)
	}
	if c := s.Company; c != nil {
		b = putStr(b, c.Name)
		b = putStrs(b, c.Aliases)
		b = putStr(b, c.EORI)
		b = putStrs(b, c.Identifiers)
		b = putWord(b, c.Country)
		b = putStr(b, c.Address)
	}
	if v := s.Vehicle; v != nil {
		b = putStr(b, v.Plate)
		b = putWord(b, v.PlateCountry)
		b = putStr(b, v.VIN)
		b = putWord(b, v.Make)
		b = putWord(b, v.Model)
		b = putWord(b, v.Colour)
	}
	if c := s.Container; c != nil {
		b = putStr(b, c.Number)
	}
	if d := s.Document; d != nil {
		b = putStr(b, d.Number)
		b = putWord(b, d.Type)
		b = putWord(b, d.Country)
	}
	if f := s.Firearm; f != nil {
		b = putStr(b, f.Serial)
		b = putWord(b, f.Make)
	}
	if v := s.Vessel; v != nil {
		b = putStr(b, v.IMO)
		b = putStr(b, v.Name)
		b = putStrs(b, v.Aliases)
	}
	if ac := s.Aircraft; ac != nil {
		b = putStr(b, ac.Registration)
	}
	return b
}

// decodeAlert4 decodes the body of a form 4 record (after its first byte).
func decodeAlert4(p []byte) (Alert, error) {
	var a Alert
	r := &reader{b: p}
	a.ID = r.str()
	a.Version = r.uvarint()
	present := r.uvarint()
	if present&^c4Known != 0 {
		return Alert{}, fmt.Errorf("%w: alert with unknown fields %#x", ErrCorrupt, present&^c4Known)
	}
	s := &a.Subject
	if present&c4Source != 0 {
		a.Source = r.word()
	}
	if present&c4Category != 0 {
		a.Category = r.word()
	}
	if present&c4Action != 0 {
		a.Action = r.word()
	}
	if present&c4Warnings != 0 {
		a.Warnings = r.words()
	}
	if present&c4LegalBasis != 0 {
		a.LegalBasis = r.word()
	}
	if present&c4Authority != 0 {
		a.Authority = r.word()
	}
	if present&c4Issued != 0 {
		a.Issued = r.time4(present&c4IssuedNanos != 0)
	}
	if present&c4Expires != 0 {
		a.Expires = r.time4(present&c4ExpiresNanos != 0)
	}
	if present&c4Purposes != 0 {
		a.Purposes = r.words()
	}
	if present&c4Posts != 0 {
		a.Posts = r.words()
	}
	if present&c4Regions != 0 {
		a.Regions = r.words()
	}
	if present&c4Phone != 0 {
		s.Phone = r.str()
	}
	if present&c4Email != 0 {
		s.Email = r.str()
	}
	switch kind := int(r.byte()); {
	case kind == 0:
		s.Kind = SubjectKind(r.str())
	case kind <= len(codec4Kinds):
		s.Kind = codec4Kinds[kind-1]
	default:
		r.bad = true
	}
	mask := r.byte()
	if mask&(1<<0) != 0 {
		s.Person = &Person{Surname: r.str(), Forenames: r.str(), Aliases: r.strs(), BirthDate: r.str(), Sex: r.word(), Nationalities: r.words()}
	}
	if mask&(1<<1) != 0 {
		s.Company = &Company{Name: r.str(), Aliases: r.strs(), EORI: r.str(), Identifiers: r.strs(), Country: r.word(), Address: r.str()}
	}
	if mask&(1<<2) != 0 {
		s.Vehicle = &Vehicle{Plate: r.str(), PlateCountry: r.word(), VIN: r.str(), Make: r.word(), Model: r.word(), Colour: r.word()}
	}
	if mask&(1<<3) != 0 {
		s.Container = &Container{Number: r.str()}
	}
	if mask&(1<<4) != 0 {
		s.Document = &Document{Number: r.str(), Type: r.word(), Country: r.word()}
	}
	if mask&(1<<5) != 0 {
		s.Firearm = &Firearm{Serial: r.str(), Make: r.word()}
	}
	if mask&(1<<6) != 0 {
		s.Vessel = &Vessel{IMO: r.str(), Name: r.str(), Aliases: r.strs()}
	}
	if mask&(1<<7) != 0 {
		s.Aircraft = &Aircraft{Registration: r.str()}
	}
	if r.bad {
		return Alert{}, fmt.Errorf("%w: alert truncated or malformed", ErrCorrupt)
	}
	if len(r.b) != 0 {
		return Alert{}, fmt.Errorf("%w: %d bytes after the alert", ErrCorrupt, len(r.b))
	}
	return a, nil
}

// putWord writes s as a word of codec4Words when it is one (uvarint
// n<<1|1), as a prefix of codec4Prefixes and the rest when it begins with
// one (uvarint n<<2|2, then the rest as a string), else as it is (uvarint
// len<<2, then the bytes).
func putWord(b []byte, s string) []byte {
	if i, ok := codec4Word[s]; ok {
		return binary.AppendUvarint(b, uint64(i)<<1|1)
	}
	for i, p := range codec4Prefixes {
		if strings.HasPrefix(s, p) {
			b = binary.AppendUvarint(b, uint64(i)<<2|2)
			return putStr(b, s[len(p):])
		}
	}
	b = binary.AppendUvarint(b, uint64(len(s))<<2)
	return append(b, s...)
}

func putWords(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = putWord(b, s)
	}
	return b
}

// putTime4 writes a non-zero time as seconds from codec4Epoch and, when
// nanos is set, its nanoseconds.
func putTime4(b []byte, t time.Time, nanos bool) []byte {
	b = binary.AppendVarint(b, t.Unix()-codec4Epoch)
	if nanos {
		b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	}
	return b
}

func (r *reader) word() string {
	n := r.uvarint()
	switch {
	case n&1 == 1:
		if n>>1 >= uint64(len(codec4Words)) {
			r.bad, r.b = true, nil
			return ""
		}
		return codec4Words[n>>1]
	case n&3 == 2:
		if n>>2 >= uint64(len(codec4Prefixes)) {
			r.bad, r.b = true, nil
			return ""
		}
		rest := r.str()
		if r.bad {
			return ""
		}
		return codec4Prefixes[n>>2] + rest
	}
	return r.take(n >> 2)
}

func (r *reader) words() []string { return r.list(r.word) }

func (r *reader) time4(nanos bool) time.Time {
	s, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return time.Time{}
	}
	r.b = r.b[n:]
	var ns uint64
	if nanos {
		if ns = r.uvarint(); ns >= 1e9 {
			r.bad, r.b = true, nil
			return time.Time{}
		}
	}
	return time.Unix(s+codec4Epoch, int64(ns)).UTC()
}
