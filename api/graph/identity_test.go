package graph_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"allot/licensing"
	"allot/tenant"
)

// userCount is the number of users the tenant lists.
func (f *fixture) userCount() int {
	f.T.Helper()
	return len(values(f.Must(200, "GET", "/v1.0/users?$top=999", f.admin, nil)))
}

func newUserBody(upn, name string) map[string]any {
	return map[string]any{"accountEnabled": true, "displayName": name, "mailNickname": "nick",
		"userPrincipalName": upn, "passwordProfile": map[string]any{"password": "x"}}
}

func TestCreateUserRefusesUserPrincipalNamesEntraRefuses(t *testing.T) {
	f := newFixture(t)
	const nfc, nfd = "jos\u00e9.m\u00fcller@contoso.example", "jose\u0301.mu\u0308ller@contoso.example"
	for _, upn := range []string{
		"not-an-upn", "john smith@contoso.example", "😀@contoso.example", "ann@fabrikam.example", nfc, nfd,
		"a@b@contoso.example", ".ann@contoso.example", "ann.@contoso.example", "ann@contoso", "ann&co@contoso.example",
		strings.Repeat("a", 65) + "@contoso.example",
	} {
		r := f.Call("POST", "/v1.0/users", f.admin, newUserBody(upn, "X"))
		if r.Status != 400 || r.ErrorCode() != "Request_BadRequest" || !strings.Contains(r.ErrorMessage(), "userPrincipalName") {
			t.Errorf("%q: status %d, %s", upn, r.Status, r.Body)
		}
	}
	if n := f.userCount(); n != 0 {
		t.Fatalf("refused requests created %d users", n)
	}
	// What Entra accepts is accepted: its allowed symbols, guests' #EXT#.
	for _, upn := range []string{"o'brien_jr-x!#^~@contoso.example", "alice_fabrikam.com#EXT#@contoso.example",
		strings.Repeat("a", 64) + "@contoso.example"} {
		f.Must(201, "POST", "/v1.0/users", f.admin, newUserBody(upn, "Y"))
	}
}

func TestUserPrincipalNameIsUniqueCaseInsensitively(t *testing.T) {
	f := newFixture(t)
	f.user("Ann@contoso.example", "Ann")
	r := f.Call("POST", "/v1.0/users", f.admin, newUserBody("ann@CONTOSO.example", "Ann again"))
	if r.Status != 400 || !strings.Contains(r.ErrorMessage(), "already exists") {
		t.Fatalf("duplicate in another case: %d %s", r.Status, r.Body)
	}
	if n := f.userCount(); n != 1 {
		t.Fatalf("%d users", n)
	}
}

func TestUserStringsAreBoundedAndNormalised(t *testing.T) {
	f := newFixture(t)
	huge := strings.Repeat("x", 900<<10)
	for name, body := range map[string]map[string]any{
		"huge displayName": newUserBody("a@contoso.example", huge),
		"257 displayName":  newUserBody("b@contoso.example", strings.Repeat("é", 257)),
		"65 mailNickname": func() map[string]any {
			b := newUserBody("c@contoso.example", "C")
			b["mailNickname"] = strings.Repeat("n", 65)
			return b
		}(),
		"17 employeeId": func() map[string]any {
			b := newUserBody("d@contoso.example", "D")
			b["employeeId"] = strings.Repeat("1", 17)
			return b
		}(),
		"control displayName": newUserBody("e@contoso.example", "E\x00"),
		"usageLocation XX":    func() map[string]any { b := newUserBody("f@contoso.example", "F"); b["usageLocation"] = "XX"; return b }(),
	} {
		prop := strings.Fields(name)[1]
		r := f.Call("POST", "/v1.0/users", f.admin, body)
		if r.Status == 413 && strings.HasPrefix(name, "huge") {
			continue // a body limit may refuse it before the rules do
		}
		if r.Status != 400 || !strings.Contains(r.ErrorMessage(), prop) {
			t.Errorf("%s: status %d %.300s", name, r.Status, r.Body)
		}
	}
	if n := f.userCount(); n != 0 {
		t.Fatalf("refused requests created %d users", n)
	}
	// The limits themselves are accepted; a decomposed name is stored composed.
	id := f.user("g@contoso.example", strings.Repeat("é", 255)+"e\u0301")
	got := f.Must(200, "GET", "/v1.0/users/"+id, f.admin, nil).JSON()["displayName"].(string)
	if got != strings.Repeat("é", 256) {
		t.Fatalf("displayName not NFC: %q", got)
	}
	// PATCH is held to the same rules and changes nothing when refused.
	for _, body := range []map[string]any{{"displayName": huge}, {"usageLocation": "XX"}, {"userPrincipalName": "g@fabrikam.example"}, {"city": strings.Repeat("c", 129)}} {
		for prop := range body {
			r := f.Call("PATCH", "/v1.0/users/"+id, f.admin, body)
			if r.Status == 413 && prop == "displayName" {
				continue // the huge one: a body limit may refuse it first
			}
			if r.Status != 400 || !strings.Contains(r.ErrorMessage(), prop) {
				t.Errorf("PATCH %s: status %d %.200s", prop, r.Status, r.Body)
			}
		}
	}
	u := f.Must(200, "GET", "/v1.0/users/"+id+"?$select=userPrincipalName,usageLocation,city", f.admin, nil).JSON()
	if u["userPrincipalName"] != "g@contoso.example" || u["usageLocation"] != "US" || u["city"] != nil {
		t.Fatalf("a refused PATCH changed the user: %v", u)
	}
}

func TestStoredUserThatBreaksTheRulesStaysEditable(t *testing.T) {
	f := newFixture(t)
	tn, _ := f.RT.Get(f.tenant)
	// As an earlier version stored it: no domain, a long name.
	legacy := licensing.User{ID: "00000000-0000-0000-0000-00000000000a", UserPrincipalName: "legacy", DisplayName: strings.Repeat("L", 300), AccountEnabled: true}
	if err := tn.Do(context.Background(), licensing.Op{Actor: "test", Now: time.Now()}, func(tx *tenant.Tx) error {
		return tx.Engine.PutUser(tx.Op, legacy)
	}); err != nil {
		t.Fatal(err)
	}
	f.Must(204, "PATCH", "/v1.0/users/"+legacy.ID, f.admin, map[string]any{"department": "Sales"})
	if r := f.Call("PATCH", "/v1.0/users/"+legacy.ID, f.admin, map[string]any{"userPrincipalName": "still-no-domain"}); r.Status != 400 {
		t.Fatalf("a changed userPrincipalName is checked: %d", r.Status)
	}
	f.Must(204, "PATCH", "/v1.0/users/"+legacy.ID, f.admin, map[string]any{"userPrincipalName": "legacy@contoso.example"})
}

func TestDomainsListAddDefaultAndDelete(t *testing.T) {
	f := newFixture(t)
	ds := values(f.Must(200, "GET", "/v1.0/domains", f.admin, nil))
	if len(ds) != 1 || ds[0]["id"] != "contoso.example" || ds[0]["isDefault"] != true || ds[0]["isInitial"] != true || ds[0]["isVerified"] != true {
		t.Fatalf("domains of a new customer: %v", ds)
	}
	if r := f.Call("POST", "/v1.0/users", f.admin, newUserBody("ann@fabrikam.example", "Ann")); r.Status != 400 ||
		!strings.Contains(r.ErrorMessage(), "verified domain") {
		t.Fatalf("user in a foreign domain: %d %s", r.Status, r.Body)
	}
	for _, bad := range []string{"fabrikam", "-x.example", "a b.example", "x..example", strings.Repeat("a", 45) + ".com"} {
		if r := f.Call("POST", "/v1.0/domains", f.admin, map[string]any{"id": bad}); r.Status != 400 {
			t.Errorf("domain %q: %d", bad, r.Status)
		}
	}
	f.Must(403, "POST", "/v1.0/domains", f.Token(f.tenant, "UserAdministrator"), map[string]any{"id": "fabrikam.example"})
	d := f.Must(201, "POST", "/v1.0/domains", f.admin, map[string]any{"id": "Fabrikam.Example"}).JSON()
	if d["id"] != "fabrikam.example" || d["isDefault"] != false {
		t.Fatalf("added domain %v", d)
	}
	f.Must(400, "POST", "/v1.0/domains", f.admin, map[string]any{"id": "fabrikam.example"})
	ann := f.user("ann@fabrikam.example", "Ann")
	f.Must(200, "GET", "/v1.0/domains/FABRIKAM.example", f.admin, nil)
	// A domain belongs to one tenant.
	other := f.Customer("Other", "US")
	f.Must(400, "POST", "/v1.0/domains", f.Token(other, "GlobalAdministrator"), map[string]any{"id": "fabrikam.example"})
	f.Must(400, "POST", "/v1.0/domains", f.Token(other, "GlobalAdministrator"), map[string]any{"id": "contoso.example"})
	// In use, initial or default: not deleted.
	f.Must(400, "DELETE", "/v1.0/domains/fabrikam.example", f.admin, nil)
	f.Must(400, "DELETE", "/v1.0/domains/contoso.example", f.admin, nil)
	f.Must(204, "PATCH", "/v1.0/domains/fabrikam.example", f.admin, map[string]any{"isDefault": true})
	if ds := values(f.Must(200, "GET", "/v1.0/domains", f.admin, nil)); ds[0]["isDefault"] != false || ds[1]["isDefault"] != true {
		t.Fatalf("after PATCH isDefault: %v", ds)
	}
	f.Must(204, "DELETE", "/v1.0/users/"+ann, f.admin, nil)
	f.Must(400, "DELETE", "/v1.0/domains/fabrikam.example", f.admin, nil) // the default
	f.Must(204, "PATCH", "/v1.0/domains/contoso.example", f.admin, map[string]any{"isDefault": true})
	f.Must(204, "DELETE", "/v1.0/domains/fabrikam.example", f.admin, nil)
	f.Must(404, "GET", "/v1.0/domains/fabrikam.example", f.admin, nil)
	f.Must(201, "POST", "/v1.0/domains", f.Token(other, "GlobalAdministrator"), map[string]any{"id": "fabrikam.example"})
}

func TestGroupStringsAreBounded(t *testing.T) {
	f := newFixture(t)
	for name, body := range map[string]map[string]any{
		"257 displayName":    {"displayName": strings.Repeat("g", 257), "mailEnabled": false, "mailNickname": "g", "securityEnabled": true},
		"space mailNickname": {"displayName": "G", "mailEnabled": false, "mailNickname": "a b", "securityEnabled": true},
		"65 mailNickname":    {"displayName": "G", "mailEnabled": false, "mailNickname": strings.Repeat("n", 65), "securityEnabled": true},
		"1025 description":   {"displayName": "G", "mailEnabled": false, "mailNickname": "g", "securityEnabled": true, "description": strings.Repeat("d", 1025)},
	} {
		prop := strings.Fields(name)[1]
		if r := f.Call("POST", "/v1.0/groups", f.admin, body); r.Status != 400 || !strings.Contains(r.ErrorMessage(), prop) {
			t.Errorf("%s: status %d %.200s", name, r.Status, r.Body)
		}
	}
	if n := len(values(f.Must(200, "GET", "/v1.0/groups", f.admin, nil))); n != 0 {
		t.Fatalf("refused requests created %d groups", n)
	}
	g := f.group("Sales")
	f.Must(400, "PATCH", "/v1.0/groups/"+g, f.admin, map[string]any{"displayName": strings.Repeat("g", 257)})
}
