package graph_test

import (
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	"allot/api/partner"
)

// FuzzGraph: Graph v1.0 users, groups, licenses and $batch keep the
// invariants of apitest.Fuzz.Check (no panic, no 5xx, a 4xx changes
// nothing).
func FuzzGraph(fz *testing.F) {
	w := apitest.NewFuzz(fz, partner.Register, admin.Register, cloudlicensing.Register, graph.Register)
	const e3 = `05e9a617-0261-4cee-bb44-138d3ef5d965`
	seeds := []apitest.Seed{
		{Method: "GET", Path: "/v1.0/users?$filter=startswith(displayName,'User')&$select=id,displayName&$top=2&$count=true", CT: 5},
		{Method: "GET", Path: "/v1.0/users/{user0}?$select=assignedLicenses,licenseAssignmentStates"},
		{Method: "GET", Path: "/v1.0/users/user1@contoso.example/licenseDetails"},
		{Method: "GET", Path: "/v1.0/users/{user0}/memberOf"},
		{Method: "GET", Path: "/v1.0/users/{user0}/transitiveMemberOf?$count=true", Token: 2},
		{Method: "POST", Path: "/v1.0/users", Body: `{"accountEnabled":true,"displayName":"New","mailNickname":"new","userPrincipalName":"new@contoso.example","usageLocation":"US","passwordProfile":{"password":"x"}}`},
		{Method: "PATCH", Path: "/v1.0/users/{user2}", Body: `{"usageLocation":"DE","department":"HR","jobTitle":null}`},
		{Method: "DELETE", Path: "/v1.0/users/{user2}"},
		{Method: "POST", Path: "/v1.0/users/{user2}/assignLicense", Body: `{"addLicenses":[{"skuId":"` + e3 + `","disabledPlans":[]}],"removeLicenses":[]}`},
		{Method: "POST", Path: "/v1.0/users/{user0}/assignLicense", Body: `{"addLicenses":[],"removeLicenses":["` + e3 + `"]}`},
		{Method: "POST", Path: "/v1.0/users/{user0}/reprocessLicenseAssignment", Body: `{}`},
		{Method: "GET", Path: "/v1.0/groups?$filter=securityEnabled eq true&$orderby=displayName&$top=1"},
		{Method: "POST", Path: "/v1.0/groups", Body: `{"displayName":"Dyn","mailEnabled":false,"mailNickname":"dyn","securityEnabled":true,"groupTypes":["DynamicMembership"],"membershipRule":"user.department -eq \"Sales\"","membershipRuleProcessingState":"On"}`},
		{Method: "PATCH", Path: "/v1.0/groups/{group1}", Body: `{"displayName":"Renamed","members@odata.bind":["https://graph.microsoft.com/v1.0/directoryObjects/{user2}"]}`},
		{Method: "PATCH", Path: "/v1.0/groups/{group1}", Body: `{"membershipRule":"user.city -eq \"x\"","members@odata.bind":["https://graph.microsoft.com/v1.0/users/{user2}"]}`},
		{Method: "DELETE", Path: "/v1.0/groups/{group0}"},
		{Method: "POST", Path: "/v1.0/groups/{group0}/assignLicense", Body: `{"addLicenses":[{"skuId":"6fd2c87f-b296-42f0-b197-1e91e994b900"}],"removeLicenses":[]}`},
		{Method: "GET", Path: "/v1.0/groups/{group0}/members?$select=id"},
		{Method: "POST", Path: "/v1.0/groups/{group0}/members/$ref", Body: `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/{user2}"}`},
		{Method: "DELETE", Path: "/v1.0/groups/{group0}/members/{user0}/$ref"},
		{Method: "GET", Path: "/v1.0/groups/{group0}/membersWithLicenseErrors"},
		{Method: "GET", Path: "/v1.0/users/$count?$filter=startswith(displayName,'User')"},
		{Method: "GET", Path: "/v1.0/groups/{group0}/members/microsoft.graph.user?$count=true&$select=id"},
		{Method: "GET", Path: "/v1.0/groups/{group0}/members/microsoft.graph.user/$count"},
		{Method: "GET", Path: "/v1.0/groups/{group0}?$expand=members($select=id,displayName)"},
		{Method: "GET", Path: "/v1.0/groups?$expand=members($select=id)&$top=2"},
		{Method: "POST", Path: "/v1.0/groups/{group0}/assignLicense", Body: `{"addLicenses":[]}`},
		{Method: "GET", Path: "/v1.0/users/delta?$select=displayName,assignedLicenses"},
		{Method: "GET", Path: "/v1.0/users/delta?$deltatoken=latest"},
		{Method: "GET", Path: "/v1.0/users/delta?$skiptoken=AQBpAAAAAAAAAAE"},
		{Method: "GET", Path: "/v1.0/groups/delta?$select=displayName,members"},
		{Method: "GET", Path: "/v1.0/groups/microsoft.graph.delta()?$deltatoken=AQ&$skiptoken=AQ"},
		{Method: "GET", Path: "/v1.0/directory/subscriptions?$select=id,status,totalLicenses"},
		{Method: "GET", Path: "/v1.0/directory/subscriptions/x"},
		{Method: "GET", Path: "/v1.0/users/{user0}?$select=signInActivity"},
		{Method: "GET", Path: "/v1.0/subscribedSkus", Token: 1},
		{Method: "GET", Path: "/v1.0/subscribedSkus/" + e3},
		{Method: "POST", Path: "/v1.0/$batch", Body: `{"requests":[{"id":"1","method":"GET","url":"/users/{user0}"},{"id":"2","method":"POST","url":"/users/{user2}/assignLicense","headers":{"Content-Type":"application/json"},"body":{"addLicenses":[{"skuId":"` + e3 + `"}],"removeLicenses":[]},"dependsOn":["1"]}]}`},
		{Method: "POST", Path: "/v1.0/$batch", Body: `{"requests":[{"id":"1","method":"PATCH","url":"/groups/{group1}","headers":{"Content-Type":"application/json"},"body":{"description":"d"}},{"id":"2","method":"DELETE","url":"/users/{user2}"}]}`},
	}
	w.Surface(fz, []string{"/v1.0/"}, seeds, nil)
}
