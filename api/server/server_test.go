package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/graph"
	"allot/api/partner"
	"allot/api/server"
	"allot/web"
)

// Every response says nosniff: JSON, errors, the admin center's HTML and
// its static files, health and metrics.
func TestEveryResponseIsNosniff(t *testing.T) {
	c := apitest.NewContoso(t, partner.Register, admin.Register, graph.Register, web.Register)
	e, ga := c.Env, c.Admin
	for _, c := range []struct{ path, token string }{
		{"/healthz", ""}, {"/readyz", ""}, {"/metrics", ""},
		{"/v1.0/users", ga}, {"/v1.0/users", ""}, {"/v1.0/users/nobody", ga}, {"/no/such/route", ""},
		{"/partner/v1/customers", apitest.PartnerToken},
		{"/admin/signin", ""}, {"/admin/static/app.css", ""}, {"/admin/", ""},
	} {
		r := e.Call("GET", c.path, c.token, nil)
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s (%d): X-Content-Type-Options %q", c.path, r.Status, got)
		}
	}
}

// A body over a route's limit is 413 with Graph's error body; a declared
// Content-Length over the server's limit is 413 before anything is read.
func TestOversizedBodiesAre413(t *testing.T) {
	e := apitest.New(t, partner.Register, graph.Register)
	big := `{"companyProfile":{"companyName":"` + strings.Repeat("x", 2<<20) + `"}}`
	r := e.Call("POST", "/partner/v1/customers", apitest.PartnerToken, big)
	if r.Status != http.StatusRequestEntityTooLarge || r.ErrorCode() != "RequestEntityTooLarge" {
		t.Fatalf("2 MiB JSON body: %d %s", r.Status, r.Body)
	}
	if n := len(e.RT.List()); n != 0 {
		t.Fatalf("a refused request created %d tenants", n)
	}

	// Declares 2 GiB, sends a few bytes: answered at once.
	conn, err := net.Dial("tcp", e.HTTP.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "POST /partner/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+apitest.PartnerToken+
		"\r\nContent-Type: application/json\r\nContent-Length: 2147483648\r\n\r\n{")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared 2 GiB: status %d", resp.StatusCode)
	}
}

// serve starts the server's own http.Server (its timeouts) on 127.0.0.1.
func serve(t *testing.T, s *server.Server) string {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	hs.Config = s.HTTPServer()
	hs.Start()
	t.Cleanup(hs.Close)
	return hs.Listener.Addr().String()
}

// closedByServer waits (up to 20 s, a bound far above the timeouts under
// test) for the server to close the connection.
func closedByServer(t *testing.T, conn net.Conn, what string) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := io.Copy(io.Discard, conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		conn.Close()
		t.Fatalf("%s: the server kept the connection open", what)
	}
}

// A client that declares a body and stops sending it is disconnected (it
// used to hold its connection and file descriptor forever: 300 of them
// exhausted the server), whether or not the handler reads the body.
func TestStalledBodiesAreCutOff(t *testing.T) {
	e := apitest.New(t, partner.Register)
	e.Server.Timeouts = server.Timeouts{ReadHeader: time.Second, BodyIdle: 200 * time.Millisecond, Idle: time.Minute}
	addr := serve(t, e.Server)
	for _, auth := range []string{"", "Authorization: Bearer " + apitest.PartnerToken + "\r\n"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, "POST /partner/v1/customers HTTP/1.1\r\nHost: x\r\n"+auth+"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"comp")
		closedByServer(t, conn, "stalled body ("+strings.TrimSpace(auth[:min(len(auth), 13)])+")")
		conn.Close()
	}
}

// An idle keep-alive connection is closed after Timeouts.Idle.
func TestIdleConnectionsAreClosed(t *testing.T) {
	e := apitest.New(t)
	e.Server.Timeouts = server.Timeouts{ReadHeader: time.Second, BodyIdle: time.Second, Idle: 200 * time.Millisecond}
	addr := serve(t, e.Server)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	closedByServer(t, conn, "idle keep-alive connection")
}

// A long upload that keeps sending is not cut off by the idle timeout.
func TestSlowButSteadyBodyIsRead(t *testing.T) {
	e := apitest.New(t, partner.Register)
	e.Server.Timeouts = server.Timeouts{ReadHeader: time.Second, BodyIdle: 300 * time.Millisecond, Idle: time.Minute}
	addr := serve(t, e.Server)
	body := []byte(`{"companyProfile":{"companyName":"Slow","domain":"slow.example"},"defaultUsageLocation":"US"}`)
	pr, pw := io.Pipe()
	go func() {
		for _, b := range bytes.SplitAfter(body, []byte(",")) {
			pw.Write(b)
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", "http://"+addr+"/partner/v1/customers", pr)
	req.ContentLength = int64(len(body))
	req.Header.Set("Authorization", "Bearer "+apitest.PartnerToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// LimitListener holds at most n connections; the next waits until one
// closes.
func TestLimitListenerCapsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := server.LimitListener(ln, 2)
	defer l.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first := <-accepted
	<-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted while two were open")
	case <-time.After(200 * time.Millisecond):
	}
	first.Close()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the third connection was not accepted after one closed")
	}
}

// A JSON body declared larger than its route's limit is refused at once
// with 413 (it used to be waited for until the idle timeout and then
// answered 400 with Go's "i/o timeout"); a body that stops arriving is
// answered 408 RequestTimeout with a clear message and the connection
// closed.
func TestOversizedDeclaredBodyIs413AndStalledBodyIs408(t *testing.T) {
	e := apitest.New(t, partner.Register)
	e.Server.Timeouts = server.Timeouts{ReadHeader: time.Second, BodyIdle: time.Hour, Idle: time.Minute}
	addr := serve(t, e.Server)
	request := func(length int, body string) (*http.Response, map[string]any) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetReadDeadline(time.Now().Add(20 * time.Second)) // failsafe: the old code waited for BodyIdle (1 h here)
		fmt.Fprintf(conn, "POST /partner/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			apitest.PartnerToken, length, body)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp, out
	}
	resp, out := request(2<<20, "")
	if resp.StatusCode != 413 || !strings.Contains(fmt.Sprint(out), "RequestEntityTooLarge") {
		t.Fatalf("2 MiB declared: %d %v", resp.StatusCode, out)
	}

	e.Server.Timeouts.BodyIdle = 200 * time.Millisecond
	resp, out = request(1000, `{"comp`)
	msg := fmt.Sprint(out)
	if resp.StatusCode != 408 || !strings.Contains(msg, "RequestTimeout") || !strings.Contains(msg, "stopped arriving") || strings.Contains(msg, "i/o timeout") {
		t.Fatalf("stalled body: %d %v", resp.StatusCode, out)
	}
}
