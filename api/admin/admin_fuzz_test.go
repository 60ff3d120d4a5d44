package admin_test

import (
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	"allot/api/partner"
	positionapi "allot/api/position"
	usageapi "allot/api/usage"
)

// FuzzAdmin: the /allot/v1 surface (tokens, import, rules, explain, audit,
// catalog, usage, prices, position) keeps the invariants of
// apitest.Fuzz.Check.
func FuzzAdmin(fz *testing.F) {
	w := apitest.NewFuzz(fz, partner.Register, admin.Register, cloudlicensing.Register, graph.Register, usageapi.Register, positionapi.Register)
	bundle := apitest.Zip(map[string]string{
		"users.csv":  "id,userPrincipalName,displayName,usageLocation\nimp1,imp1@contoso.example,Imported,US\n",
		"groups.csv": "id,displayName,securityEnabled\nimpg,Imported group,true\n",
	})
	const e3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"
	seeds := []apitest.Seed{
		{Method: "POST", Path: "/allot/v1/tenants/{tenant}/tokens", Body: `{"displayName":"bot","roles":["GlobalReader"]}`},
		{Method: "POST", Path: "/allot/v1/tenants/{tenant}/tokens", Body: `{"displayName":"own","roles":["AllotmentOwner"],"allotmentIds":["{allotment}"]}`},
		{Method: "GET", Path: "/allot/v1/tenants/{tenant}/tokens"},
		{Method: "DELETE", Path: "/allot/v1/tenants/{tenant}/tokens/x"},
		{Method: "POST", Path: "/allot/v1/rules/validate", Body: `{"rule":"(user.department -eq \"Sales\") -and (user.usageLocation -in [\"US\",\"CA\"])"}`},
		{Token: 1, Method: "POST", Path: "/allot/v1/tenants/{tenant}/import", CT: apitest.CTZip, Body: bundle},
		{Method: "POST", Path: "/allot/v1/tenants/{tenant}/import", CT: apitest.CTZip, Body: "PK\x03\x04junk"},
		{Method: "GET", Path: "/allot/v1/users/{user0}/licenses/" + e3 + "/explain"},
		{Method: "GET", Path: "/allot/v1/audit?userId={user0}&top=5"},
		{Method: "GET", Path: "/allot/v1/catalog/products?search=E3"},
		{Method: "POST", Path: "/allot/v1/catalog/products", Body: `{"skuPartNumber":"CUSTOM_X","displayName":"Custom","servicePlans":[]}`},
		{Method: "POST", Path: "/allot/v1/signins", Body: `{"value":[{"id":"s1","userPrincipalName":"user0@contoso.example","createdDateTime":"2026-01-02T03:04:05Z","appDisplayName":"Office"}]}`},
		{Method: "POST", Path: "/allot/v1/usage/events", CT: apitest.CTNDJSON, Body: `{"id":"e1","user":"user0@contoso.example","feature":"copilot","at":"2026-01-02T00:00:00Z"}` + "\n"},
		{Method: "POST", Path: "/allot/v1/usage/reports", CT: apitest.CTCSV, Body: "Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Has Exchange License,Assigned Products\n2026-01-01,user0@contoso.example,User 0,False,,True,MICROSOFT 365 E3\n"},
		{Method: "GET", Path: "/allot/v1/usage/reports"},
		{Method: "PUT", Path: "/allot/v1/usage/concealed-names", Body: `{"concealed":true}`},
		{Method: "GET", Path: "/allot/v1/usage/users/{user0}"},
		{Method: "GET", Path: "/allot/v1/usage/features"},
		{Method: "PUT", Path: "/allot/v1/prices", Body: `{"currency":"USD","prices":[{"skuPartNumber":"SPE_E3","monthlyUnitPrice":36,"term":"P1Y"}]}`},
		{Method: "GET", Path: "/allot/v1/prices"},
		{Method: "GET", Path: "/allot/v1/position?windowDays=30"},
		{Method: "GET", Path: "/allot/v1/position.csv"},
		{Method: "POST", Path: "/allot/v1/position/snapshots", Body: `{}`},
		{Method: "GET", Path: "/allot/v1/position/snapshots"},
		{Method: "GET", Path: "/allot/v1/position/diff?from=a&to=b"},
		{Method: "POST", Path: "/allot/v1/whatif", Body: `{"commands":[{"op":"applyFixes"},{"op":"changeUnits","sku":"SPE_E3","by":-2},{"op":"setGroupLicenses","groupId":"{group0}","addLicenses":[{"skuId":"ENTERPRISEPACK"}]}]}`},
		{Method: "POST", Path: "/allot/v1/whatif", Body: `{"commands":[{"op":"setMembershipRule","groupId":"{group1}","membershipRule":"user.department -eq "x""},{"op":"putAllotment","allotment":{"id":"{allotment}","allottedUnits":1}}]}`},
	}
	w.Surface(fz, []string{"/allot/v1/"}, seeds, nil)
}
