package graph_test

import (
	"strings"
	"testing"

	"allot/api/apitest"
)

// Tenant licensing settings through /allot/v1/settings. Entra licenses only
// a group's direct members ("licensing-group-advanced": nested groups are
// not supported) and licenses guests in licensed groups; allot lets the
// tenant turn nested licensing on and keep guests out, and uses the
// tenant's default usage location for members without one
// ("licensing-groups-assign": usage location). Each change re-derives the
// licenses in the same request.

func (f *fixture) licenses(id string) int {
	f.T.Helper()
	return len(f.Must(200, "GET", "/v1.0/users/"+id+"?$select=assignedLicenses", f.admin, nil).JSON()["assignedLicenses"].([]any))
}

func TestTenantSettingsReLicenseUsersInTheSameRequest(t *testing.T) {
	f := newFixture(t)
	got := f.Must(200, "GET", "/allot/v1/settings", f.admin, nil).JSON()
	if got["defaultUsageLocation"] != "US" || got["excludeGuestsFromGroupLicensing"] != false || got["nestedGroupLicensing"] != false {
		t.Fatalf("default settings: %v", got)
	}
	g := f.group("E3 users")
	f.Must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
	guest := f.user("guest_fabrikam.example#EXT#@contoso.example", "Guest", "userType", "Guest")
	f.addMember(g, guest)
	sub := f.group("Sales")
	f.addMember(g, sub)
	nested := f.user("nina@contoso.example", "Nina")
	f.addMember(sub, nested)
	if f.licenses(guest) != 1 || f.licenses(nested) != 0 {
		t.Fatal("before: the guest is licensed, the nested member is not")
	}

	r := f.Must(200, "PATCH", "/allot/v1/settings", f.admin, map[string]any{"excludeGuestsFromGroupLicensing": true, "nestedGroupLicensing": true})
	if got := r.JSON(); got["excludeGuestsFromGroupLicensing"] != true || got["nestedGroupLicensing"] != true {
		t.Fatalf("patched settings: %v", got)
	}
	if f.licenses(guest) != 0 || f.licenses(nested) != 1 {
		t.Fatal("after: the guest lost the group license and the nested member got it, in the same request")
	}

	// The default usage location can change after creation: members
	// without one use it, and the customer record shows it.
	noLoc := f.user("nol@contoso.example", "No Location", "usageLocation", "")
	f.addMember(g, noLoc)
	f.Must(200, "PATCH", "/allot/v1/settings", f.admin, map[string]any{"defaultUsageLocation": "de"})
	x := f.Must(200, "GET", "/allot/v1/users/"+noLoc+"/licenses/"+e3+"/explain", f.admin, nil).JSON()
	if x["usageLocation"] != "DE" || x["usageLocationSource"] != "tenantDefault" {
		t.Fatalf("explain after the change: %v", x)
	}
	c := f.Must(200, "GET", "/partner/v1/customers/"+f.tenant, apitest.PartnerToken, nil).JSON()
	if c["defaultUsageLocation"] != "DE" {
		t.Fatalf("customer record: %v", c)
	}
	// The change is audited with what changed.
	a := f.Must(200, "GET", "/allot/v1/audit", f.admin, nil).JSON()
	found := false
	for _, e := range a["value"].([]any) {
		m := e.(map[string]any)
		if m["action"] == "Update tenant settings" && m["why"] == "defaultUsageLocation US → DE" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no audit entry for the change: %v", a)
	}
}

func TestTenantSettingsRefuseBadInputAndReaders(t *testing.T) {
	f := newFixture(t)
	reader := f.Token(f.tenant, "GlobalReader")
	for _, c := range []struct {
		body any
		msg  string
	}{
		{map[string]any{}, "Nothing to change"},
		{map[string]any{"defaultUsageLocation": "USA"}, "two-letter"},
		{map[string]any{"defaultUsageLocation": ""}, "two-letter"},
		{map[string]any{"nestedGroupLicensing": "yes"}, "nestedGroupLicensing"},
		{map[string]any{"bogus": true}, "bogus"},
	} {
		r := f.Call("PATCH", "/allot/v1/settings", f.admin, c.body)
		if r.Status != 400 || !containsFold(r.ErrorMessage(), c.msg) {
			t.Fatalf("%v: %d %s", c.body, r.Status, r.Body)
		}
	}
	f.Must(200, "GET", "/allot/v1/settings", reader, nil)
	f.Must(403, "PATCH", "/allot/v1/settings", reader, map[string]any{"nestedGroupLicensing": true})
	if got := f.Must(200, "GET", "/allot/v1/settings", f.admin, nil).JSON(); got["nestedGroupLicensing"] != false || got["defaultUsageLocation"] != "US" {
		t.Fatalf("refused changes applied: %v", got)
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// The leave attribute is one of the extension attributes, or none; a bad
// name is 400 and changes nothing.
func TestLeaveAttributeSetting(t *testing.T) {
	f := newFixture(t)
	got := f.Must(200, "PATCH", "/allot/v1/settings", f.admin, map[string]any{"leaveAttribute": "EXTENSIONATTRIBUTE7"}).JSON()
	if got["leaveAttribute"] != "extensionAttribute7" {
		t.Fatalf("leaveAttribute: %v", got)
	}
	for _, bad := range []string{"department", "extensionAttribute16", "extensionAttribute0"} {
		r := f.Must(400, "PATCH", "/allot/v1/settings", f.admin, map[string]any{"leaveAttribute": bad})
		if !strings.Contains(r.ErrorMessage(), "extensionAttribute1 to extensionAttribute15") {
			t.Fatalf("%s: %s", bad, r.ErrorMessage())
		}
	}
	if got := f.Must(200, "GET", "/allot/v1/settings", f.admin, nil).JSON(); got["leaveAttribute"] != "extensionAttribute7" {
		t.Fatalf("a refused change changed the setting: %v", got)
	}
	if got := f.Must(200, "PATCH", "/allot/v1/settings", f.admin, map[string]any{"leaveAttribute": ""}).JSON(); got["leaveAttribute"] != nil {
		t.Fatalf("cleared: %v", got)
	}
}
