package anpr

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/borderpost/borderpost/devices/ident"
)

// checkParsed asserts what every accepted read must satisfy, whichever
// parser produced it, and that its conversion either fails with a named
// field or yields a well-formed item.
func checkParsed(t *testing.T, r Read) {
	t.Helper()
	if r.Plate == "" || r.Country == "" {
		t.Fatalf("accepted without plate or country: %+v", r)
	}
	for _, f := range []struct {
		s   string
		max int
	}{{r.Lane, maxLaneBytes}, {r.Plate, maxPlateBytes}, {r.Country, maxCountryBytes}, {r.Camera, maxCameraBytes}, {r.Image, maxImageBytes}} {
		if err := checkText(f.s, f.max); err != nil {
			t.Fatalf("accepted text that checkText refuses (%v): %+v", err, r)
		}
	}
	if !(r.Confidence >= 0 && r.Confidence <= 1) {
		t.Fatalf("confidence %v outside 0..1", r.Confidence)
	}
	if !r.Time.IsZero() && (r.Time.Before(minTime) || !r.Time.Before(maxTime)) {
		t.Fatalf("time %v outside the window", r.Time)
	}
	c, err := r.Check("fuzz", testNow)
	if err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) || (fe.Field != "plate" && fe.Field != "country") {
			t.Fatalf("conversion error without field: %v", err)
		}
		return
	}
	it := c.Items[0]
	if it.Raw != r.Plate || it.Value == "" || len(it.Country) != 2 || it.Confidence != r.Confidence {
		t.Fatalf("item %+v from %+v", it, r)
	}
	if it.Correction != "" {
		if ok, _ := FitsPlateFormat(it.Country, it.Value); !ok {
			t.Fatalf("corrected value does not fit: %+v", it)
		}
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"time":"2026-11-27T03:14:07Z","lane":"3","plate":"B MW 1234","country":"D","confidence":0.93,"camera":"gate-a","image":"img/1.jpg"}`,
		`{"plate":"AB 1O3 CD","country":"I","time":1795749249,"confidence":62}`,
		`{"plate":"B1","country":"D","plate":"B2"}`,
		`{"plate":"B\u0000","country":"D"}`,
		`{"plate":null,"country":"D"}`,
		`[{"plate":"B1","country":"D"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseJSON(data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FieldError: %v", err)
			}
			if !utf8.ValidString(err.Error()) || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error message not one line of UTF-8: %q", err.Error())
			}
			return
		}
		checkParsed(t, r)
	})
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"2026-11-27T03:14:07Z;3;B MW 1234;D;0.93",
		"1795749249512,2,1-ABC-123,B,0.88",
		"1795749249\t1\tGB-12-BT\tNL\t0,91\timg.jpg",
		";4;1234 BCD;E;\r",
		"2026-11-27T04:14:09.250+01:00;3;AB-123-CD;F;87",
		"just garbage",
		";;P;D;0x1p-2",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseLine(line)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FieldError: %v", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error message spans lines: %q", err.Error())
			}
			return
		}
		checkParsed(t, r)
		// What AppendLine writes parses back to the same read, unless a
		// field holds AppendLine's own separator.
		if strings.Contains(r.Lane+r.Plate+r.Country+r.Image, ";") {
			return
		}
		back, err := ParseLine(AppendLine(nil, r))
		if err != nil {
			t.Fatalf("AppendLine output refused: %v (%+v)", err, r)
		}
		if !back.Time.Equal(r.Time) || back.Lane != r.Lane || back.Plate != r.Plate || back.Country != r.Country ||
			back.Confidence != r.Confidence || back.Image != r.Image {
			t.Fatalf("round trip:\n got  %+v\n want %+v", back, r)
		}
	})
}

func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		`[{"plate":"AB 1O3 CD","country":"I"}, {"plate":"B1","country":"XX"}, {"plate":"WA12345","country":"PL","x":1}]`,
		`{"plate":"B MW 1234","country":"D"}`,
		`[]`, ` [ 1, "x", null ] `, `[{}] x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		reads, batch, err := decodeBody(body)
		if err != nil {
			return
		}
		if len(reads) == 0 || len(reads) > MaxBatch || (!batch && len(reads) != 1) {
			t.Fatalf("%d reads, batch %v", len(reads), batch)
		}
		for _, br := range reads {
			if br.err == nil {
				checkParsed(t, br.read)
			}
		}
	})
}

func FuzzCorrectPlate(f *testing.F) {
	for _, s := range [][2]string{
		{"I", "AB 1O3 CD"}, {"IT", "AB1OOCD"}, {"D", "AB1O5"}, {"PL", "WA 1234O"}, {"NL", "0B-12-GH"},
		{"F", "A8-123-CD"}, {"E", "I234BCD"}, {"CZ", "1A2 345S"}, {"D", "MÜ AB 123"}, {"USA", "8OI5Z"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, country, raw string) {
		iso, plate, err := ident.NormalizePlate(country, raw)
		if err != nil {
			return
		}
		value, how := CorrectPlate(iso, plate)
		if how == "" {
			if value != plate {
				t.Fatalf("value changed without a correction: %q -> %q", plate, value)
			}
			return
		}
		if ok, _ := FitsPlateFormat(iso, value); !ok {
			t.Fatalf("%s %q -> %q does not fit", iso, plate, value)
		}
		if ok, _ := FitsPlateFormat(iso, plate); ok {
			t.Fatalf("%s %q fits already but was corrected to %q", iso, plate, value)
		}
		a, b := []rune(plate), []rune(value)
		if len(a) != len(b) {
			t.Fatalf("length changed: %q -> %q", plate, value)
		}
		changed := 0
		for i := range a {
			if a[i] != b[i] {
				changed++
				if to, ok := confusedWith(a[i]); !ok || to != b[i] {
					t.Fatalf("position %d: %c -> %c is not an OCR confusion", i+1, a[i], b[i])
				}
			}
		}
		if changed < 1 || changed > maxPlateFixes || strings.Count(how, "->") != changed {
			t.Fatalf("%d changes, correction %q", changed, how)
		}
	})
}

// FuzzLineConn feeds arbitrary bytes to one line-server connection and
// checks the framing: every reply is one line starting "OK " or "ERR ",
// and every OK stands for one check handed to the Checker.
func FuzzLineConn(f *testing.F) {
	for _, s := range []string{
		"2026-11-27T03:14:07Z;3;B MW 1234;D;0.93\n;;AB 1O3 CD;I;0.6\r\n\n",
		"garbage\n\x00\xff\n;;B1;D;1",
		strings.Repeat("x", 2*MaxLineBytes) + "\n;;B1;D;1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		rc := &recordingChecker{}
		s := &LineServer{Checker: rc, ReadsPerSecond: -1, Logger: slog.New(slog.DiscardHandler)}
		served := make(chan struct{})
		go func() {
			defer close(served)
			defer server.Close()
			s.serveConn(context.Background(), server)
		}()
		replies := make(chan []string)
		go func() {
			var got []string
			sc := bufio.NewScanner(client)
			for sc.Scan() {
				got = append(got, sc.Text())
			}
			replies <- got
		}()
		_, _ = client.Write(data)
		// Closing our end ends the server's reads; it has answered all it
		// read by then, since net.Pipe writes complete only when read.
		client.Close()
		<-served
		got := <-replies
		oks := 0
		for _, r := range got {
			switch {
			case strings.HasPrefix(r, "OK "):
				oks++
			case strings.HasPrefix(r, "ERR "):
			default:
				t.Fatalf("reply %q is neither OK nor ERR", r)
			}
		}
		// Replies written after the close are lost, so OKs may be fewer
		// than checks, never more.
		if oks > rc.count() {
			t.Fatalf("%d OK replies for %d checks", oks, rc.count())
		}
	})
}
