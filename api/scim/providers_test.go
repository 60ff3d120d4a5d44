package scim_test

import (
	"net/url"
	"reflect"
	"testing"
)

// The request shapes below are the ones Microsoft documents for the Entra
// provisioning service ("Tutorial: Develop and plan provisioning for a SCIM
// endpoint", request/response examples; "Known issues and resolutions with
// SCIM 2.0 protocol compliance", with and without the aadOptscim062020
// flag) and Okta documents in its SCIM 2.0 reference.

func TestEntraProvisioningCycle(t *testing.T) {
	w := setup(t)
	w.addDomains("testuser.com")
	// Existence check before create: zero results.
	r := obj(t, w.scim(200, "GET", "/Users?filter="+url.QueryEscape(`userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"`), nil))
	if r["totalResults"] != float64(0) || len(r["Resources"].([]any)) != 0 {
		t.Fatalf("existence check %v", r)
	}
	id := obj(t, w.scim(201, "POST", "/Users", `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
		"userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
		"active": true,
		"emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
		"meta": {"resourceType": "User"},
		"name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
		"roles": []
	}`))["id"].(string)
	// Matching by userName (the validator sends "+" for spaces) and by externalId.
	for _, q := range []string{`filter=userName+eq+"Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"`,
		"filter=" + url.QueryEscape(`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`)} {
		if got := ids(obj(t, w.scim(200, "GET", "/Users?"+q, nil))); !reflect.DeepEqual(got, []string{id}) {
			t.Fatalf("%s: %v", q, got)
		}
	}
	// Update multi-valued and single-valued properties, capitalised ops.
	w.scim(200, "PATCH", "/Users/"+id, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
		{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
		{"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]}`)
	w.scim(200, "PATCH", "/Users/"+id, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
		{"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]}`)
	// Manager (a bare id), enterprise attributes by path, nickName with "Add".
	manager := w.createUser("manager@contoso.example", map[string]any{"displayName": "The Manager"})
	w.scim(200, "PATCH", "/Users/"+id, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
		{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "`+manager+`"},
		{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"},
		{"op": "Add", "path": "nickName", "value": "Babs"},
		{"op": "Add", "path": "addresses[type eq \"work\"].country", "value": "DE"}]}`)
	u, _ := w.user(id)
	if u.Mail() != "updatedEmail@microsoft.com" || u.Surname() != "updatedFamilyName" || u.UserPrincipalName != "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com" ||
		u.Attributes["manager"] != manager || u.Department() != "Sales" || u.Country() != "DE" || u.UsageLocation != "DE" {
		t.Fatalf("after updates %+v", u)
	}
	got := obj(t, w.scim(200, "GET", "/Users/"+id, nil))
	if m := got[enterprise].(map[string]any)["manager"].(map[string]any); m["value"] != manager || m["displayName"] != "The Manager" {
		t.Fatalf("manager %v", m)
	}
	// Disable: documented form, the "False" string form, and the flag's no-path form.
	for _, body := range []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":false}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","value":{"active":"False"}}]}`,
	} {
		w.do(func(tx *tenantTx) error {
			u, _ := tx.Engine.User(id)
			u.AccountEnabled = true
			return tx.Engine.PutUser(tx.Op, u)
		})
		w.scim(200, "PATCH", "/Users/"+id, body)
		if u, _ := w.user(id); u.AccountEnabled {
			t.Fatalf("still enabled after %s", body)
		}
	}
	// Replace several attributes at once, keys being paths (aadOptscim062020).
	w.scim(200, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{
		"displayName":"Pvlo","emails[type eq \"work\"].value":"TestBcwqnm@test.microsoft.com","name.givenName":"Ysvxxhcb","name.familyName":"Ofcfvzyl",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Tfdfxvyx","active":"True"}}]}`)
	if u, _ := w.user(id); u.DisplayName != "Pvlo" || u.Mail() != "TestBcwqnm@test.microsoft.com" || u.GivenName() != "Ysvxxhcb" ||
		u.Surname() != "Ofcfvzyl" || u.EmployeeID() != "Tfdfxvyx" || !u.AccountEnabled {
		t.Fatalf("after multi replace %+v", u)
	}
	w.scim(200, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":[{"value":"`+manager+`"}]}]}`)
	if u, _ := w.user(id); u.Attributes["manager"] != "" {
		t.Fatal("manager not removed")
	}

	// Groups.
	gid := obj(t, w.scim(201, "POST", "/Groups", `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
		"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
		"displayName": "displayName",
		"meta": {"resourceType": "Group"}}`))["id"].(string)
	g := obj(t, w.scim(200, "GET", "/Groups/"+gid+"?excludedAttributes=members", nil))
	if g["displayName"] != "displayName" || g["externalId"] != "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159" {
		t.Fatalf("group %v", g)
	}
	if got := ids(obj(t, w.scim(200, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "displayName"`), nil))); !reflect.DeepEqual(got, []string{gid}) {
		t.Fatalf("group by displayName %v", got)
	}
	if got := ids(obj(t, w.scim(200, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"`), nil))); !reflect.DeepEqual(got, []string{gid}) {
		t.Fatalf("group by externalId %v", got)
	}
	w.scim(204, "PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]}`)
	w.scim(204, "PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "`+id+`"}, {"$ref": null, "value": "`+manager+`"}]}]}`)
	w.scim(204, "PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "`+manager+`"}]}]}`)
	if got := w.members(gid); !reflect.DeepEqual(got, []string{id}) {
		t.Fatalf("members %v", got)
	}
	w.scim(204, "PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "remove", "path": "members[value eq \"`+id+`\"]"}]}`)
	if got := w.members(gid); len(got) != 0 {
		t.Fatalf("members %v", got)
	}
	w.scim(204, "DELETE", "/Groups/"+gid, nil)
	w.scim(204, "DELETE", "/Users/"+id, nil)
}

func TestOktaProvisioningCycle(t *testing.T) {
	w := setup(t)
	w.addDomains("okta.local")
	// Connection test.
	for _, q := range []string{"/Users?startIndex=1&count=2", "/Groups?startIndex=1&count=100"} {
		if r := obj(t, w.scim(200, "GET", q, nil)); r["totalResults"] != float64(0) {
			t.Fatalf("%s: %v", q, r)
		}
	}
	find := "/Users?filter=" + url.QueryEscape(`userName eq "test.user@okta.local"`) + "&startIndex=1&count=100"
	if r := obj(t, w.scim(200, "GET", find, nil)); r["totalResults"] != float64(0) || r["startIndex"] != float64(1) || r["itemsPerPage"] != float64(0) {
		t.Fatalf("lookup %v", r)
	}
	created := obj(t, w.scim(201, "POST", "/Users", `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
		"userName": "test.user@okta.local",
		"name": {"givenName": "Test", "familyName": "User"},
		"emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
		"displayName": "Test User",
		"locale": "en-US",
		"externalId": "00ujl29u0le5T6Aj10h7",
		"groups": [],
		"password": "1mz050nq",
		"active": true}`))
	id := created["id"].(string)
	r := obj(t, w.scim(200, "GET", find, nil))
	if !reflect.DeepEqual(ids(r), []string{id}) || r["itemsPerPage"] != float64(1) {
		t.Fatalf("lookup after create %v", r)
	}
	// Okta updates a profile with PUT of the whole user.
	put := `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
		"id": "` + id + `",
		"userName": "test.user@okta.local",
		"name": {"givenName": "Another", "familyName": "User"},
		"emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
		"displayName": "Another User",
		"locale": "en-US",
		"externalId": "00ujl29u0le5T6Aj10h7",
		"groups": [],
		"active": true,
		"meta": {"resourceType": "User"}}`
	got := obj(t, w.scim(200, "PUT", "/Users/"+id, put))
	if got["name"].(map[string]any)["givenName"] != "Another" || got["displayName"] != "Another User" {
		t.Fatalf("PUT %v", got)
	}
	// Deactivate and reactivate.
	for _, active := range []bool{false, true} {
		v := "false"
		if active {
			v = "true"
		}
		w.scim(200, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":`+v+`}}]}`)
		if u, _ := w.user(id); u.AccountEnabled != active {
			t.Fatalf("active %v: %+v", active, u)
		}
	}
	// Group push.
	gid := obj(t, w.scim(201, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Test SCIMv2","members":[]}`))["id"].(string)
	if got := ids(obj(t, w.scim(200, "GET", "/Groups?filter="+url.QueryEscape(`displayName eq "Test SCIMv2"`)+"&startIndex=1&count=100", nil))); !reflect.DeepEqual(got, []string{gid}) {
		t.Fatalf("group lookup %v", got)
	}
	w.scim(204, "PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","value":{"id":"`+gid+`","displayName":"Test SCIMv2 renamed"}}]}`)
	w.scim(204, "PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`","display":"test.user@okta.local"}]}]}`)
	if got := w.members(gid); !reflect.DeepEqual(got, []string{id}) {
		t.Fatalf("members %v", got)
	}
	w.scim(204, "PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"remove","path":"members[value eq \"`+id+`\"]"}]}`)
	// Group push through PUT with the member list.
	g := obj(t, w.scim(200, "PUT", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"`+gid+`",
		"displayName":"Test SCIMv2 renamed","members":[{"value":"`+id+`","display":"test.user@okta.local"}]}`))
	if g["displayName"] != "Test SCIMv2 renamed" || !reflect.DeepEqual(w.members(gid), []string{id}) {
		t.Fatalf("group PUT %v", g)
	}
	w.scim(204, "DELETE", "/Groups/"+gid, nil)
}
