package web_test

import (
	"html"
	"strings"
	"testing"

	"allot/licensing"
	"allot/userprop"
)

// The user page shows every property the registry labels, with its value
// (employeeId among them), or a dash when it has none.
func TestUserPageShowsTheRegistryFacts(t *testing.T) {
	env, info := demoEnv(t, 300)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	var u licensing.User
	read(t, env, func(e *licensing.Engine) {
		e.ForEachUser(func(x *licensing.User) bool {
			if x.EmployeeID != "" && x.Department != "" {
				u = *x
				return false
			}
			return true
		})
	})
	if u.ID == "" {
		t.Fatal("the demo tenant has no user with an employeeId and a department")
	}
	r := c.get("/admin/users/" + u.ID)
	n := 0
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if p.Label == "" {
			continue
		}
		v := p.Get(&u)
		if v == "" {
			v = "—"
		}
		want := "<dt>" + p.Label + "</dt><dd>" + html.EscapeString(v) + "</dd>"
		if !strings.Contains(r.Body, want) {
			t.Errorf("the user page lacks %q", want)
		}
		n++
	}
	if !strings.Contains(r.Body, "<dt>Employee ID</dt><dd>"+u.EmployeeID+"</dd>") || n < 4 {
		t.Fatalf("employeeId %q not shown (%d facts)", u.EmployeeID, n)
	}
}
