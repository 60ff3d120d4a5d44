package graph_test

import (
	"strings"
	"testing"
)

func TestSubscribedSkusShowUnitsAndPlans(t *testing.T) {
	f := newFixture(t)
	r := f.Must(200, "GET", "/v1.0/subscribedSkus", f.admin, nil)
	skus := values(r)
	if len(skus) != 2 {
		t.Fatalf("skus: %s", r.Body)
	}
	var spe map[string]any
	for _, s := range skus {
		if s["skuId"] == e3 {
			spe = s
		}
	}
	pre := spe["prepaidUnits"].(map[string]any)
	plans := spe["servicePlans"].([]any)
	if spe["skuPartNumber"] != "SPE_E3" || spe["id"] != f.tenant+"_"+e3 || spe["accountId"] != f.tenant || spe["accountName"] != "Contoso" ||
		spe["consumedUnits"].(float64) != 0 || pre["enabled"].(float64) != 5 || spe["capabilityStatus"] != "Enabled" || spe["appliesTo"] != "User" || len(plans) < 5 {
		t.Fatalf("SPE_E3: %v", spe)
	}
	p0 := plans[0].(map[string]any)
	if p0["provisioningStatus"] != "Success" || p0["servicePlanId"] == "" || p0["servicePlanName"] == "" || p0["appliesTo"] != "User" {
		t.Fatalf("plan: %v", p0)
	}
	f.Must(200, "GET", "/v1.0/subscribedSkus/"+f.tenant+"_"+e3, f.admin, nil)
	got := f.Must(200, "GET", "/v1.0/subscribedSkus/"+e3+"?$select=skuPartNumber,consumedUnits", f.admin, nil).JSON()
	if got["skuPartNumber"] != "SPE_E3" || len(got) != 3 {
		t.Fatalf("selected: %v", got)
	}
	wantError(t, f.Call("GET", "/v1.0/subscribedSkus/"+unknown, f.admin, nil), 404, "Request_ResourceNotFound", "does not exist")
	wantError(t, f.Call("GET", "/v1.0/subscribedSkus?$top=1", f.admin, nil), 400, "Request_BadRequest", "'$top' is not supported by the service.")
}

func TestAssignLicenseToAUserAndReadLicenseDetails(t *testing.T) {
	f := newFixture(t)
	id := f.user("ann@contoso.example", "Ann")
	noLoc := f.Must(201, "POST", "/v1.0/users", f.admin, map[string]any{"accountEnabled": true, "displayName": "Bob",
		"mailNickname": "bob", "userPrincipalName": "bob@contoso.example"}).JSON()["id"].(string)
	wantError(t, f.Call("POST", "/v1.0/users/"+noLoc+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}}),
		400, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.")
	wantError(t, f.Call("POST", "/v1.0/users/"+id+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": unknown}}, "removeLicenses": []any{}}),
		400, "Request_BadRequest", "License "+unknown+" does not correspond to a valid company License.")

	// Get the first plan of SPE_E3 to disable it.
	sku := f.Must(200, "GET", "/v1.0/subscribedSkus/"+e3, f.admin, nil).JSON()
	disabled := sku["servicePlans"].([]any)[0].(map[string]any)["servicePlanId"].(string)
	r := f.Must(200, "POST", "/v1.0/users/ann@contoso.example/assignLicense", f.admin, map[string]any{
		"addLicenses": []any{map[string]any{"skuId": e3, "disabledPlans": []string{disabled}}}, "removeLicenses": []any{}})
	if r.JSON()["id"] != id {
		t.Fatalf("assignLicense returns the user: %s", r.Body)
	}
	details := values(f.Must(200, "GET", "/v1.0/users/"+id+"/licenseDetails", f.admin, nil))
	if len(details) != 1 || details[0]["skuId"] != e3 || details[0]["skuPartNumber"] != "SPE_E3" || details[0]["id"] == "" {
		t.Fatalf("licenseDetails: %v", details)
	}
	for _, p := range details[0]["servicePlans"].([]any) {
		p := p.(map[string]any)
		want := "Success"
		if p["servicePlanId"] == disabled {
			want = "Disabled"
		}
		if p["provisioningStatus"] != want {
			t.Fatalf("plan %v: want %s", p, want)
		}
	}
	u := f.Must(200, "GET", "/v1.0/users/"+id+"?$select=assignedLicenses,licenseAssignmentStates,assignedPlans", f.admin, nil).JSON()
	al := u["assignedLicenses"].([]any)[0].(map[string]any)
	st := u["licenseAssignmentStates"].([]any)[0].(map[string]any)
	if al["skuId"] != e3 || al["disabledPlans"].([]any)[0] != disabled || st["state"] != "Active" || st["error"] != "None" || st["assignedByGroup"] != nil {
		t.Fatalf("license properties: %v", u)
	}
	if len(u["assignedPlans"].([]any)) != len(details[0]["servicePlans"].([]any))-1 {
		t.Fatalf("assignedPlans: %v", u["assignedPlans"])
	}
	f.Must(200, "POST", "/v1.0/users/"+id+"/reprocessLicenseAssignment", f.admin, nil)
	f.Must(200, "POST", "/v1.0/users/"+id+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{}, "removeLicenses": []string{e3}})
	if d := values(f.Must(200, "GET", "/v1.0/users/"+id+"/licenseDetails", f.admin, nil)); len(d) != 0 {
		t.Fatalf("after removal: %v", d)
	}
	wantError(t, f.Call("GET", "/v1.0/users/nobody@contoso.example/licenseDetails", f.admin, nil), 404, "Request_ResourceNotFound", "does not exist")
	// Out of seats: ENTERPRISEPACK has 2.
	for i, upn := range []string{"c1@contoso.example", "c2@contoso.example", "c3@contoso.example"} {
		uid := f.user(upn, upn)
		r := f.Call("POST", "/v1.0/users/"+uid+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": o365E3}}, "removeLicenses": []any{}})
		if i < 2 && r.Status != 200 {
			t.Fatalf("seat %d: %s", i, r.Body)
		}
		if i == 2 {
			wantError(t, r, 400, "Request_BadRequest", "Subscription with SKU "+o365E3+" does not have any available licenses.")
		}
	}
	sub := f.Must(200, "GET", "/v1.0/subscribedSkus/"+o365E3, f.admin, nil).JSON()
	if sub["consumedUnits"].(float64) != 2 {
		t.Fatalf("consumed: %v", sub)
	}
}

func TestGroupLicensingThroughGraph(t *testing.T) {
	f := newFixture(t)
	g := f.group("Sales")
	a := f.user("ann@contoso.example", "Ann")
	b := f.user("bob@contoso.example", "Bob")
	c := f.user("cat@contoso.example", "Cat")
	r := f.Must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": o365E3}}, "removeLicenses": []any{}})
	if r.JSON()["id"] != g {
		t.Fatalf("assignLicense returns the group: %s", r.Body)
	}
	got := f.Must(200, "GET", "/v1.0/groups/"+g+"?$select=assignedLicenses,licenseProcessingState", f.admin, nil).JSON()
	if got["licenseProcessingState"].(map[string]any)["state"] != "ProcessingComplete" || got["assignedLicenses"].([]any)[0].(map[string]any)["skuId"] != o365E3 {
		t.Fatalf("group: %v", got)
	}
	f.addMember(g, a)
	f.addMember(g, b)
	wantError(t, f.Call("POST", "/v1.0/groups/"+g+"/members/$ref", f.admin, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + a}),
		400, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'.")
	wantError(t, f.Call("POST", "/v1.0/groups/"+g+"/members/$ref", f.admin, map[string]any{"@odata.id": "https://x.example/v1.0/users/" + unknown}),
		404, "Request_ResourceNotFound", unknown)
	// Two seats: the third member waits in error.
	f.Must(204, "POST", "/v1.0/groups/"+g+"/members/$ref", f.admin, map[string]any{"@odata.id": "http://localhost/v1.0/users('" + c + "')"})
	st := f.Must(200, "GET", "/v1.0/users/"+a+"?$select=licenseAssignmentStates", f.admin, nil).JSON()["licenseAssignmentStates"].([]any)[0].(map[string]any)
	if st["assignedByGroup"] != g || st["state"] != "Active" {
		t.Fatalf("inherited: %v", st)
	}
	st = f.Must(200, "GET", "/v1.0/users/"+c+"?$select=licenseAssignmentStates", f.admin, nil).JSON()["licenseAssignmentStates"].([]any)[0].(map[string]any)
	if st["state"] != "Error" || st["error"] != "CountViolation" {
		t.Fatalf("third member: %v", st)
	}
	if got := field(f.Must(200, "GET", "/v1.0/groups/"+g+"/membersWithLicenseErrors", f.admin, nil), "id"); len(got) != 1 || got[0] != c {
		t.Fatalf("membersWithLicenseErrors: %v", got)
	}
	if got := field(f.Must(200, "GET", "/v1.0/groups?$filter=hasMembersWithLicenseErrors%20eq%20true", f.admin, nil), "id"); len(got) != 1 || got[0] != g {
		t.Fatalf("hasMembersWithLicenseErrors: %v", got)
	}
	wantError(t, f.Call("POST", "/v1.0/users/"+a+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{}, "removeLicenses": []string{o365E3}}),
		400, "Request_BadRequest", "User license is inherited from a group membership and it cannot be removed directly from the user.")
	members := values(f.Must(200, "GET", "/v1.0/groups/"+g+"/members", f.admin, nil))
	if len(members) != 3 || members[0]["@odata.type"] != "#microsoft.graph.user" {
		t.Fatalf("members: %v", members)
	}
	memberOf := values(f.Must(200, "GET", "/v1.0/users/"+a+"/memberOf", f.admin, nil))
	if len(memberOf) != 1 || memberOf[0]["id"] != g || memberOf[0]["@odata.type"] != "#microsoft.graph.group" {
		t.Fatalf("memberOf: %v", memberOf)
	}
	if got := field(f.Must(200, "GET", "/v1.0/users/"+a+"/transitiveMemberOf", f.admin, nil), "id"); len(got) != 1 {
		t.Fatalf("transitiveMemberOf: %v", got)
	}
	// Removing a member frees a seat: the waiting user is admitted.
	f.Must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+a+"/$ref", f.admin, nil)
	wantError(t, f.Call("DELETE", "/v1.0/groups/"+g+"/members/"+a+"/$ref", f.admin, nil), 404, "Request_ResourceNotFound", a)
	if got := values(f.Must(200, "GET", "/v1.0/groups/"+g+"/membersWithLicenseErrors", f.admin, nil)); len(got) != 0 {
		t.Fatalf("after a seat freed: %v", got)
	}
	if d := values(f.Must(200, "GET", "/v1.0/users/"+c+"/licenseDetails", f.admin, nil)); len(d) != 1 {
		t.Fatalf("admitted user's licenseDetails: %v", d)
	}
	r = f.Call("DELETE", "/v1.0/groups/"+g, f.admin, nil)
	wantError(t, r, 400, "Request_BadRequest", "remove the group's licenses before deleting it")
	f.Must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{}, "removeLicenses": []string{o365E3}})
	f.Must(204, "DELETE", "/v1.0/groups/"+g, f.admin, nil)
	wantError(t, f.Call("GET", "/v1.0/groups/"+g, f.admin, nil), 404, "Request_ResourceNotFound", g)
}

func TestGroupCreatePatchAndMembersBind(t *testing.T) {
	f := newFixture(t)
	r := f.Call("POST", "/v1.0/groups", f.admin, map[string]any{"displayName": "X", "mailEnabled": false, "securityEnabled": true})
	wantError(t, r, 400, "Request_BadRequest", "Property mailNickname value is required but is empty or missing.")
	var users []string
	for i := 0; i < 24; i++ {
		users = append(users, f.user("u"+string(rune('a'+i))+"@contoso.example", "U"))
	}
	binds := func(ids ...string) []string {
		var out []string
		for _, id := range ids {
			out = append(out, "https://graph.microsoft.com/v1.0/directoryObjects/"+id)
		}
		return out
	}
	r = f.Must(201, "POST", "/v1.0/groups", f.admin, map[string]any{"displayName": "Eng", "mailEnabled": false, "mailNickname": "eng",
		"securityEnabled": true, "assignmentMode": "allOrNone", "members@odata.bind": binds(users[0])})
	g := r.JSON()
	if g["assignmentMode"] != "allOrNone" || g["displayName"] != "Eng" || g["securityEnabled"] != true {
		t.Fatalf("group: %v", g)
	}
	id := g["id"].(string)
	f.Must(204, "PATCH", "/v1.0/groups/"+id, f.admin, map[string]any{"description": "Engineers", "members@odata.bind": binds(users[1], users[2])})
	if n := len(values(f.Must(200, "GET", "/v1.0/groups/"+id+"/members", f.admin, nil))); n != 3 {
		t.Fatalf("members: %d", n)
	}
	wantError(t, f.Call("PATCH", "/v1.0/groups/"+id, f.admin, map[string]any{"members@odata.bind": binds(users[3:]...)}),
		400, "Request_BadRequest", "A resource cannot contain more than 20 link changes")
	// All or nothing: an unknown member refuses the whole request.
	wantError(t, f.Call("PATCH", "/v1.0/groups/"+id, f.admin, map[string]any{"description": "changed", "members@odata.bind": binds(users[3], unknown)}),
		404, "Request_ResourceNotFound", unknown)
	wantError(t, f.Call("PATCH", "/v1.0/groups/"+id, f.admin, map[string]any{"members@odata.bind": binds(users[4], users[0])}),
		400, "Request_BadRequest", "One or more added object references already exist")
	// A property the engine refuses (a rule on a static group) refuses the
	// members bound in the same request too: nothing is added, no seat taken.
	wantError(t, f.Call("PATCH", "/v1.0/groups/"+id, f.admin, map[string]any{"description": "changed", "membershipRule": `user.department -eq "x"`,
		"members@odata.bind": binds(users[5])}), 400, "Request_BadRequest", "membershipRule can only be set")
	got := f.Must(200, "GET", "/v1.0/groups/"+id, f.admin, nil).JSON()
	if got["description"] != "Engineers" {
		t.Fatalf("a refused PATCH changed the group: %v", got)
	}
	if n := len(values(f.Must(200, "GET", "/v1.0/groups/"+id+"/members", f.admin, nil))); n != 3 {
		t.Fatalf("a refused PATCH added members: %d", n)
	}
}

func TestDynamicGroupsRefuseManualMembers(t *testing.T) {
	f := newFixture(t)
	u := f.user("ann@contoso.example", "Ann")
	r := f.Call("POST", "/v1.0/groups", f.admin, map[string]any{"displayName": "Dyn", "mailEnabled": false, "mailNickname": "dyn",
		"securityEnabled": true, "groupTypes": []string{"DynamicMembership"}})
	wantError(t, r, 400, "Request_BadRequest", "Property membershipRule value is required")
	g := f.Must(201, "POST", "/v1.0/groups", f.admin, map[string]any{"displayName": "Dyn", "mailEnabled": false, "mailNickname": "dyn",
		"securityEnabled": true, "groupTypes": []string{"DynamicMembership"}, "membershipRule": `user.department -eq "Sales"`}).JSON()
	if g["membershipRuleProcessingState"] != "On" || g["membershipRule"] != `user.department -eq "Sales"` {
		t.Fatalf("dynamic group: %v", g)
	}
	id := g["id"].(string)
	// Graph answers 403 Authorization_RequestDenied here, whoever asks.
	wantError(t, f.Call("POST", "/v1.0/groups/"+id+"/members/$ref", f.admin, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + u}),
		403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	wantError(t, f.Call("PATCH", "/v1.0/groups/"+id, f.admin, map[string]any{"members@odata.bind": []string{"https://graph.microsoft.com/v1.0/users/" + u}}),
		403, "Authorization_RequestDenied", "Insufficient privileges")
	if !strings.Contains(string(f.Must(200, "GET", "/v1.0/groups/"+id, f.admin, nil).Body), `"groupTypes":["DynamicMembership"]`) {
		t.Fatal("groupTypes not kept")
	}
}
