package graph_test

import (
	"sort"
	"strings"
	"testing"
)

// Graph v1.0 reference, "assignedPlan resource type": service is "The name
// of the service; for example, exchange" — the workload, not the service
// plan's name (EXCHANGE_S_ENTERPRISE).
func TestAssignedPlansNameTheWorkloadAsService(t *testing.T) {
	f := newFixture(t)
	u := f.user("alex@contoso.example", "Alex")
	assign(f, u, e3)
	plans := f.Must(200, "GET", "/v1.0/users/"+u+"?$select=assignedPlans", f.admin, nil).JSON()["assignedPlans"].([]any)
	want := map[string]string{
		"efb87545-963c-4e0d-99df-69c6916d9eb0": "exchange",                      // EXCHANGE_S_ENTERPRISE
		"5dbe027f-2339-4123-9542-606e4d348a72": "SharePoint",                    // SHAREPOINTENTERPRISE
		"0feaeb32-d00e-4d66-bd5a-43b5b83db82c": "MicrosoftCommunicationsOnline", // MCOSTANDARD
		"57ff2da0-773e-42df-b2af-ffb7a2317929": "TeamspaceAPI",                  // TEAMS1
		"43de0ff5-c92c-492b-9116-175376d08c38": "MicrosoftOffice",               // OFFICESUBSCRIPTION
	}
	seen := 0
	for _, p := range plans {
		m := p.(map[string]any)
		if svc, ok := want[m["servicePlanId"].(string)]; ok {
			seen++
			if m["service"] != svc {
				t.Errorf("plan %s: service %v, want %s", m["servicePlanId"], m["service"], svc)
			}
		}
	}
	if seen != len(want) {
		t.Fatalf("found %d of the %d plans in %v", seen, len(want), plans)
	}
}

// Microsoft's dynamic membership rules compare assignedPlan.service with
// the workload name ("Rules for dynamic membership groups": e.g.
// assignedPlan.service -eq "SCO" for Intune).
func TestDynamicRuleMatchesAssignedPlanByWorkload(t *testing.T) {
	f := newFixture(t)
	u := f.user("bo@contoso.example", "Bo")
	assign(f, u, e3)
	g := f.Must(201, "POST", "/v1.0/groups", f.admin, map[string]any{"displayName": "Exchange users", "mailEnabled": false,
		"mailNickname": "exo", "securityEnabled": true, "groupTypes": []string{"DynamicMembership"},
		"membershipRule":                `user.assignedPlans -any (assignedPlan.service -eq "exchange" -and assignedPlan.capabilityStatus -eq "Enabled")`,
		"membershipRuleProcessingState": "On"}).JSON()["id"].(string)
	if got := field(f.Must(200, "GET", "/v1.0/groups/"+g+"/members", f.admin, nil), "id"); len(got) != 1 || got[0] != u {
		t.Fatalf("members = %v, want the user with Exchange", got)
	}
}

// Graph "List group transitive members": GET /groups/{id}/transitiveMembers
// returns the users and groups of the group and of its member groups, with
// $select, $top, $count and paging as /members.
func TestGroupTransitiveMembersIncludeMembersOfMemberGroups(t *testing.T) {
	f := newFixture(t)
	outer, inner := f.group("Outer"), f.group("Inner")
	a, b := f.user("a@contoso.example", "A"), f.user("b@contoso.example", "B")
	f.addMember(outer, a)
	f.addMember(outer, inner)
	f.addMember(inner, b)
	got := field(f.Must(200, "GET", "/v1.0/groups/"+outer+"/transitiveMembers", f.admin, nil), "id")
	want := []string{a, b, inner}
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("transitive members = %v, want %v", got, want)
	}
	if direct := field(f.Must(200, "GET", "/v1.0/groups/"+outer+"/members", f.admin, nil), "id"); len(direct) != 2 {
		t.Fatalf("direct members = %v", direct)
	}
	r := f.Must(200, "GET", "/v1.0/groups/"+outer+"/transitiveMembers?$top=2&$count=true&$select=id", f.admin, nil, "ConsistencyLevel: eventual").JSON()
	if r["@odata.count"].(float64) != 3 || len(r["value"].([]any)) != 2 || r["@odata.nextLink"] == nil {
		t.Fatalf("page = %v", r)
	}
	wantError(t, f.Call("GET", "/v1.0/groups/"+outer+"/transitiveMembers?$orderby=displayName", f.admin, nil), 400, "Request_BadRequest", "")
	wantError(t, f.Call("GET", "/v1.0/groups/00000000-0000-0000-0000-000000000000/transitiveMembers", f.admin, nil), 404, "Request_ResourceNotFound", "")
}
