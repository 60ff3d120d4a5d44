package graph_test

import (
	"strings"
	"testing"
)

func TestCreateUserRequiresGraphsPropertiesAndRefusesDuplicateUPN(t *testing.T) {
	f := newFixture(t)
	base := map[string]any{"accountEnabled": true, "displayName": "Ann", "mailNickname": "ann", "userPrincipalName": "ann@contoso.example"}
	for _, missing := range []string{"accountEnabled", "displayName", "mailNickname", "userPrincipalName"} {
		body := map[string]any{}
		for k, v := range base {
			if k != missing {
				body[k] = v
			}
		}
		r := f.Call("POST", "/v1.0/users", f.admin, body)
		wantError(t, r, 400, "Request_BadRequest", "Property "+missing+" value is required but is empty or missing.")
	}
	r := f.Call("POST", "/v1.0/users", f.admin, map[string]any{"accountEnabled": true, "displayName": "Ann", "mailNickname": "ann",
		"userPrincipalName": "ann@contoso.example", "favouriteColour": "blue"})
	wantError(t, r, 400, "Request_BadRequest", "Property 'favouriteColour' does not exist as a declared property or extension property.")
	r = f.Call("POST", "/v1.0/users", f.admin, map[string]any{"accountEnabled": "yes", "displayName": "Ann", "mailNickname": "ann",
		"userPrincipalName": "ann@contoso.example"})
	wantError(t, r, 400, "Request_BadRequest", "Invalid value specified for property 'accountEnabled' of resource 'User'.")

	id := f.user("ann@contoso.example", "Ann Example", "kind", "sharedMailbox", "department", "Sales")
	r = f.Call("POST", "/v1.0/users", f.admin, map[string]any{"accountEnabled": true, "displayName": "Other", "mailNickname": "ann2",
		"userPrincipalName": "ANN@contoso.example"})
	wantError(t, r, 400, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.")

	// Default properties only, as Graph; the rest with $select.
	got := f.Must(200, "GET", "/v1.0/users/"+id, f.admin, nil).JSON()
	if got["id"] != id || got["displayName"] != "Ann Example" || got["userPrincipalName"] != "ann@contoso.example" {
		t.Fatalf("user: %v", got)
	}
	if _, ok := got["department"]; ok {
		t.Fatalf("department returned without $select: %v", got)
	}
	if !strings.Contains(got["@odata.context"].(string), "/v1.0/$metadata#users/$entity") {
		t.Fatalf("context: %v", got["@odata.context"])
	}
	got = f.Must(200, "GET", "/v1.0/users/ann@contoso.example?$select=department,kind,accountEnabled,usageLocation", f.admin, nil).JSON()
	if got["department"] != "Sales" || got["kind"] != "sharedMailbox" || got["accountEnabled"] != true || got["usageLocation"] != "US" || len(got) != 5 {
		t.Fatalf("selected: %v", got)
	}
	wantError(t, f.Call("GET", "/v1.0/users/"+id+"?$select=shoeSize", f.admin, nil), 400, "BadRequest",
		"Could not find a property named 'shoeSize' on type 'microsoft.graph.user'.")

	// PATCH, then DELETE.
	f.Must(204, "PATCH", "/v1.0/users/"+id, f.admin, map[string]any{"jobTitle": "Lead", "department": nil,
		"onPremisesExtensionAttributes": map[string]any{"extensionAttribute3": "cost-42"}})
	got = f.Must(200, "GET", "/v1.0/users/"+id+"?$select=jobTitle,department,onPremisesExtensionAttributes", f.admin, nil).JSON()
	ext := got["onPremisesExtensionAttributes"].(map[string]any)
	if got["jobTitle"] != "Lead" || got["department"] != nil || ext["extensionAttribute3"] != "cost-42" || ext["extensionAttribute1"] != nil {
		t.Fatalf("patched: %v", got)
	}
	wantError(t, f.Call("PATCH", "/v1.0/users/"+id, f.admin, map[string]any{"kind": "castle"}), 400, "Request_BadRequest", "Invalid kind")
	f.Must(204, "DELETE", "/v1.0/users/"+id, f.admin, nil)
	wantError(t, f.Call("GET", "/v1.0/users/"+id, f.admin, nil), 404, "Request_ResourceNotFound", "does not exist")
	wantError(t, f.Call("DELETE", "/v1.0/users/"+id, f.admin, nil), 404, "Request_ResourceNotFound", "does not exist")
}

func TestUnknownPathsAndMethodsAnswerInGraphsWords(t *testing.T) {
	f := newFixture(t)
	wantError(t, f.Call("GET", "/v1.0/users/x/manager", f.admin, nil), 400, "BadRequest", "Resource not found for the segment 'manager'.")
	wantError(t, f.Call("GET", "/v1.0/devices", f.admin, nil), 400, "BadRequest", "Resource not found for the segment 'devices'.")
	wantError(t, f.Call("PUT", "/v1.0/users/x", f.admin, nil), 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
	wantError(t, f.Call("DELETE", "/v1.0/subscribedSkus", f.admin, nil), 405, "Request_BadRequest", "not allowed")
	f.Must(401, "GET", "/v1.0/devices", "", nil)
}
