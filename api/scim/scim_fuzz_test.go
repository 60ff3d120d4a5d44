package scim_test

import (
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	"allot/api/partner"
	"allot/api/scim"
)

// FuzzSCIM: the SCIM 2.0 surface keeps the invariants of
// apitest.Fuzz.Check.
func FuzzSCIM(fz *testing.F) {
	w := apitest.NewFuzz(fz, partner.Register, admin.Register, cloudlicensing.Register, graph.Register, scim.Register)
	const p = "/scim/v2"
	seeds := []apitest.Seed{
		{Method: "GET", Path: p + "/ServiceProviderConfig", CT: apitest.CTNone},
		{Method: "GET", Path: p + "/Schemas"},
		{Method: "GET", Path: p + "/Users?filter=userName eq \"user0@contoso.example\"&startIndex=1&count=2"},
		{Method: "GET", Path: p + "/Users/{user0}?attributes=userName,emails"},
		{Method: "POST", Path: p + "/Users", CT: apitest.CTSCIM, Body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"okta.user","name":{"givenName":"O","familyName":"K"},"emails":[{"primary":true,"value":"okta@contoso.example","type":"work"}],"active":true,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}}`},
		{Method: "PATCH", Path: p + "/Users/{user2}", CT: apitest.CTSCIM, Body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":false},{"op":"replace","value":{"displayName":"X"}}]}`},
		{Method: "PUT", Path: p + "/Users/{user2}", CT: apitest.CTSCIM, Body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"user2@contoso.example","active":true}`},
		{Method: "DELETE", Path: p + "/Users/{user2}"},
		{Method: "GET", Path: p + "/Groups?filter=displayName sw \"Group\"&excludedAttributes=members"},
		{Method: "POST", Path: p + "/Groups", CT: apitest.CTSCIM, Body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"SCIM group","members":[{"value":"{user0}"}]}`},
		{Method: "PATCH", Path: p + "/Groups/{group0}", CT: apitest.CTSCIM, Body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"value":"{user2}"}]},{"op":"Remove","path":"members[value eq \"{user0}\"]"}]}`},
		{Method: "PUT", Path: p + "/Groups/{group1}", CT: apitest.CTSCIM, Body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Group 1","members":[]}`},
		{Method: "DELETE", Path: p + "/Groups/{group0}"},
	}
	w.Surface(fz, []string{p + "/"}, seeds, nil)
}
