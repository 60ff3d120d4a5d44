package scim_test

import (
	"testing"

	"allot/api/apitest"
)

func TestTokensAndRoles(t *testing.T) {
	w := setup(t)
	// No token, a bad token: SCIM 401 with WWW-Authenticate.
	for _, tok := range []string{"", "allot_not_a_token"} {
		r := w.Call("GET", base+"/Users", tok, nil)
		if r.Status != 401 || r.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("token %q: %d %v", tok, r.Status, r.Header)
		}
		scimError(t, r, "401", "")
	}
	userAdmin := w.Token(w.tenant, "UserAdministrator")
	groupsAdmin := w.Token(w.tenant, "GroupsAdministrator")
	reader := w.Token(w.tenant, "GlobalReader")
	license := w.Token(w.tenant, "LicenseAdministrator")
	cases := []struct {
		token, path string
		want        int
	}{
		{userAdmin, "/Users", 200}, {userAdmin, "/Groups", 200},
		{groupsAdmin, "/Groups", 200}, {groupsAdmin, "/Users", 403},
		{reader, "/Users", 403}, {reader, "/Groups", 403},
		{license, "/Users", 403}, {license, "/Groups", 403},
		{w.token, "/Users", 200}, {w.token, "/Groups", 200},
	}
	for _, c := range cases {
		r := w.Call("GET", base+c.path, c.token, nil)
		if r.Status != c.want {
			t.Errorf("GET %s: %d, want %d: %s", c.path, r.Status, c.want, r.Body)
		}
		if c.want == 403 {
			scimError(t, r, "403", "")
		}
	}
	if r := w.Call("POST", base+"/Users", groupsAdmin, map[string]any{"userName": "x@y"}); r.Status != 403 {
		t.Fatalf("groups admin created a user: %d", r.Status)
	}
	// Another tenant's token sees nothing of this one.
	other := w.Customer("Fabrikam", "GB")
	otherTok := w.Token(other, "GlobalAdministrator")
	id := w.createUser("mine@contoso.example")
	if r := w.Call("GET", base+"/Users/"+id, otherTok, nil); r.Status != 404 {
		t.Fatalf("cross-tenant read: %d", r.Status)
	}
	// The partner administrator acts on a customer named in X-Allot-Tenant.
	if r := w.Call("GET", base+"/Users/"+id, apitest.PartnerToken, nil, "X-Allot-Tenant: "+w.tenant); r.Status != 200 {
		t.Fatalf("partner: %d %s", r.Status, r.Body)
	}
	if r := w.Call("GET", base+"/Users", apitest.PartnerToken, nil); r.Status != 403 {
		t.Fatalf("partner without tenant: %d", r.Status)
	}
}

func TestDiscoveryEndpoints(t *testing.T) {
	w := setup(t)
	// No token needed.
	spc := obj(t, w.Must(200, "GET", base+"/ServiceProviderConfig", "", nil))
	if spc["patch"].(map[string]any)["supported"] != true || spc["etag"].(map[string]any)["supported"] != true ||
		spc["bulk"].(map[string]any)["supported"] != false || spc["filter"].(map[string]any)["maxResults"] != float64(1000) {
		t.Fatalf("ServiceProviderConfig %v", spc)
	}
	rts := obj(t, w.Must(200, "GET", base+"/ResourceTypes", "", nil))
	if rts["totalResults"] != float64(2) {
		t.Fatalf("ResourceTypes %v", rts)
	}
	user := obj(t, w.Must(200, "GET", base+"/ResourceTypes/User", "", nil))
	if user["endpoint"] != "/Users" || user["schema"] != "urn:ietf:params:scim:schemas:core:2.0:User" || len(user["schemaExtensions"].([]any)) != 2 {
		t.Fatalf("User resource type %v", user)
	}
	schemas := obj(t, w.Must(200, "GET", base+"/Schemas", "", nil))
	if schemas["totalResults"] != float64(4) {
		t.Fatalf("Schemas %v", schemas)
	}
	s := obj(t, w.Must(200, "GET", base+"/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group", "", nil))
	attrs := s["attributes"].([]any)
	if s["name"] != "Group" || attrs[1].(map[string]any)["name"] != "members" || len(attrs[1].(map[string]any)["subAttributes"].([]any)) != 4 {
		t.Fatalf("Group schema %v", s)
	}
	scimError(t, w.Call("GET", base+"/Schemas/urn:nope", "", nil), "404", "")
	scimError(t, w.Call("GET", base+"/ResourceTypes/Nope", "", nil), "404", "")
	scimError(t, w.Call("GET", base+"/Schemas?filter=id+pr", "", nil), "403", "")
}

func TestEndpointNamesAreCaseInsensitiveAndUnknownPathsAreSCIMErrors(t *testing.T) {
	w := setup(t)
	id := w.createUser("case@contoso.example")
	for _, p := range []string{"/users/" + id, "/USERS/" + id} {
		if r := w.Call("GET", base+p, w.token, nil); r.Status != 200 || obj(t, r)["id"] != id {
			t.Fatalf("%s: %d", p, r.Status)
		}
	}
	if r := w.Call("GET", base+"/serviceproviderconfig", "", nil); r.Status != 200 {
		t.Fatalf("lower-case discovery: %d", r.Status)
	}
	scimError(t, w.Call("GET", base+"/Nope", w.token, nil), "404", "")
	scimError(t, w.Call("DELETE", base+"/Users", w.token, nil), "405", "")
	scimError(t, w.Call("POST", base+"/Users/"+id, w.token, map[string]any{}), "405", "")
}
