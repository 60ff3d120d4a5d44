package graph_test

import (
	"net/url"
	"strings"
	"testing"

	"allot/api/cloudlicensing"
	"allot/api/graph"
)

// TestAllotmentOwnersSeeOnlyTheirScope: an allotment owner reads the groups
// assigned through its allotments and their members, and nothing else;
// everything outside answers 404, and changes answer 404 too.
func TestAllotmentOwnersSeeOnlyTheirScope(t *testing.T) {
	f := newFixture(t, graph.Register, cloudlicensing.Register)
	inside := f.group("Marketing")
	outside := f.group("Finance")
	ann := f.user("ann@contoso.example", "Ann")
	bob := f.user("bob@contoso.example", "Bob")
	f.addMember(inside, ann)
	f.addMember(outside, bob)
	al := f.Must(201, "POST", "/beta/admin/cloudLicensing/allotments", f.admin, map[string]any{"displayName": "Marketing seats", "skuId": e3, "allottedUnits": 2}).JSON()["id"].(string)
	f.Must(201, "POST", "/beta/admin/cloudLicensing/assignments", f.admin, map[string]any{
		"allotment@odata.bind":  "https://graph.microsoft.com/beta/admin/cloudLicensing/allotments/" + al,
		"assignedTo@odata.bind": "https://graph.microsoft.com/v1.0/groups/" + inside})
	owner := f.Must(201, "POST", "/allot/v1/tenants/"+f.tenant+"/tokens", f.admin, map[string]any{"displayName": "marketing owner",
		"roles": []string{"AllotmentOwner"}, "allotmentIds": []string{al}}).JSON()["token"].(string)

	ids := func(path string) []string {
		t.Helper()
		return field(f.Must(200, "GET", path, owner, nil), "id")
	}
	if got := ids("/v1.0/groups"); len(got) != 1 || got[0] != inside {
		t.Fatalf("groups: %v", got)
	}
	if got := ids("/v1.0/users"); len(got) != 1 || got[0] != ann {
		t.Fatalf("users: %v", got)
	}
	if got := ids("/v1.0/users?$filter=" + url.QueryEscape("startsWith(displayName,'b')")); len(got) != 0 {
		t.Fatalf("filtered users outside the scope: %v", got)
	}
	if got := ids("/v1.0/groups/" + inside + "/members"); len(got) != 1 || got[0] != ann {
		t.Fatalf("members: %v", got)
	}
	f.Must(200, "GET", "/v1.0/users/"+ann, owner, nil)
	// Ann also holds O365 E3 through "Everyone" (general pool): the owner
	// sees only the license of its allotment, and not the group.
	everyone := f.group("Everyone")
	f.Must(202, "POST", "/v1.0/groups/"+everyone+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": o365E3}}, "removeLicenses": []any{}})
	f.addMember(everyone, ann)
	if got := field(f.Must(200, "GET", "/v1.0/users/"+ann+"/licenseDetails", owner, nil), "skuId"); len(got) != 1 || got[0] != e3 {
		t.Fatalf("the owner sees ann's licenses %v, want only the allotment's %s", got, e3)
	}
	if b := string(f.Must(200, "GET", "/v1.0/users/"+ann+"?$select=licenseAssignmentStates,assignedLicenses", owner, nil).Body); strings.Contains(b, everyone) || strings.Contains(b, o365E3) {
		t.Fatalf("the owner sees ann's license states from outside its allotment: %s", b)
	}
	if got := ids("/v1.0/users/" + ann + "/memberOf"); len(got) != 1 || got[0] != inside {
		t.Fatalf("memberOf: %v", got)
	}
	// The owner may not take over "Everyone" (licensed from the general
	// pool): as invisible as a group that does not exist.
	wantError(t, f.Call("POST", "/beta/admin/cloudLicensing/assignments", owner, map[string]any{
		"allotment@odata.bind":  "https://graph.microsoft.com/beta/admin/cloudLicensing/allotments/" + al,
		"assignedTo@odata.bind": "https://graph.microsoft.com/v1.0/groups/" + everyone}), 404, "Request_ResourceNotFound", "")
	wantError(t, f.Call("DELETE", "/v1.0/groups/"+everyone+"/members/"+ann+"/$ref", owner, nil), 404, "Request_ResourceNotFound", "")
	if got := ids("/v1.0/users/" + ann + "/memberOf"); len(got) != 1 || got[0] != inside {
		t.Fatalf("memberOf: %v", got)
	}
	for _, path := range []string{"/v1.0/users/" + bob, "/v1.0/users/bob@contoso.example/licenseDetails", "/v1.0/groups/" + outside,
		"/v1.0/groups/" + outside + "/members", "/v1.0/subscribedSkus/" + e3} {
		wantError(t, f.Call("GET", path, owner, nil), 404, "Request_ResourceNotFound", "")
	}
	if got := values(f.Must(200, "GET", "/v1.0/subscribedSkus", owner, nil)); len(got) != 0 {
		t.Fatalf("subscribedSkus visible to an owner: %v", got)
	}
	wantError(t, f.Call("DELETE", "/v1.0/users/"+ann, owner, nil), 404, "Request_ResourceNotFound", "")
	wantError(t, f.Call("POST", "/v1.0/groups/"+inside+"/assignLicense", owner, map[string]any{"addLicenses": []any{}, "removeLicenses": []any{}}), 404, "Request_ResourceNotFound", "")
}
