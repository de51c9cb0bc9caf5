package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// valid is a configuration that loads; tests change one part of it.
const valid = `agent:
  id: post-1
store:
  path: /tmp/r.db
  key:
    file: /tmp/k
mqtt:
  broker: tcp://127.0.0.1:1883
trust:
  central_keys: [/tmp/c.pub]
sync:
  hit_window: 512
  resend_after: 10s
  central_hit_key: /tmp/h.pub
`

func problems(t *testing.T, src string) Problems {
	t.Helper()
	_, err := Load(strings.NewReader(src))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %v", err)
	}
	return ps
}

// goTypeRE matches what the YAML library says in Go's terms.
var goTypeRE = regexp.MustCompile(`time\.Duration|config\.|unmarshal|!!str|!!int|\bint\b|float64|\[\]string`)

// A mistyped value is said in words, on its own line, with an example of
// what to write; nothing names a Go type.
func TestTypeErrorsInWords(t *testing.T) {
	src := strings.Replace(valid, "resend_after: 10s", `resend_after: "ten sec"`, 1)
	src = strings.Replace(src, "hit_window: 512", "hit_window: lots", 1)
	src += "match:\n  name_threshold: high\nterminal:\n  secure_cookies: maybe\n"
	ps := problems(t, src)
	want := map[string]string{
		"sync.hit_window":         `line 12: sync.hit_window: "lots" is not a whole number; write e.g. 512`,
		"sync.resend_after":       `line 13: sync.resend_after: "ten sec" is not a duration; write e.g. 10s`,
		"match.name_threshold":    `line 16: match.name_threshold: "high" is not a number; write e.g. 0.7`,
		"terminal.secure_cookies": `line 18: terminal.secure_cookies: "maybe" is not true or false`,
	}
	for _, p := range ps {
		if w, ok := want[p.Key]; ok {
			if !strings.HasPrefix(p.String(), w) {
				t.Errorf("got  %s\nwant %s", p, w)
			}
			delete(want, p.Key)
		}
		if goTypeRE.MatchString(p.String()) {
			t.Errorf("problem names a Go type: %s", p)
		}
	}
	if len(want) > 0 {
		t.Errorf("not reported: %v; got %v", want, ps)
	}
}

// An unknown key is named with the closest known one.
func TestUnknownKeyDidYouMean(t *testing.T) {
	ps := problems(t, strings.Replace(valid, "hit_window:", "hit_windw:", 1))
	if len(ps) != 1 || ps[0].String() != "line 12: sync.hit_windw: unknown setting; did you mean hit_window?" {
		t.Fatalf("got %v", ps)
	}
}

// A tab in the indentation is named as a tab, on its own line; a YAML
// syntax error is reported on the line at fault, not the parser's
// enclosing block.
func TestSyntaxErrorsOnTheirLine(t *testing.T) {
	for _, c := range []struct {
		name, src string
		line      int
		says      string
	}{
		{"tab", strings.Replace(valid, "  hit_window", "\thit_window", 1), 12, "tab"},
		{"indentation", strings.Replace(valid, "  resend_after", " resend_after", 1), 13, "indentation"},
		{"list item among settings", strings.Replace(valid, "  resend_after: 10s", "  - resend_after: 10s", 1), 13, "indentation"},
		{"unclosed list", strings.Replace(valid, "[/tmp/c.pub]", "[/tmp/c.pub", 1), 10, "not closed"},
		{"unclosed quote", valid + "log:\n  level: \"info\n", 16, "quote"},
	} {
		ps := problems(t, c.src)
		if len(ps) != 1 || ps[0].Line != c.line || !strings.Contains(ps[0].Msg, c.says) {
			t.Errorf("%s: got %v, want line %d saying %q", c.name, ps, c.line, c.says)
		}
	}
}

// Every problem comes at once: syntax-level, type-level and value-level
// problems of one file together, in file order.
func TestAllProblemsAtOnce(t *testing.T) {
	src := strings.Replace(valid, "id: post-1", "id: Post 1", 1)
	src = strings.Replace(src, "resend_after: 10s", "resend_after: soon", 1)
	src = strings.Replace(src, "hit_window:", "hit_windw:", 1)
	src += "http:\n  listen: 127.0.0.1:99999\n"
	ps := problems(t, src)
	var keys []string
	for _, p := range ps {
		keys = append(keys, p.Key)
	}
	if got := strings.Join(keys, " "); got != "agent.id sync.hit_windw sync.resend_after http.listen" {
		t.Errorf("problems %q; want agent.id, sync.hit_windw, sync.resend_after, http.listen in that order: %v", got, ps)
	}
}

// TLS settings must agree with the broker's scheme, and ports must be in
// range.
func TestTLSAgreesWithSchemeAndPortsInRange(t *testing.T) {
	ps := problems(t, strings.Replace(valid, "  broker: tcp://127.0.0.1:1883\n", "  broker: tcp://127.0.0.1:1883\n  ca: /etc/borderpost/ca.pem\n", 1))
	if len(ps) != 1 || ps[0].Key != "mqtt.ca" || ps[0].Line != 9 || !strings.Contains(ps[0].Msg, "ssl://") {
		t.Errorf("ca with tcp://: %v", ps)
	}
	ps = problems(t, strings.Replace(valid, "tcp://127.0.0.1:1883", "ssl://central.example:88830", 1))
	if len(ps) != 1 || ps[0].Key != "mqtt.broker" || !strings.Contains(ps[0].Msg, "out of range") {
		t.Errorf("broker port 88830: %v", ps)
	}
	ps = problems(t, valid+"metrics:\n  listen: 127.0.0.1:70000\n")
	if len(ps) != 1 || ps[0].Key != "metrics.listen" || ps[0].Line != 16 {
		t.Errorf("metrics port 70000: %v", ps)
	}
}

// CheckFiles finds what `run` would trip on: missing files, a key file
// others can read, each on the line that names it.
func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "data.key"), filepath.Join(dir, "central.pub")
	os.WriteFile(key, []byte("secret"), 0o644)
	os.WriteFile(pub, []byte("pub"), 0o644)
	src := strings.NewReplacer("/tmp/r.db", filepath.Join(dir, "replica.db"), "/tmp/k", key, "/tmp/c.pub", pub,
		"/tmp/h.pub", filepath.Join(dir, "hits.pub")).Replace(valid)
	cfg, err := Load(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	ps := cfg.CheckFiles()
	if len(ps) != 2 {
		t.Fatalf("want 2 problems, got %v", ps)
	}
	if ps[0].Key != "store.key.file" || ps[0].Line != 6 || !strings.Contains(ps[0].Msg, "mode 0644") || !strings.Contains(ps[0].Msg, "chmod 600") {
		t.Errorf("readable key file: %v", ps[0])
	}
	if ps[1].Key != "sync.central_hit_key" || ps[1].Line != 14 || !strings.Contains(ps[1].Msg, "does not exist") {
		t.Errorf("missing hit key: %v", ps[1])
	}
	os.Chmod(key, 0o600)
	os.WriteFile(filepath.Join(dir, "hits.pub"), []byte("pub"), 0o644)
	if ps := cfg.CheckFiles(); len(ps) != 0 {
		t.Errorf("all files in place: %v", ps)
	}
}

// A setting given twice is named once, and the values' checks do not run
// on a file that could not be read: no made-up "required" problems.
func TestSetTwice(t *testing.T) {
	ps := problems(t, valid+"mqtt:\n  keepalive: 5s\n")
	if len(ps) != 1 || ps[0].Key != "mqtt" || ps[0].Line != 15 || !strings.Contains(ps[0].Msg, "set twice") {
		t.Errorf("got %v", ps)
	}
}

// A file that is not a set of settings at all says so, on its line.
func TestNotSettings(t *testing.T) {
	ps := problems(t, "# a comment\n- agent\n- store\n")
	if len(ps) != 1 || ps[0].String() != "line 2: the file holds a list, not settings: write one section per line, as in configs/agent.example.yaml" {
		t.Errorf("got %v", ps)
	}
}
