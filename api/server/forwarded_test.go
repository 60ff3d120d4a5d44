package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/graph"
	"allot/api/partner"
	"allot/api/server"
	"allot/web"
)

// echo registers GET /echo, which answers what the handlers see of the
// client: its address, the host it called, the scheme.
func echo(s *server.Server) {
	s.HandlePublic("GET /echo", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"remote": r.RemoteAddr, "host": r.Host, "scheme": server.Scheme(r)})
	})
}

func get(t *testing.T, c *http.Client, url string, headers map[string]string) (*http.Response, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]string
	_ = json.Unmarshal(body, &m)
	return resp, m
}

func cookieSecure(t *testing.T, resp *http.Response, name string) bool {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c.Secure
		}
	}
	t.Fatalf("no %s cookie (status %d)", name, resp.StatusCode)
	return false
}

// Over TLS every response carries Strict-Transport-Security, the admin
// center's cookies are Secure and Graph's links are https; over plain
// HTTP none of it.
func TestHTTPSGivesHSTSAndSecureCookies(t *testing.T) {
	e := apitest.New(t, graph.Register, web.Register, echo)
	e.Server.HSTS = true
	ts := httptest.NewUnstartedServer(e.Server.Handler())
	ts.StartTLS()
	defer ts.Close()

	resp, m := get(t, ts.Client(), ts.URL+"/echo", nil)
	if resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" || m["scheme"] != "https" {
		t.Fatalf("over TLS: HSTS %q, scheme %q", resp.Header.Get("Strict-Transport-Security"), m["scheme"])
	}
	resp, _ = get(t, ts.Client(), ts.URL+"/admin/signin", nil)
	if !cookieSecure(t, resp, "allot_pre") {
		t.Fatal("the sign-in cookie over TLS is not Secure")
	}

	resp, m = get(t, http.DefaultClient, e.URL+"/echo", map[string]string{"X-Forwarded-Proto": "https"})
	if resp.Header.Get("Strict-Transport-Security") != "" || m["scheme"] != "http" {
		t.Fatalf("plain HTTP (X-Forwarded-Proto from an untrusted client): HSTS %q, scheme %q", resp.Header.Get("Strict-Transport-Security"), m["scheme"])
	}
	resp, _ = get(t, http.DefaultClient, e.URL+"/admin/signin", map[string]string{"X-Forwarded-Proto": "https"})
	if cookieSecure(t, resp, "allot_pre") {
		t.Fatal("a forged X-Forwarded-Proto made the cookie Secure")
	}
}

var forwardedHeaders = map[string]string{
	"X-Forwarded-For":   "198.51.100.7, 203.0.113.9",
	"X-Forwarded-Proto": "https",
	"X-Forwarded-Host":  "allot.example.com",
}

// A trusted proxy's X-Forwarded-For/-Proto/-Host are what the handlers see
// (the client is the rightmost address that is not a trusted proxy).
func TestForwardedHeadersFromTrustedProxy(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register, graph.Register, web.Register, echo)
	var err error
	if e.Server.TrustedProxies, err = server.ParseProxies([]string{"127.0.0.1", "203.0.113.0/24"}); err != nil {
		t.Fatal(err)
	}
	e.Server.HSTS = true
	resp, m := get(t, http.DefaultClient, e.URL+"/echo", forwardedHeaders)
	if m["remote"] != "198.51.100.7:0" || m["host"] != "allot.example.com" || m["scheme"] != "https" {
		t.Fatalf("behind a trusted proxy: %v", m)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS for a request the proxy received over HTTPS")
	}
	resp, _ = get(t, http.DefaultClient, e.URL+"/admin/signin", forwardedHeaders)
	if !cookieSecure(t, resp, "allot_pre") {
		t.Fatal("the sign-in cookie behind a TLS proxy is not Secure")
	}
	id := e.Customer("Contoso", "US")
	r := e.Call("GET", "/v1.0/users", e.Token(id, "GlobalAdministrator"), nil, "X-Forwarded-Proto: https", "X-Forwarded-Host: allot.example.com")
	if ctx, _ := r.JSON()["@odata.context"].(string); !strings.HasPrefix(ctx, "https://allot.example.com/v1.0/") {
		t.Fatalf("@odata.context behind a proxy: %q", ctx)
	}
}

// The same headers from a client that is not a trusted proxy are removed.
func TestForwardedHeadersFromUntrustedClient(t *testing.T) {
	e := apitest.New(t, graph.Register, echo)
	var err error
	if e.Server.TrustedProxies, err = server.ParseProxies([]string{"10.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	e.Server.HSTS = true
	resp, m := get(t, http.DefaultClient, e.URL+"/echo", forwardedHeaders)
	if !strings.HasPrefix(m["remote"], "127.0.0.1:") || m["host"] == "allot.example.com" || m["scheme"] != "http" {
		t.Fatalf("untrusted client: %v", m)
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS on plain HTTP")
	}
	if _, err := server.ParseProxies([]string{"10.0.0.0/33"}); err == nil {
		t.Fatal("a bad CIDR was accepted")
	}
}
