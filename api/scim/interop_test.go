package scim_test

import (
	"net/url"
	"strings"
	"testing"
)

// What Microsoft's SCIM reference collection sends (reference_test.go runs
// the collection itself when newman is available); these tests pin each
// behaviour without it.

func TestServiceConfigurationIsServiceProviderConfig(t *testing.T) {
	w := setup(t)
	for _, p := range []string{"/serviceConfiguration", "/ServiceConfiguration", "/ServiceProviderConfig"} {
		r := w.Call("GET", base+p, "", nil)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", p, r.Status, r.Body)
		}
		patch, _ := obj(t, r)["patch"].(map[string]any)
		if patch["supported"] != true {
			t.Fatalf("%s: %s", p, r.Body)
		}
	}
}

func TestUnquotedFilterValues(t *testing.T) {
	w := setup(t)
	w.createUser("OMalley", map[string]any{"name": map[string]any{"familyName": "OMalley"}})
	w.createUser("emp1", map[string]any{"name": map[string]any{"familyName": "Employee"},
		"emails": []any{map[string]any{"type": "work", "value": "anna33@example.com"}}})
	w.createUser("emp2", map[string]any{"name": map[string]any{"familyName": "Employee"},
		"emails": []any{map[string]any{"type": "work", "value": "anna33@example.net"}}})
	for f, want := range map[string]float64{
		`userName sw O`: 1,
		`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`: 1,
		`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`:                                            3,
		`meta.created lt 2015-10-10T14:38:21Z`:                                                         0,
	} {
		r := obj(t, w.scim(200, "GET", "/Users?filter="+url.QueryEscape(f), nil))
		if r["totalResults"] != want {
			t.Errorf("%s: totalResults %v, want %v", f, r["totalResults"], want)
		}
	}
	// Ambiguous or meaningless bare values stay refused.
	for _, f := range []string{`userName eq and`, `meta.created gt yesterday`} {
		scimError(t, w.scim(400, "GET", "/Users?filter="+url.QueryEscape(f), nil), "400", "invalidFilter")
	}
}

func TestAttributesSelectElements(t *testing.T) {
	w := setup(t)
	id := w.createUser("u1", map[string]any{"emails": []any{
		map[string]any{"type": "work", "value": "emailName357"},
		map[string]any{"type": "home", "value": "home@example.com"},
	}})
	q := "/Users/" + id + "?attributes=" + url.QueryEscape(`emails[type eq "work"]`)
	got := obj(t, w.scim(200, "GET", q, nil))
	emails, _ := got["emails"].([]any)
	if len(emails) != 1 || emails[0].(map[string]any)["value"] != "emailName357" || got["userName"] != nil || got["id"] != id {
		t.Fatalf("attributes=emails[type eq \"work\"]: %v", got)
	}
	// With a sub-attribute, and several entries (commas inside the filter
	// do not split the list).
	q = "/Users?attributes=" + url.QueryEscape(`emails[value eq "a,b" or type eq "other"].value,userName`)
	list := obj(t, w.scim(200, "GET", q, nil))
	res := list["Resources"].([]any)[0].(map[string]any)
	emails, _ = res["emails"].([]any)
	if len(emails) != 1 || len(emails[0].(map[string]any)) != 1 || emails[0].(map[string]any)["value"] != "home@example.com" || res["userName"] != "u1" {
		t.Fatalf("attributes with a sub-attribute: %v", res)
	}
	// excludedAttributes drops the selected elements (allot keeps non-work
	// addresses as Graph otherMails: type "other").
	q = "/Users/" + id + "?excludedAttributes=" + url.QueryEscape(`emails[type eq "other"]`)
	got = obj(t, w.scim(200, "GET", q, nil))
	emails, _ = got["emails"].([]any)
	if len(emails) != 1 || emails[0].(map[string]any)["type"] != "work" || got["userName"] != "u1" {
		t.Fatalf("excludedAttributes=emails[type eq \"other\"]: %v", got)
	}
	for _, bad := range []string{`emails[type eq "work"`, `userName[value eq "x"]`, `emails[nope eq "x"]`} {
		w.scim(400, "GET", "/Users/"+id+"?attributes="+url.QueryEscape(bad), nil)
	}
}

func TestPatchUserAnswersAsTheClientAsks(t *testing.T) {
	w := setup(t)
	id := w.createUser("u1")
	op := func(name string) map[string]any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
			"Operations": []any{map[string]any{"op": "Replace", "path": "displayName", "value": name}}}
	}
	cases := []struct {
		name    string
		headers []string
		query   string
		want    int
	}{
		{"SCIM media type (Entra, Okta)", nil, "", 200},
		{"plain JSON, any media type back (the reference collection)", []string{"Content-Type: application/json", "Accept: */*"}, "", 204},
		{"plain JSON without Accept", []string{"Content-Type: application/json"}, "", 204},
		{"plain JSON, JSON back", []string{"Content-Type: application/json", "Accept: application/scim+json"}, "", 200},
		{"attributes asked", []string{"Content-Type: application/json"}, "?attributes=displayName", 200},
		{"Prefer minimal", []string{"Prefer: return=minimal"}, "", 204},
		{"Prefer representation", []string{"Content-Type: application/json", "Prefer: return=representation"}, "", 200},
	}
	for i, c := range cases {
		name := "n" + strings.Repeat("x", i)
		r := w.Call("PATCH", base+"/Users/"+id+c.query, w.token, op(name), append([]string{"Content-Type: application/scim+json"}, c.headers...)...)
		if r.Status != c.want {
			t.Fatalf("%s: %d %s, want %d", c.name, r.Status, r.Body, c.want)
		}
		if r.Header.Get("ETag") == "" {
			t.Errorf("%s: no ETag", c.name)
		}
		if c.want == 204 && len(r.Body) != 0 {
			t.Errorf("%s: 204 with a body %s", c.name, r.Body)
		}
		if c.want == 200 && obj(t, r)["displayName"] != name {
			t.Errorf("%s: body %s", c.name, r.Body)
		}
		if u, _ := w.user(id); u.DisplayName != name {
			t.Errorf("%s: not applied: %q", c.name, u.DisplayName)
		}
	}
}

func TestPatchGroupAnswersAsTheClientAsks(t *testing.T) {
	w := setup(t)
	g := w.createGroup("g")
	op := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "displayName", "value": "g2"}}}
	w.scim(204, "PATCH", "/Groups/"+g, op)
	r := w.scim(200, "PATCH", "/Groups/"+g, op, "Prefer: return=representation")
	if obj(t, r)["displayName"] != "g2" {
		t.Fatalf("%s", r.Body)
	}
}
