package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Alerts written before posts and regions existed (codecBinary1) and
// before the vehicle's colour (codecBinary2) must still read, and one
// written now must keep them.
func TestAlertCodecReadsEveryForm(t *testing.T) {
	a := Alert{ID: "NAT-1", Version: 3, Source: "NATIONAL", Category: "art36", Action: "report",
		Issued: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Purposes: []string{"customs"},
		Subject: Subject{Kind: SubjectVehicle, Vehicle: &Vehicle{Plate: "AB123CD", PlateCountry: "FR"}}}
	v3 := encodeAlert3(nil, &a)
	if old, err := decodeAlertValue(v3); err != nil || !reflect.DeepEqual(old, a) {
		t.Fatalf("form 3 decoded as %+v, %v; want %+v", old, err, a)
	}
	// The older forms are form 3 without its trailing empty colour
	// and vessel aliases, then without its two trailing empty lists.
	if !bytes.HasSuffix(v3, []byte{0, 0, 0, 0}) {
		t.Fatalf("posts, regions, colour and vessel aliases not at the end of the encoding")
	}
	v2 := append([]byte{codecBinary2}, v3[1:len(v3)-2]...)
	if old, err := decodeAlertValue(v2); err != nil || !reflect.DeepEqual(old, a) {
		t.Fatalf("form 2 decoded as %+v, %v; want %+v", old, err, a)
	}
	v1 := append([]byte{codecBinary1}, v3[1:len(v3)-4]...)
	old, err := decodeAlertValue(v1)
	if err != nil {
		t.Fatalf("decode the format written before posts and regions: %v", err)
	}
	if !reflect.DeepEqual(old, a) {
		t.Fatalf("old form decoded as %+v, want %+v", old, a)
	}

	a.Posts, a.Regions = []string{"road", "rail"}, []string{"FR-HDF"}
	back, err := decodeAlertValue(encodeAlert(nil, &a))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Posts, a.Posts) || !reflect.DeepEqual(back.Regions, a.Regions) {
		t.Fatalf("posts and regions came back as %v %v", back.Posts, back.Regions)
	}
	a.Subject.Vehicle.Colour = "dark blue"
	if back, err := decodeAlertValue(encodeAlert(nil, &a)); err != nil || back.Subject.Vehicle.Colour != "dark blue" {
		t.Fatalf("colour came back as %+v, %v", back.Subject.Vehicle, err)
	}
	ship := Alert{ID: "V-1", Version: 1, Subject: Subject{Kind: SubjectVessel, Vessel: &Vessel{IMO: "9074729", Name: "SEA STAR", Aliases: []string{"OCEAN STAR", "STAR I"}}}}
	if back, err := decodeAlertValue(encodeAlert(nil, &ship)); err != nil || !reflect.DeepEqual(back.Subject.Vessel, ship.Subject.Vessel) {
		t.Fatalf("vessel came back as %+v, %v", back.Subject.Vessel, err)
	}
	if id, err := alertIDOf(encodeAlert(nil, &a)); err != nil || id != "NAT-1" {
		t.Fatalf("alertIDOf = %q, %v", id, err)
	}
}

// encodeAlert3 is the encoder of form 3, which agents wrote before form
// 4: replicas hold such records, and they must still read.
func encodeAlert3(b []byte, a *Alert) []byte {
	b = append(b, codecBinary3)
	b = putStr(b, a.ID)
	b = binary.AppendUvarint(b, a.Version)
	b = putStr(b, a.Source)
	b = putStr(b, a.Category)
	b = putStr(b, a.Action)
	b = putStrs(b, a.Warnings)
	b = putStr(b, a.LegalBasis)
	b = putStr(b, a.Authority)
	b = putTime(b, a.Issued)
	b = putTime(b, a.Expires)
	b = putStrs(b, a.Purposes)
	s := &a.Subject
	b = putStr(b, string(s.Kind))
	var mask byte
	for i, present := range []bool{s.Person != nil, s.Company != nil, s.Vehicle != nil, s.Container != nil,
		s.Document != nil, s.Firearm != nil, s.Vessel != nil, s.Aircraft != nil} {
		if present {
			mask |= 1 << i
		}
	}
	b = append(b, mask)
	if p := s.Person; p != nil {
		b = putStr(b, p.Surname)
		b = putStr(b, p.Forenames)
		b = putStrs(b, p.Aliases)
		b = putStr(b, p.BirthDate)
		b = putStr(b, p.Sex)
		b = putStrs(b, p.Nationalities)
	}
	if c := s.Company; c != nil {
		b = putStr(b, c.Name)
		b = putStrs(b, c.Aliases)
		b = putStr(b, c.EORI)
		b = putStrs(b, c.Identifiers)
		b = putStr(b, c.Country)
		b = putStr(b, c.Address)
	}
	if v := s.Vehicle; v != nil {
		b = putStr(b, v.Plate)
		b = putStr(b, v.PlateCountry)
		b = putStr(b, v.VIN)
		b = putStr(b, v.Make)
		b = putStr(b, v.Model)
	}
	if c := s.Container; c != nil {
		b = putStr(b, c.Number)
	}
	if d := s.Document; d != nil {
		b = putStr(b, d.Number)
		b = putStr(b, d.Type)
		b = putStr(b, d.Country)
	}
	if f := s.Firearm; f != nil {
		b = putStr(b, f.Serial)
		b = putStr(b, f.Make)
	}
	if v := s.Vessel; v != nil {
		b = putStr(b, v.IMO)
		b = putStr(b, v.Name)
	}
	if ac := s.Aircraft; ac != nil {
		b = putStr(b, ac.Registration)
	}
	b = putStr(b, s.Phone)
	b = putStr(b, s.Email)
	b = putStrs(b, a.Posts)
	b = putStrs(b, a.Regions)
	var colour string
	if v := s.Vehicle; v != nil {
		colour = v.Colour
	}
	b = putStr(b, colour)
	var aliases []string
	if v := s.Vessel; v != nil {
		aliases = v.Aliases
	}
	return putStrs(b, aliases)
}

// sisDocument is the typical record of a SIS-sized list: a document, and
// little else.
func sisDocument(i int) Alert {
	return Alert{ID: fmt.Sprintf("G%010d", i), Version: 1, Source: "EUROPOL", Category: "art38-document", Action: "refuse entry",
		Issued: time.Date(2025, 12, 4, 19, 0, 0, 0, time.UTC), Purposes: []string{"customs", "border"},
		Subject: Subject{Kind: SubjectDocument, Document: &Document{Number: fmt.Sprintf("F%08d", i), Type: "passport", Country: "BG"}}}
}

// Form 4 keeps every field of every kind of alert, spelt or as a word,
// with or without nanoseconds, and is the form written.
func TestAlertCodec4RoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	alerts := []Alert{
		sisDocument(7),
		{ID: "SIS-DE-000042", Version: 3, Source: "SIS", Category: "art26-arrest", Action: "arrest", Warnings: []string{"armed", "a warning of its own"},
			LegalBasis: "Regulation (EU) 2018/1862, Art. 26", Authority: "DE-SIRENE", Issued: at, Expires: at.Add(5*365*24*time.Hour + 123456789),
			Purposes: []string{"police", "border"}, Posts: []string{"road", "rail"}, Regions: []string{"FR-HDF"},
			Subject: Subject{Kind: SubjectPerson, Person: &Person{Surname: "Kowalski", Forenames: "Jan Piotr", Aliases: []string{"Kowalsky"},
				BirthDate: "1970-05", Sex: "M", Nationalities: []string{"PL", "DE"}}}},
		{ID: "C-1", Version: 1 << 40, Issued: time.Date(1999, 1, 1, 0, 0, 0, 1, time.UTC),
			Subject: Subject{Kind: SubjectCompany, Company: &Company{Name: "Baltic Trading", Aliases: []string{"BT"}, EORI: "DE123", Identifiers: []string{"x"}, Country: "DE", Address: "Hafen 1"}}},
		{ID: "V-1", Version: 2, Subject: Subject{Kind: SubjectVehicle, Vehicle: &Vehicle{Plate: "AB123CD", PlateCountry: "FR", VIN: "WVWZZZ1JZXW000001", Make: "Skoda", Model: "Octavia", Colour: "white with a blue stripe"}}},
		{ID: "K-1", Version: 1, Subject: Subject{Kind: SubjectContainer, Container: &Container{Number: "MSCU1234565"}}},
		{ID: "F-1", Version: 1, Subject: Subject{Kind: SubjectFirearm, Firearm: &Firearm{Serial: "VF7604930", Make: "Glock"}}},
		{ID: "P-1", Version: 1, Subject: Subject{Kind: SubjectPhone, Phone: "+491701234567"}},
		{ID: "E-1", Version: 1, Subject: Subject{Kind: SubjectEmail, Email: "a@example.org"}},
		{ID: "S-1", Version: 1, Subject: Subject{Kind: SubjectVessel, Vessel: &Vessel{IMO: "9074729", Name: "SEA STAR", Aliases: []string{"OCEAN STAR"}}}},
		{ID: "A-1", Version: 1, Subject: Subject{Kind: SubjectAircraft, Aircraft: &Aircraft{Registration: "D-ABCD"}}},
		{ID: "X-1", Version: 1, Subject: Subject{Kind: "a kind of its own", Phone: "+1"}},
	}
	for _, a := range alerts {
		b := encodeAlert(nil, &a)
		if b[0] != codecBinary4 {
			t.Fatalf("%s written in form %#x, want 4", a.ID, b[0])
		}
		back, err := decodeAlertValue(b)
		if err != nil || !reflect.DeepEqual(back, a) {
			t.Fatalf("%s came back as %+v, %v; want %+v", a.ID, back, err, a)
		}
		if id, err := alertIDOf(b); err != nil || id != a.ID {
			t.Fatalf("alertIDOf = %q, %v; want %s", id, err, a.ID)
		}
	}
}

// A SIS list is a hundred million records like sisDocument: form 4 holds
// one in at most 52 bytes (form 3: 116).
func TestAlertCodec4SizeOfAnIdentifier(t *testing.T) {
	a := sisDocument(123456789)
	if n := len(encodeAlert(nil, &a)); n > 52 {
		t.Fatalf("a document alert takes %d bytes, want at most 52 (form 3: %d)", n, len(encodeAlert3(nil, &a)))
	}
}

// A malformed form 4 record is refused, never read as another alert.
func TestAlertCodec4RefusesMalformed(t *testing.T) {
	a := sisDocument(1)
	good := encodeAlert(nil, &a)
	cases := map[string][]byte{
		"truncated":           good[:len(good)-1],
		"trailing bytes":      append(bytes.Clone(good), 0),
		"unknown field bits":  append(binary.AppendUvarint(append(append([]byte{codecBinary4}, putStr(nil, "X")...), 1), c4Known+1), 0, 0),
		"word beyond table":   append(append([]byte{codecBinary4}, putStr(nil, "X")...), 1, c4Source, byte(len(codec4Words)<<1|1), 0, 0),
		"prefix beyond table": append(append([]byte{codecBinary4}, putStr(nil, "X")...), 1, c4Source, byte(len(codec4Prefixes)<<2|2), 0, 0, 0),
		"prefix rest cut":     append(append([]byte{codecBinary4}, putStr(nil, "X")...), 1, c4Source, 2, 5, 'a'),
		"kind beyond table":   append(append([]byte{codecBinary4}, putStr(nil, "X")...), 1, 0, byte(len(codec4Kinds)+1), 0),
		"unknown form":        append([]byte{0x05}, good[1:]...),
	}
	for name, b := range cases {
		if _, err := decodeAlertValue(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// storedForm returns the form byte of the plaintext stored for id.
func storedForm(t *testing.T, r *Replica, id string) byte {
	t.Helper()
	var form byte
	err := r.db.View(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		k := st.ring.recordKey("alert", id)
		plain, err := st.ks.open(bucketAlerts, k, st.gen.alerts.Get(k))
		if err != nil {
			return err
		}
		form = plain[0]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return form
}

// A replica written by an older agent holds form 3 records: they read
// through every path (by term, by walking), and one rewritten by a delta
// or copied by a key rotation is written in form 4.
func TestReplicaReadsForm3Records(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	r := openTerms(t, path, testKey(1), "v1")
	defer r.Close()
	have := map[string]Alert{}
	old := sisDocument(1)
	old.Subject.Document.Number = "OLD1"
	cur, _ := r.Cursor()
	if err := r.Apply(ctx, change(cur, have, []Alert{old, plate("P-1", "NEW1", 1)}, nil)); err != nil {
		t.Fatal(err)
	}
	if f := storedForm(t, r, "P-1"); f != codecBinary4 {
		t.Fatalf("a new record is in form %#x, want 4", f)
	}
	err := r.db.Update(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		k := st.ring.recordKey("alert", old.ID)
		v, err := st.ring.seal(bucketAlerts, k, encodeAlert3(nil, &old))
		if err != nil {
			return err
		}
		return st.gen.alerts.Put(k, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	if f := storedForm(t, r, old.ID); f != codecBinary3 {
		t.Fatalf("the planted record is in form %#x", f)
	}
	if got, err := r.AlertsByTerm("doc\x00OLD1"); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], old) {
		t.Fatalf("form 3 record by term: %+v, %v", got, err)
	}
	n := 0
	if err := r.Alerts(ctx, func(a Alert) error { n++; return nil }); err != nil || n != 2 {
		t.Fatalf("walk over forms 3 and 4: %d alerts, %v", n, err)
	}
	again := old
	again.Version = 2
	cur, _ = r.Cursor()
	if err := r.Apply(ctx, change(cur, have, []Alert{again}, nil)); err != nil {
		t.Fatal(err)
	}
	if f := storedForm(t, r, old.ID); f != codecBinary4 {
		t.Fatalf("a re-issued record is in form %#x, want 4", f)
	}
	// A key rotation copies a form 3 record in form 4, unchanged.
	p1 := have["P-1"]
	err = r.db.Update(func(tx *bolt.Tx) error {
		st, err := r.state(tx)
		if err != nil {
			return err
		}
		k := st.ring.recordKey("alert", p1.ID)
		v, err := st.ring.seal(bucketAlerts, k, encodeAlert3(nil, &p1))
		if err != nil {
			return err
		}
		return st.gen.alerts.Put(k, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Rotate(ctx, testKey(2), 10, nil); err != nil {
		t.Fatal(err)
	}
	if f := storedForm(t, r, p1.ID); f != codecBinary4 {
		t.Fatalf("a form 3 record copied by a rotation is in form %#x, want 4", f)
	}
	if got, err := r.AlertsByTerm("plate\x00NEW1"); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], p1) {
		t.Fatalf("after the rotation: %+v, %v; want %+v", got, err, p1)
	}
}

// A form 4 record is sealed as every record is: one altered, or moved
// under another alert's key, fails the check that reads it (ErrCorrupt),
// never answers as a hit or a miss.
func TestCompactRecordTamperRefused(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"bit flipped", "moved"} {
		path := filepath.Join(t.TempDir(), "r.db")
		r := openTerms(t, path, testKey(1), "v1")
		have := map[string]Alert{}
		if err := r.Apply(ctx, change(Cursor{}, have, []Alert{sisDocument(1), sisDocument(2)}, nil)); err != nil {
			t.Fatal(err)
		}
		err := r.db.Update(func(tx *bolt.Tx) error {
			st, err := r.state(tx)
			if err != nil {
				return err
			}
			k1, k2 := st.ring.recordKey("alert", sisDocument(1).ID), st.ring.recordKey("alert", sisDocument(2).ID)
			v := bytes.Clone(st.gen.alerts.Get(k1))
			if how == "moved" {
				v = bytes.Clone(st.gen.alerts.Get(k2))
			} else {
				v[len(v)/2] ^= 0x10
			}
			return st.gen.alerts.Put(k1, v)
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.AlertsByTerm("doc\x00" + sisDocument(1).Subject.Document.Number)
		if !errors.Is(err, ErrCorrupt) || len(got) != 0 {
			t.Errorf("%s: lookup gave %d alerts, %v; want ErrCorrupt", how, len(got), err)
		}
		r.Close()
	}
}

// BenchmarkDecodeAlert: the decode every identifier hit pays, per form.
func BenchmarkDecodeAlert(b *testing.B) {
	a := sisDocument(123456789)
	for _, form := range []struct {
		name string
		enc  func([]byte, *Alert) []byte
	}{{"form3", encodeAlert3}, {"form4", encodeAlert}} {
		p := form.enc(nil, &a)
		b.Run(form.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeAlertValue(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Random alerts, fields empty or set, strings words of the table or not,
// times before and after 2020: form 4 gives back what form 3 gives back.
func TestAlertCodec4AgreesWithForm3(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 16))
	str := func() string {
		switch rng.IntN(4) {
		case 0:
			return ""
		case 1:
			return codec4Words[rng.IntN(len(codec4Words))]
		case 2:
			return strings.Repeat("x", rng.IntN(200))
		case 3:
			if rng.IntN(2) == 0 {
				return codec4Prefixes[rng.IntN(len(codec4Prefixes))] + strings.Repeat("y", rng.IntN(3))
			}
		}
		return fmt.Sprintf("s%d", rng.Uint64())
	}
	strs := func() []string {
		var out []string
		for range rng.IntN(4) {
			out = append(out, str())
		}
		return out
	}
	at := func() time.Time {
		if rng.IntN(3) == 0 {
			return time.Time{}
		}
		ns := int64(0)
		if rng.IntN(2) == 0 {
			ns = rng.Int64N(1e9)
		}
		return time.Unix(rng.Int64N(4e9)-1e9, ns).UTC()
	}
	for i := range 3000 {
		a := Alert{ID: fmt.Sprint("A", i), Version: rng.Uint64N(1 << 50), Source: str(), Category: str(), Action: str(), Warnings: strs(),
			LegalBasis: str(), Authority: str(), Issued: at(), Expires: at(), Purposes: strs(), Posts: strs(), Regions: strs()}
		s := &a.Subject
		s.Kind = codec4Kinds[rng.IntN(len(codec4Kinds))]
		s.Phone, s.Email = str(), str()
		switch rng.IntN(9) {
		case 0:
			s.Person = &Person{Surname: str(), Forenames: str(), Aliases: strs(), BirthDate: str(), Sex: str(), Nationalities: strs()}
		case 1:
			s.Company = &Company{Name: str(), Aliases: strs(), EORI: str(), Identifiers: strs(), Country: str(), Address: str()}
		case 2:
			s.Vehicle = &Vehicle{Plate: str(), PlateCountry: str(), VIN: str(), Make: str(), Model: str(), Colour: str()}
		case 3:
			s.Container = &Container{Number: str()}
		case 4:
			s.Document = &Document{Number: str(), Type: str(), Country: str()}
		case 5:
			s.Firearm = &Firearm{Serial: str(), Make: str()}
		case 6:
			s.Vessel = &Vessel{IMO: str(), Name: str(), Aliases: strs()}
		case 7:
			s.Aircraft = &Aircraft{Registration: str()}
		}
		old, err3 := decodeAlertValue(encodeAlert3(nil, &a))
		got, err4 := decodeAlertValue(encodeAlert(nil, &a))
		if err3 != nil || err4 != nil || !reflect.DeepEqual(got, old) || !reflect.DeepEqual(got, a) {
			t.Fatalf("alert %d: form 4 gives %+v (%v), form 3 %+v (%v), want %+v", i, got, err4, old, err3, a)
		}
	}
}
