package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"allot/api/apitest"
	"allot/api/server"
	"allot/auth"
	"allot/web"
	"allot/web/demo"
)

// sessionCookie returns the client's admin-center session cookie.
func sessionCookie(t *testing.T, c *client) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(c.base + "/admin/")
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "allot_session" {
			return ck
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// replay opens a page with only the given session cookie, as a browser
// (or a thief) holding that cookie would.
func replay(t *testing.T, env *apitest.Env, ck *http.Cookie, path string) resp {
	t.Helper()
	c := newClient(t, env)
	u, _ := url.Parse(env.URL + "/admin/")
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/admin"}})
	return c.get(path)
}

// The session cookie holds a random session id, not the API token; signing
// out ends the session on the server, so the old cookie signs nobody in
// (it used to be the token itself, valid until the token was revoked).
func TestSignOutEndsTheSessionOnTheServer(t *testing.T) {
	env, info := demoEnv(t, 100)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	ck := sessionCookie(t, c)
	if strings.Contains(ck.Value, info.AdminToken) || strings.Contains(info.AdminToken, ck.Value) {
		t.Fatal("the session cookie carries the API token")
	}
	if r := replay(t, env, ck, "/admin/"); strings.Contains(r.URL, "signin") {
		t.Fatalf("the live session's cookie landed on %s", r.URL)
	}
	c.form("/admin/", "/admin/signout", nil)
	if r := replay(t, env, ck, "/admin/"); !strings.HasPrefix(r.URL, "/admin/signin") {
		t.Fatalf("the signed-out session's cookie landed on %s, want the sign-in page", r.URL)
	}
	// The token itself still works for the API: signing out ends the
	// session, not the administrator's token.
	env.Must(200, "GET", "/allot/v1/tenants/"+demo.TenantID+"/tokens", info.AdminToken, nil)
}

// Revoking a token ends the sessions signed in with it at once.
func TestRevokingTheTokenEndsItsSessions(t *testing.T) {
	env, _ := demoEnv(t, 100)
	token := tenantToken(t, env, auth.RoleGlobalAdministrator)
	c := newClient(t, env)
	c.signIn(token)
	if r := c.get("/admin/"); strings.Contains(r.URL, "signin") {
		t.Fatalf("signed in expected, landed on %s", r.URL)
	}
	ts, _ := env.Store.ListTokens(t.Context(), demo.TenantID)
	var id string
	for _, tk := range ts {
		if tk.Hash == auth.Hash(token) {
			id = tk.ID
		}
	}
	env.Must(204, "DELETE", "/allot/v1/tenants/"+demo.TenantID+"/tokens/"+id, apitest.PartnerToken, nil)
	if r := c.get("/admin/"); !strings.HasPrefix(r.URL, "/admin/signin") {
		t.Fatalf("after revocation landed on %s, want the sign-in page", r.URL)
	}
}

// Sessions are kept in the store: a restarted server (a new process over
// the same database) still knows them.
func TestSessionsSurviveARestart(t *testing.T) {
	env, info := demoEnv(t, 100)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	ck := sessionCookie(t, c)
	s2 := server.New(env.RT, env.Store, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	web.Register(s2)
	hs2 := httptest.NewServer(s2.Handler())
	defer hs2.Close()
	if r := replay(t, &apitest.Env{T: t, URL: hs2.URL}, ck, "/admin/"); strings.Contains(r.URL, "signin") {
		t.Fatalf("after a restart the session's cookie landed on %s", r.URL)
	}
}

// A form body over the admin center's 1 MiB limit is 413, not a CSRF 403.
func TestOversizedFormIs413(t *testing.T) {
	env, info := demoEnv(t, 100)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	p := c.get("/admin/")
	r := c.post("/admin/users/nobody/licenses", url.Values{"csrf": {csrf(t, p.Body)}, "pad": {strings.Repeat("x", 2<<20)}})
	if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(r.Body, "larger than 1 MiB") {
		t.Fatalf("2 MiB form = %d", r.Status)
	}
}
