package web_test

import (
	"html"
	"net/url"
	"strconv"
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
			if x.EmployeeID() != "" && x.Department() != "" {
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
	if !strings.Contains(r.Body, "<dt>Employee ID</dt><dd>"+u.EmployeeID()+"</dd>") || n < 4 {
		t.Fatalf("employeeId %q not shown (%d facts)", u.EmployeeID(), n)
	}
}

// The user form has an input for every registry property with a form
// input (userprop.Property.Form), and a create through it sets each of
// them; every writable property the registry has is on the form or named
// here as kept off it, so a property added to the registry fails this test
// until its entry says whether the form asks for it.
func TestUserFormHasTheRegistryInputs(t *testing.T) {
	offTheForm := map[string]bool{
		// Graph's computed or the engine's own: not typed in.
		"kind": true, "userType": true, "employeeHireDate": true, "proxyAddresses": true, "otherMails": true,
		// Plain properties the form leaves to Graph, SCIM and bundles.
		"employeeId": true, "mail": true, "mobilePhone": true, "officeLocation": true, "preferredLanguage": true,
		"postalCode": true, "state": true, "streetAddress": true, "employeeType": true,
	}
	env, info := demoEnv(t, 100)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	page := c.get("/admin/users/new")
	form := url.Values{}
	var onForm []*userprop.Property
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if p.Form == nil {
			if !p.ReadOnly && !offTheForm[p.Name] {
				t.Errorf("registry property %s is neither on the user form nor named as kept off it", p.Name)
			}
			continue
		}
		if offTheForm[p.Name] {
			t.Errorf("%s is on the form and named as kept off it", p.Name)
		}
		if !strings.Contains(page.Body, `name="`+p.Name+`"`) {
			t.Errorf("the new-user form has no input %s", p.Name)
		}
		onForm = append(onForm, p)
		switch p.Name {
		case "userPrincipalName":
			form.Set(p.Name, "regy@contoso.example")
		case "usageLocation":
			form.Set(p.Name, "fr")
		default:
			if p.Type == userprop.Bool {
				form.Set(p.Name, "on")
			} else {
				form.Set(p.Name, "x-"+p.Name)
			}
		}
	}
	if len(onForm) < 12 {
		t.Fatalf("only %d registry properties are on the form", len(onForm))
	}
	r := c.form("/admin/users/new", "/admin/users", form)
	if r.Status != 200 || !strings.HasPrefix(r.URL, "/admin/users/") {
		t.Fatalf("create = %d at %s: %s", r.Status, r.URL, fieldErrors(r.Body))
	}
	id := strings.TrimPrefix(r.URL, "/admin/users/")
	edit := c.get("/admin/users/" + id + "/edit")
	read(t, env, func(e *licensing.Engine) {
		u, ok := e.User(id)
		if !ok {
			t.Fatal("the created user is not there")
		}
		for _, p := range onForm {
			got, want := p.Get(&u), form.Get(p.Name)
			if p.Type == userprop.Bool {
				got, want = strconv.FormatBool(p.GetBool(&u)), "true"
			}
			if p.Upper {
				want = strings.ToUpper(want)
			}
			if got != want {
				t.Errorf("the form set %s to %q, want %q", p.Name, got, want)
			}
			if p.Type == userprop.String && !strings.Contains(edit.Body, `name="`+p.Name+`" type="text" value="`+html.EscapeString(want)+`"`) {
				t.Errorf("the edit form does not show %s = %q", p.Name, want)
			}
		}
	})
}

// fieldErrors are a page's field errors, for a failure message.
func fieldErrors(body string) []string {
	var errs []string
	for _, part := range strings.Split(body, `class="field-error"`)[1:] {
		errs = append(errs, part[:min(len(part), 160)])
	}
	return errs
}
