package graph_test

import (
	"net/url"
	"testing"

	"allot/api/apitest"
)

// These tests follow Microsoft's documentation of group-based licensing
// step by step through the Graph API and check what the docs say the user
// ends with.

const e5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06" // SPE_E5

func (f *fixture) assignGroup(group string, add []string, remove []string) apitest.Response {
	f.T.Helper()
	adds := []any{}
	for _, s := range add {
		adds = append(adds, map[string]any{"skuId": s, "disabledPlans": []string{}})
	}
	if remove == nil {
		remove = []string{}
	}
	return f.Call("POST", "/v1.0/groups/"+group+"/assignLicense", f.admin, map[string]any{"addLicenses": adds, "removeLicenses": remove})
}

func (f *fixture) userLicenses(id string) (assigned []string, states map[string][]map[string]any) {
	f.T.Helper()
	u := f.Must(200, "GET", "/v1.0/users/"+id+"?$select=assignedLicenses,licenseAssignmentStates", f.admin, nil).JSON()
	for _, a := range u["assignedLicenses"].([]any) {
		assigned = append(assigned, a.(map[string]any)["skuId"].(string))
	}
	states = map[string][]map[string]any{}
	for _, s := range u["licenseAssignmentStates"].([]any) {
		m := s.(map[string]any)
		states[m["skuId"].(string)] = append(states[m["skuId"].(string)], m)
	}
	return assigned, states
}

func (f *fixture) consumed(sku string) float64 {
	f.T.Helper()
	return f.Must(200, "GET", "/v1.0/subscribedSkus/"+sku, f.admin, nil).JSON()["consumedUnits"].(float64)
}

// skuOf returns the skuId of a part number from subscribedSkus.
func (f *fixture) skuOf(part string) string {
	f.T.Helper()
	for _, s := range values(f.Must(200, "GET", "/v1.0/subscribedSkus", f.admin, nil)) {
		if s["skuPartNumber"] == part {
			return s["skuId"].(string)
		}
	}
	f.T.Fatalf("no subscription of %s", part)
	return ""
}

func (f *fixture) holders(sku string) []string {
	f.T.Helper()
	q := url.Values{"$filter": {"assignedLicenses/any(x:x/skuId eq " + sku + ")"}, "$select": {"id"}}
	var ids []string
	for _, u := range values(f.Must(200, "GET", "/v1.0/users?"+q.Encode(), f.admin, nil)) {
		ids = append(ids, u["id"].(string))
	}
	return ids
}

// learn.microsoft.com, "Identify and resolve license assignment problems for
// a group in Microsoft Entra ID", section "Conflicting service plans": one of
// the products in the group contains a service plan that conflicts with
// another service plan that's already assigned to the user via a different
// product; the assignment of that product fails with
// MutuallyExclusiveViolation. The product the user has stays.
func TestConflictingServicePlansFailTheProductBeingAdded(t *testing.T) {
	f := newFixture(t)
	f.Subscribe(f.tenant, "SMB_BUSINESS_ESSENTIALS", 1)
	basic := f.skuOf("SMB_BUSINESS_ESSENTIALS") // YAMMER_MIDSIZE conflicts with E3's YAMMER_ENTERPRISE
	ann := f.user("ann@contoso.example", "Ann")
	bob := f.user("bob@contoso.example", "Bob")
	groupB := f.group("Business Basic users") // its license is created first
	if r := f.assignGroup(groupB, []string{basic}, nil); r.Status != 202 {
		t.Fatalf("assign Business Basic: %d %s", r.Status, r.Body)
	}
	groupA := f.group("E3 users")
	if r := f.assignGroup(groupA, []string{e3}, nil); r.Status != 202 {
		t.Fatalf("assign E3: %d %s", r.Status, r.Body)
	}
	f.addMember(groupA, ann)
	f.addMember(groupB, ann) // Business Basic is the product being added

	assigned, states := f.userLicenses(ann)
	if len(assigned) != 1 || assigned[0] != e3 {
		t.Fatalf("assignedLicenses: %v (want only E3)", assigned)
	}
	if s := states[e3][0]; s["state"] != "Active" || s["error"] != "None" {
		t.Fatalf("E3 state: %v", s)
	}
	if s := states[basic][0]; s["state"] != "Error" || s["error"] != "MutuallyExclusiveViolation" || s["assignedByGroup"] != groupB {
		t.Fatalf("Business Basic state: %v", s)
	}
	// The failed product holds no seat: the one seat serves Bob.
	if got := f.consumed(basic); got != 0 {
		t.Fatalf("Business Basic consumedUnits %v with only a failed assignment", got)
	}
	if h := f.holders(basic); len(h) != 0 {
		t.Fatalf("$filter finds holders of the failed product: %v", h)
	}
	f.addMember(groupB, bob)
	if got := f.consumed(basic); got != 1 {
		t.Fatalf("Business Basic consumedUnits %v after Bob joined", got)
	}
	if h := f.holders(basic); len(h) != 1 || h[0] != bob {
		t.Fatalf("holders of Business Basic: %v", h)
	}
	// The portal's "users in an error state" list for the group.
	if got := field(f.Must(200, "GET", "/v1.0/groups?$filter=hasMembersWithLicenseErrors%20eq%20true", f.admin, nil), "id"); len(got) != 1 || got[0] != groupB {
		t.Fatalf("groups with license errors: %v", got)
	}
}

// learn.microsoft.com, "Change license assignments for a user or group in the
// Microsoft 365 admin center" / Entra "How to migrate users between product
// licenses using group-based licensing": replacing E3 by E5 on a group in one
// assignLicense call (addLicenses E5, removeLicenses E3) is one operation; a
// user whose E5 cannot be assigned yet keeps E3 (never neither), and moves to
// E5 when a seat frees.
func TestChangingAGroupFromE3ToE5WithTooFewSeatsLeavesNoUserWithNeither(t *testing.T) {
	f := newFixture(t)
	sub := f.Subscribe(f.tenant, "SPE_E5", 2)
	g := f.group("Sales")
	if r := f.assignGroup(g, []string{e3}, nil); r.Status != 202 {
		t.Fatalf("assign E3: %d %s", r.Status, r.Body)
	}
	var users []string
	for _, n := range []string{"ann", "bob", "cat", "dan"} {
		id := f.user(n+"@contoso.example", n)
		f.addMember(g, id)
		users = append(users, id)
	}
	if r := f.assignGroup(g, []string{e5}, []string{e3}); r.Status != 202 {
		t.Fatalf("E3 -> E5: %d %s", r.Status, r.Body)
	}
	onE5, onE3 := 0, 0
	for _, u := range users {
		assigned, states := f.userLicenses(u)
		if len(assigned) != 1 {
			t.Fatalf("user %s assignedLicenses %v: want exactly one product", u, assigned)
		}
		switch assigned[0] {
		case e5:
			onE5++
		case e3:
			onE3++
			if s := states[e3][0]; s["state"] != "ActiveWithError" || s["assignedByGroup"] != g {
				t.Fatalf("kept E3: %v", s)
			}
			if s := states[e5][0]; s["state"] != "Error" || s["error"] != "CountViolation" {
				t.Fatalf("waiting E5: %v", s)
			}
		}
	}
	if onE5 != 2 || onE3 != 2 || f.consumed(e3) != 2 || f.consumed(e5) != 2 {
		t.Fatalf("on E5 %d, on E3 %d, consumed E3 %v E5 %v", onE5, onE3, f.consumed(e3), f.consumed(e5))
	}
	// Two more E5 seats: everyone moves, E3 is released.
	f.Must(200, "PATCH", "/partner/v1/customers/"+f.tenant+"/subscriptions/"+sub, apitest.PartnerToken, map[string]any{"quantity": 4})
	for _, u := range users {
		if assigned, _ := f.userLicenses(u); len(assigned) != 1 || assigned[0] != e5 {
			t.Fatalf("user %s after E5 seats: %v", u, assigned)
		}
	}
	if f.consumed(e3) != 0 || f.consumed(e5) != 4 {
		t.Fatalf("consumed E3 %v E5 %v", f.consumed(e3), f.consumed(e5))
	}
}

// learn.microsoft.com, "Identify and resolve license assignment problems for
// a group in Microsoft Entra ID", sections "Other products depend on this
// license" (removing a user from the group fails with DependencyViolation
// while another product needs the plan; the prerequisite stays) and "When a
// licensed group is deleted" (the license a user's dependent license needs
// is converted from inherited to direct).
func TestRemovingAPrerequisiteKeepsItAndDeletingTheGroupMakesItDirect(t *testing.T) {
	f := newFixture(t)
	f.Subscribe(f.tenant, "WORKPLACE_ANALYTICS", 5)
	wpa := f.skuOf("WORKPLACE_ANALYTICS")
	ann := f.user("ann@contoso.example", "Ann")
	g := f.group("E3 users")
	if r := f.assignGroup(g, []string{e3}, nil); r.Status != 202 {
		t.Fatalf("assign E3: %d %s", r.Status, r.Body)
	}
	f.addMember(g, ann)
	// Workplace Analytics needs Exchange Online, which Ann has from E3.
	f.Must(200, "POST", "/v1.0/users/"+ann+"/assignLicense", f.admin, map[string]any{
		"addLicenses": []any{map[string]any{"skuId": wpa, "disabledPlans": []string{}}}, "removeLicenses": []string{}})

	f.Must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+ann+"/$ref", f.admin, nil)
	assigned, states := f.userLicenses(ann)
	if len(assigned) != 2 {
		t.Fatalf("assignedLicenses after leaving the group: %v (E3 must stay for Workplace Analytics)", assigned)
	}
	if s := states[e3][0]; s["state"] != "ActiveWithError" || s["error"] != "DependencyViolation" || s["assignedByGroup"] != g {
		t.Fatalf("E3: %v", s)
	}
	if s := states[wpa][0]; s["state"] != "Active" {
		t.Fatalf("Workplace Analytics: %v", s)
	}
	if f.consumed(e3) != 1 {
		t.Fatalf("E3 consumed %v", f.consumed(e3))
	}

	// Remove the group's licenses, then delete the group.
	if r := f.assignGroup(g, nil, []string{e3}); r.Status != 202 {
		t.Fatalf("remove E3 from the group: %d %s", r.Status, r.Body)
	}
	f.Must(204, "DELETE", "/v1.0/groups/"+g, f.admin, nil)
	assigned, states = f.userLicenses(ann)
	if len(assigned) != 2 {
		t.Fatalf("assignedLicenses after the group was deleted: %v", assigned)
	}
	if s := states[e3][0]; s["state"] != "Active" || s["assignedByGroup"] != nil {
		t.Fatalf("E3 after the group was deleted: %v (want a direct, active assignment)", s)
	}
	// Now a direct license: removing it from the user is allowed.
	f.Must(200, "POST", "/v1.0/users/"+ann+"/assignLicense", f.admin, map[string]any{
		"addLicenses": []any{}, "removeLicenses": []string{wpa}})
	f.Must(200, "POST", "/v1.0/users/"+ann+"/assignLicense", f.admin, map[string]any{
		"addLicenses": []any{}, "removeLicenses": []string{e3}})
	if assigned, _ := f.userLicenses(ann); len(assigned) != 0 {
		t.Fatalf("after removing both: %v", assigned)
	}
}

// learn.microsoft.com, "Identify and resolve license assignment problems for
// a group in Microsoft Entra ID", section "More than one product license
// assigned to a group": if one of the products cannot be assigned (for
// example, not enough licenses), Entra doesn't assign the group's other
// licenses either. allot's allOrNone groups do the same, and the product
// that is not assigned holds no seat (Graph does not list it).
func TestAllOrNoneGroupAssignsNoProductWhileOneIsShort(t *testing.T) {
	f := newFixture(t)
	f.Subscribe(f.tenant, "SPE_E5", 1)
	ann, bob := f.user("ann@contoso.example", "Ann"), f.user("bob@contoso.example", "Bob")
	// Bob takes the only E5 seat.
	f.Must(200, "POST", "/v1.0/users/"+bob+"/assignLicense", f.admin, map[string]any{
		"addLicenses": []any{map[string]any{"skuId": e5, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	r := f.Must(201, "POST", "/v1.0/groups", f.admin, map[string]any{"displayName": "Bundle", "mailEnabled": false,
		"mailNickname": "bundle", "securityEnabled": true, "assignmentMode": "allOrNone"})
	g := r.JSON()["id"].(string)
	if r := f.assignGroup(g, []string{o365E3, e5}, nil); r.Status != 202 {
		t.Fatalf("assign: %d %s", r.Status, r.Body)
	}
	f.addMember(g, ann)
	assigned, states := f.userLicenses(ann)
	if len(assigned) != 0 {
		t.Fatalf("assignedLicenses %v: no product of the group may be assigned", assigned)
	}
	if s := states[o365E3][0]; s["state"] != "Error" || s["error"] != "CountViolation" {
		t.Fatalf("ENTERPRISEPACK: %v", s)
	}
	if got := f.consumed(o365E3); got != 0 {
		t.Fatalf("ENTERPRISEPACK consumedUnits %v: a product that cannot be used holds a seat", got)
	}
	if h := f.holders(o365E3); len(h) != 0 {
		t.Fatalf("$filter finds %v", h)
	}
	// Bob's E5 goes: Ann gets both products at once.
	f.Must(200, "POST", "/v1.0/users/"+bob+"/assignLicense", f.admin, map[string]any{
		"addLicenses": []any{}, "removeLicenses": []string{e5}})
	if assigned, _ := f.userLicenses(ann); len(assigned) != 2 {
		t.Fatalf("after a seat freed: %v", assigned)
	}
}
