package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/partner"
	"allot/web"
	"allot/web/demo"
)

// newEnv starts a server with the APIs and the admin center.
func newEnv(t testing.TB) *apitest.Env {
	t.Helper()
	return apitest.New(t, partner.Register, admin.Register, cloudlicensing.Register, web.Register)
}

// demoEnv starts a server with a small demo tenant (no usage data).
func demoEnv(t testing.TB, people int) (*apitest.Env, demo.Info) {
	t.Helper()
	env := newEnv(t)
	info, err := demo.Ensure(context.Background(), env.RT, env.Store, demo.Options{People: people, SkipUsage: true})
	if err != nil {
		t.Fatal(err)
	}
	return env, info
}

// client is a browser without JavaScript: cookies, redirects, forms.
type client struct {
	t    testing.TB
	base string
	http *http.Client
}

func newClient(t testing.TB, env *apitest.Env) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: env.URL, http: &http.Client{Jar: jar}}
}

// resp is a page as the client got it.
type resp struct {
	Status int
	Body   string
	URL    string // after redirects
}

func (c *client) do(req *http.Request) resp {
	c.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Body: string(b), URL: res.Request.URL.RequestURI()}
}

func (c *client) get(path string) resp {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) resp {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the form token of a page.
func csrf(t testing.TB, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// signIn signs the client in with a token and returns the page it lands on.
func (c *client) signIn(token string) resp {
	c.t.Helper()
	p := c.get("/admin/signin")
	return c.post("/admin/signin", url.Values{"csrf": {csrf(c.t, p.Body)}, "token": {token}})
}

// form posts a form of the page at path with its CSRF token.
func (c *client) form(page, action string, form url.Values) resp {
	c.t.Helper()
	p := c.get(page)
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", csrf(c.t, p.Body))
	return c.post(action, form)
}

func mustContain(t testing.TB, r resp, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(r.Body, w) {
			t.Errorf("%s: page does not contain %q", r.URL, w)
		}
	}
}
