package scim_test

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// TestUserNameWithoutDomainGetsTheDefaultDomain: identity providers send
// userName values without a domain; they are accepted, the directory user's
// userPrincipalName gets the tenant's default domain, and SCIM reads the
// name back as sent and finds it by filter.
func TestUserNameWithoutDomainGetsTheDefaultDomain(t *testing.T) {
	w := setup(t)
	id := w.createUser("jdoe", map[string]any{"displayName": "J Doe"})
	u, _ := w.user(id)
	if u.UserPrincipalName != "jdoe@contoso.example" {
		t.Fatalf("userPrincipalName %q", u.UserPrincipalName)
	}
	if got := obj(t, w.scim(200, "GET", "/Users/"+id, nil))["userName"]; got != "jdoe" {
		t.Fatalf("userName reads back %v", got)
	}
	if got := ids(obj(t, w.scim(200, "GET", "/Users?filter="+url.QueryEscape(`userName eq "jdoe"`), nil))); !reflect.DeepEqual(got, []string{id}) {
		t.Fatalf("filter by userName: %v", got)
	}
	// A second identity provider user of the same name is the same name.
	scimError(t, w.scim(409, "POST", "/Users", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "JDOE"}), "409", "uniqueness")
	// A change of the default domain renames nobody.
	w.addDomains("fabrikam.example")
	w.scim(200, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Jo Doe"}]}`)
	if u, _ := w.user(id); u.UserPrincipalName != "jdoe@contoso.example" || u.DisplayName != "Jo Doe" {
		t.Fatalf("after PATCH: %+v", u)
	}
	// A userName with a domain is the userPrincipalName itself.
	id2 := w.createUser("ann@fabrikam.example")
	if u, _ := w.user(id2); u.UserPrincipalName != "ann@fabrikam.example" {
		t.Fatalf("userPrincipalName %q", u.UserPrincipalName)
	}
}

func TestSCIMRefusesWhatEntraRefuses(t *testing.T) {
	w := setup(t)
	for name, body := range map[string]map[string]any{
		"space":            {"userName": "john smith"},
		"emoji":            {"userName": "😀@contoso.example"},
		"foreign domain":   {"userName": "ann@fabrikam.example"},
		"long displayName": {"userName": "ann", "displayName": strings.Repeat("d", 257)},
		"usageLocation XX": {"userName": "bob", "urn:ietf:params:scim:schemas:extension:allot:2.0:User": map[string]any{"usageLocation": "XX"}},
	} {
		body["schemas"] = []string{"urn:ietf:params:scim:schemas:core:2.0:User"}
		r := w.Call("POST", base+"/Users", w.token, body, "Content-Type: application/scim+json")
		if r.Status != 400 {
			t.Errorf("%s: status %d %s", name, r.Status, r.Body)
			continue
		}
		scimError(t, r, "400", "invalidValue")
	}
	if got := obj(t, w.scim(200, "GET", "/Users", nil))["totalResults"]; got != float64(0) {
		t.Fatalf("refused requests created %v users", got)
	}
	g := w.createGroup("Sales")
	r := w.Call("PATCH", base+"/Groups/"+g, w.token, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"`+strings.Repeat("g", 257)+`"}]}`, "Content-Type: application/scim+json")
	if r.Status != 400 {
		t.Fatalf("long group displayName: %d %s", r.Status, r.Body)
	}
}
