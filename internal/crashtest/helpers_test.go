package crashtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// partnerSecret is the bootstrap partner administrator of every server.
const partnerSecret = "allot_crash_partner_secret"

// long reports whether the long runs were asked for.
func long() bool { return os.Getenv("ALLOT_CRASH_LONG") == "1" }

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// allotBinary builds cmd/allot once per test process.
func allotBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "allot-crashtest-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "allot")
		out, err := exec.Command("go", "build", "-o", binPath, "allot/cmd/allot").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
		_ = os.Chmod(dir, 0o755) // servers may run as another user
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// server is a running `allot serve`.
type server struct {
	t      testing.TB
	cmd    *exec.Cmd
	URL    string
	mu     sync.Mutex
	stderr bytes.Buffer
	exited chan struct{}
}

// startServe starts `allot serve --db db` on a free port and waits until
// it serves. attr, if set, runs it as another user.
func startServe(t testing.TB, db string, env []string, attr *syscall.SysProcAttr) *server {
	t.Helper()
	s, err := tryServe(t, db, env, attr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tryServe is startServe returning the failure (with the server's output)
// instead of failing the test.
func tryServe(t testing.TB, db string, env []string, attr *syscall.SysProcAttr) (*server, error) {
	t.Helper()
	cmd := exec.Command(allotBinary(t), "serve", "--db", db, "--addr", "127.0.0.1:0")
	cmd.Env = append(append(os.Environ(), "ALLOT_BOOTSTRAP_TOKEN="+partnerSecret), env...)
	cmd.SysProcAttr = attr
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{t: t, cmd: cmd, exited: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stderr.WriteString(line + "\n")
			s.mu.Unlock()
			if u, ok := strings.CutPrefix(line, "allot is serving on "); ok {
				ready <- u
			}
		}
		cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { s.kill() })
	select {
	case s.URL = <-ready:
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("allot serve exited before serving:\n%s", s.output())
	case <-time.After(2 * time.Minute):
		s.kill()
		return nil, fmt.Errorf("allot serve did not start serving:\n%s", s.output())
	}
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop shuts the server down gracefully (SIGTERM) and waits.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		s.kill()
	}
}

// client is an HTTP client with a per-request timeout, so that a request in
// flight at a kill fails instead of hanging.
var client = &http.Client{Timeout: time.Minute}

// call sends a request; body is nil, []byte (sent as is with ctype) or a
// value sent as JSON. A transport error gives status 0.
func call(method, url, token string, body any, ctype string) (int, []byte) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
		ctype = "application/json"
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, []byte(err.Error())
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// must sends a request and fails the test unless the status is want; it
// returns the decoded JSON body.
func (s *server) must(want int, method, path, token string, body any, headers ...string) map[string]any {
	s.t.Helper()
	st, data := s.call(method, path, token, body, headers...)
	if st != want {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, st, want, data)
	}
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	return m
}

// call sends a JSON request with optional "Name: value" headers.
func (s *server) call(method, path, token string, body any, headers ...string) (int, []byte) {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		return 0, []byte(err.Error())
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// cli runs an allot command and returns its output and exit code.
func cli(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(allotBinary(t), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}
