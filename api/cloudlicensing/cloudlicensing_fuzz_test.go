package cloudlicensing_test

import (
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	"allot/api/partner"
)

// FuzzCloudLicensing: the beta cloudLicensing surface (allotments,
// assignments, usage rights) keeps the invariants of apitest.Fuzz.Check.
func FuzzCloudLicensing(fz *testing.F) {
	w := apitest.NewFuzz(fz, partner.Register, admin.Register, cloudlicensing.Register, graph.Register)
	seeds := []apitest.Seed{
		{Method: "GET", Path: base + "/allotments"},
		{Method: "GET", Path: base + "/allotments/{allotment}", Token: 3},
		{Method: "POST", Path: base + "/allotments", Body: `{"displayName":"Legal","skuPartNumber":"SPE_E3","allottedUnits":1}`},
		{Method: "POST", Path: base + "/allotments", Body: `{"displayName":"X","skuId":"05e9a617-0261-4cee-bb44-138d3ef5d965","allottedUnits":99}`},
		{Method: "PATCH", Path: base + "/allotments/{allotment}", Body: `{"allottedUnits":3,"displayName":"Sales 2"}`},
		{Method: "PATCH", Path: base + "/allotments/{allotment}", Body: `{"allottedUnits":0}`},
		{Method: "DELETE", Path: base + "/allotments/{allotment}"},
		{Method: "GET", Path: base + "/allotments/{allotment}/waitingMembers", Token: 3},
		{Method: "GET", Path: base + "/allotments/{allotment}/assignments?$top=1"},
		{Method: "POST", Path: base + "/allotments/{allotment}/reprocessAssignments", Body: `{}`},
		{Method: "GET", Path: base + "/assignments?$filter=allotment/id eq '{allotment}'"},
		{Method: "POST", Path: base + "/assignments", Token: 3, Body: `{"allotment@odata.bind":"https://graph.microsoft.com/beta/admin/cloudLicensing/allotments/{allotment}","assignedTo@odata.bind":"https://graph.microsoft.com/beta/users/{user2}"}`},
		{Method: "POST", Path: base + "/assignments", Body: `{"allotment@odata.bind":"` + base + `/allotments('{allotment}')","assignedTo@odata.bind":"groups/{group0}","disabledPlans":[]}`},
		{Method: "PATCH", Path: base + "/assignments/x", Body: `{"disabledPlans":["57ff2da0-773e-42df-b2af-ffb7a2317929"]}`},
		{Method: "DELETE", Path: base + "/assignments/x"},
		{Method: "GET", Path: "/beta/users/{user1}/cloudLicensing/usageRights", Token: 3},
	}
	w.Surface(fz, []string{"/beta/"}, seeds, nil)
}
