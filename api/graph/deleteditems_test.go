package graph_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"allot/deleteditems"
)

// These tests follow Microsoft Graph's "directory resource type", "List
// deletedItems", "Get deleted item", "Restore deleted item" and
// "Permanently delete an item" pages, and Microsoft Entra's "Restore or
// remove a recently deleted user".

func assign(f *fixture, userID, sku string) {
	f.T.Helper()
	f.Must(200, "POST", "/v1.0/users/"+userID+"/assignLicense", f.admin,
		map[string]any{"addLicenses": []any{map[string]any{"skuId": sku}}, "removeLicenses": []any{}})
}

func consumed(f *fixture, sku string) float64 {
	f.T.Helper()
	return f.Must(200, "GET", "/v1.0/subscribedSkus/"+sku, f.admin, nil).JSON()["consumedUnits"].(float64)
}

// "After you delete a user, the account remains in a suspended state for 30
// days. During that 30-day window, the user account can be restored, along
// with all its properties." Restoring brings back the group memberships and
// the licenses; the deleted user is in no listing meanwhile.
func TestDeletedUserIsRestoredWithItsGroupsAndLicenses(t *testing.T) {
	f := newFixture(t)
	g := f.group("Sales")
	f.Must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", f.admin,
		map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
	u := f.user("adele@contoso.example", "Adele Vance", "department", "Sales")
	f.addMember(g, u)
	assign(f, u, o365E3)

	f.Must(204, "DELETE", "/v1.0/users/"+u, f.admin, nil)

	// Deleted: gone from /users, $filter, $count and the group; seats freed.
	wantError(t, f.Call("GET", "/v1.0/users/"+u, f.admin, nil), 404, "Request_ResourceNotFound", u)
	if got := field(f.Must(200, "GET", "/v1.0/users?$filter=department%20eq%20'Sales'", f.admin, nil), "id"); len(got) != 0 {
		t.Fatalf("$filter still finds the deleted user: %v", got)
	}
	if n := f.Must(200, "GET", "/v1.0/users?$count=true", f.admin, nil, "ConsistencyLevel: eventual").JSON()["@odata.count"].(float64); n != 0 {
		t.Fatalf("$count = %v, want 0", n)
	}
	if got := field(f.Must(200, "GET", "/v1.0/groups/"+g+"/members", f.admin, nil), "id"); len(got) != 0 {
		t.Fatalf("members of the group after delete: %v", got)
	}
	if consumed(f, e3) != 0 || consumed(f, o365E3) != 0 {
		t.Fatal("a deleted user must release its licenses")
	}

	// Listed in deletedItems with deletedDateTime.
	list := f.Must(200, "GET", "/v1.0/directory/deletedItems/microsoft.graph.user", f.admin, nil)
	if !strings.HasSuffix(list.JSON()["@odata.context"].(string), "$metadata#directory/deletedItems/microsoft.graph.user") {
		t.Fatalf("context = %v", list.JSON()["@odata.context"])
	}
	vs := values(list)
	if len(vs) != 1 || vs[0]["id"] != u || vs[0]["userPrincipalName"] != "adele@contoso.example" || vs[0]["deletedDateTime"] == nil {
		t.Fatalf("deleted users = %v", vs)
	}
	item := f.Must(200, "GET", "/v1.0/directory/deletedItems/"+u, f.admin, nil).JSON()
	if item["@odata.type"] != "#microsoft.graph.user" || item["displayName"] != "Adele Vance" {
		t.Fatalf("deleted item = %v", item)
	}

	// POST /directory/deletedItems/{id}/restore → 200 with the directoryObject.
	r := f.Must(200, "POST", "/v1.0/directory/deletedItems/"+u+"/restore", f.admin, nil).JSON()
	if r["@odata.type"] != "#microsoft.graph.user" || r["id"] != u {
		t.Fatalf("restore answered %v", r)
	}
	if got := field(f.Must(200, "GET", "/v1.0/groups/"+g+"/members", f.admin, nil), "id"); len(got) != 1 || got[0] != u {
		t.Fatalf("members after restore: %v", got)
	}
	lic := f.Must(200, "GET", "/v1.0/users/"+u+"?$select=assignedLicenses,licenseAssignmentStates", f.admin, nil).JSON()
	if n := len(lic["assignedLicenses"].([]any)); n != 2 {
		t.Fatalf("assignedLicenses after restore: %v", lic["assignedLicenses"])
	}
	if consumed(f, e3) != 1 || consumed(f, o365E3) != 1 {
		t.Fatal("restored licenses must take their seats back")
	}
	if got := values(f.Must(200, "GET", "/v1.0/directory/deletedItems/microsoft.graph.user", f.admin, nil)); len(got) != 0 {
		t.Fatalf("a restored user is no longer a deleted item: %v", got)
	}
}

// Entra restores licenses "even if there are no seats available", leaving
// the organisation out of compliance; allot keeps the restored license
// waiting (CountViolation) instead of oversubscribing.
func TestRestoredLicenseWaitsWhenItsSeatWasGivenAway(t *testing.T) {
	f := newFixture(t) // ENTERPRISEPACK: 2 seats
	u1 := f.user("a@contoso.example", "A")
	assign(f, u1, o365E3)
	f.Must(204, "DELETE", "/v1.0/users/"+u1, f.admin, nil)
	assign(f, f.user("b@contoso.example", "B"), o365E3)
	assign(f, f.user("c@contoso.example", "C"), o365E3)
	f.Must(200, "POST", "/v1.0/directory/deletedItems/"+u1+"/restore", f.admin, nil)
	if consumed(f, o365E3) != 2 {
		t.Fatalf("consumedUnits = %v, want 2 (never more than the subscription)", consumed(f, o365E3))
	}
	st := f.Must(200, "GET", "/v1.0/users/"+u1+"?$select=licenseAssignmentStates", f.admin, nil).JSON()["licenseAssignmentStates"].([]any)
	if len(st) != 1 || st[0].(map[string]any)["error"] != "CountViolation" {
		t.Fatalf("restored license state = %v, want CountViolation", st)
	}
}

// A user whose userPrincipalName was given to someone else meanwhile
// cannot be restored under it (Graph's 400 with the duplicate-value
// message); newUserPrincipalName restores it under another name.
func TestRestoreWhenTheUserPrincipalNameIsTaken(t *testing.T) {
	f := newFixture(t)
	u := f.user("megan@contoso.example", "Megan")
	f.Must(204, "DELETE", "/v1.0/users/"+u, f.admin, nil)
	f.user("megan@contoso.example", "Megan Bowen") // the name is free once deleted
	wantError(t, f.Call("POST", "/v1.0/directory/deletedItems/"+u+"/restore", f.admin, nil), 400, "Request_BadRequest",
		"Another object with the same value for property userPrincipalName already exists.")
	r := f.Must(200, "POST", "/v1.0/directory/deletedItems/"+u+"/restore", f.admin, map[string]any{"newUserPrincipalName": "megan.old@contoso.example"}).JSON()
	if r["userPrincipalName"] != "megan.old@contoso.example" {
		t.Fatalf("restored as %v", r["userPrincipalName"])
	}
}

// "Permanently delete an item": DELETE /directory/deletedItems/{id} → 204;
// the item can no longer be read or restored.
func TestPermanentlyDeleteAnItem(t *testing.T) {
	f := newFixture(t)
	u := f.user("lee@contoso.example", "Lee")
	f.Must(204, "DELETE", "/v1.0/users/"+u, f.admin, nil)
	f.Must(204, "DELETE", "/v1.0/directory/deletedItems/"+u, f.admin, nil)
	wantError(t, f.Call("GET", "/v1.0/directory/deletedItems/"+u, f.admin, nil), 404, "Request_ResourceNotFound", u)
	wantError(t, f.Call("POST", "/v1.0/directory/deletedItems/"+u+"/restore", f.admin, nil), 404, "Request_ResourceNotFound", u)
	wantError(t, f.Call("DELETE", "/v1.0/directory/deletedItems/"+u, f.admin, nil), 404, "Request_ResourceNotFound", u)
}

// "Deleted items remain available to restore for up to 30 days. After 30
// days, the items are permanently deleted." The maintenance round purges
// them (time passed in).
func TestDeletedItemsArePurgedAfterThirtyDays(t *testing.T) {
	f := newFixture(t)
	u1 := f.user("old@contoso.example", "Old")
	f.Must(204, "DELETE", "/v1.0/users/"+u1, f.admin, nil)
	deletedAt := time.Now().UTC()
	f.RT.MaintainAt(context.Background(), deletedAt.Add(deleteditems.Retention-time.Hour))
	f.Must(200, "GET", "/v1.0/directory/deletedItems/"+u1, f.admin, nil)
	f.RT.MaintainAt(context.Background(), deletedAt.Add(deleteditems.Retention+time.Hour))
	wantError(t, f.Call("GET", "/v1.0/directory/deletedItems/"+u1, f.admin, nil), 404, "Request_ResourceNotFound", u1)
}

// Only Microsoft 365 groups go to deleted items: "This isn't applicable to
// security groups, which are deleted permanently." A restored Microsoft 365
// group has its members back.
func TestMicrosoft365GroupIsRestoredAndSecurityGroupIsNot(t *testing.T) {
	f := newFixture(t)
	sec := f.group("Security")
	m365 := f.Must(201, "POST", "/v1.0/groups", f.admin, map[string]any{"displayName": "Project X", "mailEnabled": true,
		"mailNickname": "projectx", "securityEnabled": false, "groupTypes": []string{"Unified"}}).JSON()["id"].(string)
	u := f.user("joni@contoso.example", "Joni")
	f.addMember(m365, u)
	f.Must(204, "DELETE", "/v1.0/groups/"+sec, f.admin, nil)
	f.Must(204, "DELETE", "/v1.0/groups/"+m365, f.admin, nil)
	if got := field(f.Must(200, "GET", "/v1.0/directory/deletedItems/microsoft.graph.group", f.admin, nil), "id"); len(got) != 1 || got[0] != m365 {
		t.Fatalf("deleted groups = %v, want only the Microsoft 365 group", got)
	}
	wantError(t, f.Call("POST", "/v1.0/directory/deletedItems/"+sec+"/restore", f.admin, nil), 404, "Request_ResourceNotFound", sec)
	r := f.Must(200, "POST", "/v1.0/directory/deletedItems/"+m365+"/restore", f.admin, nil).JSON()
	if r["@odata.type"] != "#microsoft.graph.group" {
		t.Fatalf("restore answered %v", r)
	}
	if got := field(f.Must(200, "GET", "/v1.0/groups/"+m365+"/members", f.admin, nil), "id"); len(got) != 1 || got[0] != u {
		t.Fatalf("members of the restored group: %v", got)
	}
}

// Restoring users needs a role that may delete users: a Groups
// Administrator may restore groups only, a License Administrator neither.
func TestRestoringNeedsTheRoleForTheObject(t *testing.T) {
	f := newFixture(t)
	u := f.user("x@contoso.example", "X")
	f.Must(204, "DELETE", "/v1.0/users/"+u, f.admin, nil)
	for _, role := range []string{"GroupsAdministrator", "LicenseAdministrator", "GlobalReader"} {
		wantError(t, f.Call("POST", "/v1.0/directory/deletedItems/"+u+"/restore", f.Token(f.tenant, role), nil), 403, "Authorization_RequestDenied", "")
		wantError(t, f.Call("DELETE", "/v1.0/directory/deletedItems/"+u, f.Token(f.tenant, role), nil), 403, "Authorization_RequestDenied", "")
	}
	f.Must(200, "GET", "/v1.0/directory/deletedItems/microsoft.graph.user", f.Token(f.tenant, "GlobalReader"), nil)
	f.Must(200, "POST", "/v1.0/directory/deletedItems/"+u+"/restore", f.Token(f.tenant, "UserAdministrator"), nil)
}

// Paging follows @odata.nextLink; $top, $select and $filter work as on
// /users.
func TestDeletedItemsPageWithNextLink(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"a", "b", "c"} {
		f.Must(204, "DELETE", "/v1.0/users/"+f.user(n+"@contoso.example", n), f.admin, nil)
	}
	var ids []string
	path := "/v1.0/directory/deletedItems/microsoft.graph.user?$top=2&$select=id,deletedDateTime"
	for path != "" {
		r := f.Must(200, "GET", path, f.admin, nil)
		for _, v := range values(r) {
			if len(v) != 2 {
				t.Fatalf("$select ignored: %v", v)
			}
			ids = append(ids, v["id"].(string))
		}
		path = ""
		if l, ok := r.JSON()["@odata.nextLink"].(string); ok {
			path = pathOf(t, l)
		}
	}
	if len(ids) != 3 || ids[0] >= ids[1] || ids[1] >= ids[2] {
		t.Fatalf("pages gave %v", ids)
	}
	// $filter as on /users (Get-MgDirectoryDeletedItemAsUser -Filter …).
	if got := values(f.Must(200, "GET", "/v1.0/directory/deletedItems/microsoft.graph.user?$filter=displayName%20eq%20'b'", f.admin, nil)); len(got) != 1 || got[0]["displayName"] != "b" {
		t.Fatalf("$filter gave %v", got)
	}
	wantError(t, f.Call("GET", "/v1.0/directory/deletedItems/microsoft.graph.user?$orderby=displayName", f.admin, nil), 400, "Request_BadRequest", "'$orderby' is not supported")
}
