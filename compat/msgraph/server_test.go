package msgraph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const bootstrapToken = "allot_compat_bootstrap_secret"

// server is a running `allot serve`.
type server struct {
	t   *testing.T
	url string
}

// startServer builds the main module's cmd/allot and runs it on a free
// loopback port with a temporary SQLite database. It is stopped when the
// test ends.
func startServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "allot")
	build := exec.Command("go", "build", "-o", bin, "./cmd/allot")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building allot: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", "--addr", addr, "--db", filepath.Join(dir, "allot.db"))
	cmd.Env = append(os.Environ(), "ALLOT_BOOTSTRAP_TOKEN="+bootstrapToken)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("allot serve output:\n%s", logs.String())
		}
	})
	s := &server{t: t, url: "http://" + addr}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("allot did not become ready: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// call sends a plain HTTP request and decodes the JSON answer into out.
func (s *server) call(method, path, token string, body any, want int, out any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, s.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

// tenant creates a customer with subscriptions and returns its id and a
// Global Administrator token, over the partner and admin APIs.
func (s *server) tenant(subs map[string]int) (string, string) {
	s.t.Helper()
	var c struct {
		ID string `json:"id"`
	}
	s.call("POST", "/partner/v1/customers", bootstrapToken, map[string]any{
		"companyProfile": map[string]any{"companyName": "Contoso", "domain": "contoso.example"}, "defaultUsageLocation": "US"}, 201, &c)
	for offer, qty := range subs {
		s.call("POST", "/partner/v1/customers/"+c.ID+"/subscriptions", bootstrapToken, map[string]any{"offerId": offer, "quantity": qty}, 201, nil)
	}
	var tok struct {
		Token string `json:"token"`
	}
	s.call("POST", fmt.Sprintf("/allot/v1/tenants/%s/tokens", c.ID), bootstrapToken,
		map[string]any{"displayName": "sdk", "roles": []string{"GlobalAdministrator"}}, 201, &tok)
	return c.ID, tok.Token
}
