package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer collects a background command's output while the test reads it.
type lockedBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// readmeStep is one line of a README shell block: the command and its
// comment.
type readmeStep struct{ cmd, comment string }

// readmeBlock returns the lines of the first sh block under heading.
func readmeBlock(t *testing.T, readme, heading string) []readmeStep {
	t.Helper()
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q section", heading)
	}
	s = s[i:]
	start := strings.Index(s, "```sh\n")
	end := strings.Index(s[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatalf("no sh block under %q", heading)
	}
	var steps []readmeStep
	for _, l := range strings.Split(s[start+6:start+6+end], "\n") {
		cmd, comment, _ := strings.Cut(l, " #")
		if cmd = strings.TrimSpace(cmd); cmd != "" {
			steps = append(steps, readmeStep{cmd, strings.TrimSpace(comment)})
		}
	}
	return steps
}

var (
	repeatUntilRE = regexp.MustCompile(`^repeat until it shows ([^\s:;,]+)`)
	killJobsRE    = regexp.MustCompile(`^kill((?: %\d+)+)$`)
	fieldHitsRE   = regexp.MustCompile(`field: \d+ scans .*, (\d+) hits;`)
	centralSumRE  = regexp.MustCompile(`central: (\d+) hits stored`)
)

// TestReadmeRunningAnAgentByHand runs README.md's "Running an agent by
// hand" as a technician would type it, line by line, in a copy of the
// repository: `make build`, the broker, keys, a user (typing a
// password), config check, the agent, central, the field, and the stop.
// Lines ending in & run in the background as shell jobs do; "repeat until
// it shows X" is repeated until the output shows X; `kill %N` stops jobs
// as the shell would (SIGTERM) and each must end cleanly. At the end
// central holds every hit the agent reported. The section cannot rot
// without this test failing.
func TestReadmeRunningAnAgentByHand(t *testing.T) {
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	steps := readmeBlock(t, filepath.Join(repo, "README.md"), "## Running an agent by hand")
	// The development configuration's fixed loopback ports must be free.
	for _, port := range []string{"1883", "8443", "8444"} {
		ln, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatalf("port %s is taken on this machine (%v): the README's development setup needs it", port, err)
		}
		ln.Close()
	}
	// A fresh copy of the repository: its files linked, bin/ its own.
	work := t.TempDir()
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if n := e.Name(); n != "bin" && n != ".git" {
			if err := os.Symlink(filepath.Join(repo, n), filepath.Join(work, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	env := append(os.Environ(), "BORDERPOST_KEY_PASSPHRASE=", "JOURNAL_STREAM=")

	type job struct {
		cmd  *exec.Cmd
		out  *lockedBuffer
		done chan error
	}
	var jobs []*job
	t.Cleanup(func() {
		for _, j := range jobs {
			select {
			case <-j.done:
			default:
				j.cmd.Process.Kill()
				<-j.done
			}
		}
	})
	jobOutput := func() string {
		var b strings.Builder
		for i, j := range jobs {
			fmt.Fprintf(&b, "--- job %%%d (%s):\n%s\n", i+1, strings.Join(j.cmd.Args[2:], " "), tailString(j.out.String(), 3000))
		}
		return b.String()
	}
	shell := func(line string) *exec.Cmd {
		c := exec.Command("sh", "-c", "exec "+line)
		c.Dir, c.Env = work, env
		return c
	}
	// ended fails the test when a background job ended on its own.
	ended := func(after string) {
		t.Helper()
		for i, j := range jobs {
			select {
			case err := <-j.done:
				j.done <- err
				t.Fatalf("job %%%d ended by itself after %q: %v\n%s", i+1, after, err, jobOutput())
			default:
			}
		}
	}
	var outputs []string
	for _, st := range steps {
		t.Logf("$ %s", st.cmd)
		switch {
		case strings.HasSuffix(st.cmd, "&"):
			c := shell(strings.TrimSpace(strings.TrimSuffix(st.cmd, "&")))
			j := &job{cmd: c, out: &lockedBuffer{}, done: make(chan error, 1)}
			c.Stdout, c.Stderr = j.out, j.out
			if err := c.Start(); err != nil {
				t.Fatalf("%s: %v", st.cmd, err)
			}
			go func() { j.done <- c.Wait() }()
			jobs = append(jobs, j)
		case killJobsRE.MatchString(st.cmd):
			for _, f := range strings.Fields(killJobsRE.FindStringSubmatch(st.cmd)[1]) {
				n, _ := strconv.Atoi(strings.TrimPrefix(f, "%"))
				if n < 1 || n > len(jobs) {
					t.Fatalf("%s: there is no job %%%d", st.cmd, n)
				}
				j := jobs[n-1]
				j.cmd.Process.Signal(syscall.SIGTERM)
				select {
				case err := <-j.done:
					j.done <- err // for the cleanup
					if err != nil {
						t.Errorf("job %%%d (%s) did not end cleanly: %v\n%s", n, j.cmd.Args[2], err, jobOutput())
					}
				case <-time.After(30 * time.Second):
					t.Fatalf("job %%%d did not stop within 30 s of SIGTERM\n%s", n, jobOutput())
				}
			}
		default:
			want := ""
			if m := repeatUntilRE.FindStringSubmatch(st.comment); m != nil {
				want = m[1]
			}
			deadline := time.Now().Add(3 * time.Minute)
			for {
				c := shell(st.cmd)
				if strings.Contains(st.comment, "password") {
					c.Stdin = strings.NewReader("correct horse battery staple\n")
				}
				out, err := c.CombinedOutput()
				if err == nil && strings.Contains(string(out), want) {
					t.Logf("%s", out)
					outputs = append(outputs, string(out))
					break
				}
				if want == "" || time.Now().After(deadline) {
					t.Fatalf("%s: %v\n%s\n%s", st.cmd, err, out, jobOutput())
				}
				ended(st.cmd)
				time.Sleep(time.Second)
			}
			ended(st.cmd)
		}
	}
	if len(jobs) != 3 {
		t.Fatalf("the README started %d background jobs; the test expects the broker, the agent and central", len(jobs))
	}
	field := fieldHitsRE.FindStringSubmatch(strings.Join(outputs, "\n"))
	central := centralSumRE.FindStringSubmatch(jobs[2].out.String())
	if field == nil || central == nil || field[1] != central[1] || field[1] == "0" {
		t.Errorf("the field saw %v hits, central stored %v: want the same, not zero\n%s", field, central, jobOutput())
	}
}

func tailString(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
