package terminal

import (
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// The page must work on a post with no internet: nothing it embeds may
// point outside the agent, and the browser is told to load nothing else.
func TestPageIsSelfContained(t *testing.T) {
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|@import|cdn`)
	err := fs.WalkDir(webFS, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(webFS, p)
		if m := external.Find(b); m != nil {
			t.Errorf("%s refers outside the agent: %q", p, m)
		}
		if strings.HasSuffix(p, ".html") && regexp.MustCompile(`<script>|\son[a-z]+=|style=`).Match(b) {
			t.Errorf("%s has inline script or style, which the CSP forbids", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, testConfig(), false)
	for path, ctype := range map[string]string{"/": "text/html", "/static/app.js": "javascript", "/static/app.css": "text/css"} {
		resp, err := r.srv.Client().Get(r.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != http.StatusOK || !strings.Contains(h.Get("Content-Type"), ctype) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, h.Get("Content-Type"))
		}
		if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") || h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: security headers missing: %v", path, h)
		}
	}
	resp, _ := r.srv.Client().Get(r.srv.URL + "/static/../terminal.go")
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatal("served a file outside the page")
	}
}
