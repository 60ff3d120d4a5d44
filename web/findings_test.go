package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"allot/licensing"
)

func TestFindingsPageShowsEvidenceAndFixesByKind(t *testing.T) {
	env, info := demoEnv(t, 300)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	r := c.get("/admin/findings")
	if r.Status != 200 {
		t.Fatalf("GET /admin/findings = %d", r.Status)
	}
	mustContain(t, r, "Findings", "Computed", "licenseErrors", "Compute again now", "Evidence", "Fix")
	r = c.get("/admin/findings?kind=licenseErrors")
	mustContain(t, r, "CountViolation")
	// Recomputing is a form: it needs the CSRF token.
	if r := c.post("/admin/findings/refresh", url.Values{}); r.Status != http.StatusForbidden {
		t.Fatalf("refresh without CSRF = %d", r.Status)
	}
	r = c.form("/admin/findings", "/admin/findings/refresh", nil)
	mustContain(t, r, "computed again")
	// A delegated owner has no findings page.
	owner := newClientSignedIn(t, env, info.OwnerToken)
	if r := owner.get("/admin/findings"); r.Status != http.StatusNotFound && r.Status != http.StatusForbidden {
		t.Fatalf("owner GET /admin/findings = %d", r.Status)
	}
}

func TestUserPageShowsGrantAndActivation(t *testing.T) {
	env, info := demoEnv(t, 300)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	var holder string
	read(t, env, func(e *licensing.Engine) {
		e.ForEachUser(func(u *licensing.User) bool {
			for _, l := range e.Licenses(u.ID) {
				if l.Held {
					holder = u.ID
					return false
				}
			}
			return true
		})
	})
	r := c.get("/admin/users/" + holder)
	mustContain(t, r, "Seat granted")
	if !strings.Contains(r.Body, "activated") {
		t.Fatal("the user page says nothing about activation")
	}
}

func TestUsersCanBeFilteredToIdleOnes(t *testing.T) {
	env, info := demoEnv(t, 300)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	r := c.get("/admin/users?state=idle")
	if r.Status != 200 {
		t.Fatalf("GET idle users = %d", r.Status)
	}
	mustContain(t, r, `value="idle" selected`)
	all := c.get("/admin/users")
	if r.Body == all.Body {
		t.Fatal("the idle filter changed nothing")
	}
}
