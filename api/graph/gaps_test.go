package graph_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestCountSegments: GET /users/$count and /groups/$count answer the number
// as text/plain with ConsistencyLevel: eventual ($filter and $search
// apply), and Graph's 400 "$count is not currently supported." without it.
func TestCountSegments(t *testing.T) {
	f := newFixture(t)
	f.user("ann@contoso.example", "Ann")
	f.user("bob@contoso.example", "Bob")
	f.user("cy@contoso.example", "Cy", "department", "Sales")
	f.group("Sales")
	ev := "ConsistencyLevel: eventual"
	for path, want := range map[string]string{
		"/v1.0/users/$count":  "3",
		"/v1.0/groups/$count": "1",
		"/v1.0/users/$count?$filter=startsWith(displayName,'B')": "1",
		`/v1.0/users/$count?$search="displayName:Cy"`:            "1",
	} {
		r := f.Must(200, "GET", path, f.admin, nil, ev)
		if string(r.Body) != want || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %q (%s), want %s as text/plain", path, r.Body, r.Header.Get("Content-Type"), want)
		}
	}
	wantError(t, f.Call("GET", "/v1.0/users/$count", f.admin, nil), 400, "Request_BadRequest", "$count is not currently supported.")
	wantError(t, f.Call("GET", "/v1.0/groups/$count", f.admin, nil), 400, "Request_BadRequest", "$count is not currently supported.")
	wantError(t, f.Call("GET", "/v1.0/users/$count?$top=2", f.admin, nil, ev), 400, "Request_BadRequest", "'$top' is not supported")
}

// TestMembersTypeCast: /groups/{id}/members/microsoft.graph.user lists the
// user members only (with $count=true and a $count segment);
// microsoft.graph.group the group members.
func TestMembersTypeCast(t *testing.T) {
	f := newFixture(t)
	g := f.group("All")
	sub := f.group("Nested")
	ann := f.user("ann@contoso.example", "Ann")
	bob := f.user("bob@contoso.example", "Bob")
	f.addMember(g, ann)
	f.addMember(g, bob)
	f.addMember(g, sub)
	ev := "ConsistencyLevel: eventual"

	r := f.Must(200, "GET", "/v1.0/groups/"+g+"/members/microsoft.graph.user?$count=true&$select=id,userPrincipalName", f.admin, nil, ev)
	if got := field(r, "userPrincipalName"); fmt.Sprint(got) != "[ann@contoso.example bob@contoso.example]" {
		t.Fatalf("cast to user: %v (%s)", got, r.Body)
	}
	if r.JSON()["@odata.count"] != 2.0 || !strings.HasSuffix(r.JSON()["@odata.context"].(string), "#users") {
		t.Fatalf("cast to user: %s", r.Body)
	}
	r = f.Must(200, "GET", "/v1.0/groups/"+g+"/members/microsoft.graph.group", f.admin, nil)
	if got := field(r, "id"); fmt.Sprint(got) != "["+sub+"]" {
		t.Fatalf("cast to group: %v", got)
	}
	for path, want := range map[string]string{
		"/members/microsoft.graph.user/$count":  "2",
		"/members/microsoft.graph.group/$count": "1",
		"/members/$count":                       "3",
	} {
		if r := f.Must(200, "GET", "/v1.0/groups/"+g+path, f.admin, nil, ev); string(r.Body) != want {
			t.Errorf("%s: %s, want %s", path, r.Body, want)
		}
	}
	wantError(t, f.Call("GET", "/v1.0/groups/"+g+"/members/microsoft.graph.user/$count", f.admin, nil), 400, "Request_BadRequest", "$count is not currently supported.")
	wantError(t, f.Call("GET", "/v1.0/groups/"+unknown+"/members/microsoft.graph.user", f.admin, nil), 404, "Request_ResourceNotFound", "")
	// A user's $select property a group lacks is fine on the user cast.
	wantError(t, f.Call("GET", "/v1.0/groups/"+g+"/members/microsoft.graph.user?$select=membershipRule", f.admin, nil), 400, "BadRequest", "")
}

// TestTransitiveMembers: members of member groups are listed too.
func TestTransitiveMembers(t *testing.T) {
	f := newFixture(t)
	g, sub := f.group("All"), f.group("Nested")
	ann, bob := f.user("ann@contoso.example", "Ann"), f.user("bob@contoso.example", "Bob")
	f.addMember(g, ann)
	f.addMember(g, sub)
	f.addMember(sub, bob)
	r := f.Must(200, "GET", "/v1.0/groups/"+g+"/transitiveMembers?$select=id", f.admin, nil)
	got := field(r, "id")
	for _, id := range []string{ann, bob, sub} {
		if !strings.Contains(fmt.Sprint(got), id) {
			t.Fatalf("transitiveMembers %v lacks %s", got, id)
		}
	}
}

// TestAssignLicenseRequiresBothParameters: Graph refuses an assignLicense
// body without addLicenses or removeLicenses (an empty collection is fine),
// for users and groups, and changes nothing.
func TestAssignLicenseRequiresBothParameters(t *testing.T) {
	f := newFixture(t)
	ann := f.user("ann@contoso.example", "Ann")
	g := f.group("Sales")
	msg := "One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: "
	for _, path := range []string{"/v1.0/users/" + ann + "/assignLicense", "/v1.0/groups/" + g + "/assignLicense"} {
		wantError(t, f.Call("POST", path, f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}}), 400, "Request_BadRequest", msg+"removeLicenses.")
		wantError(t, f.Call("POST", path, f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": nil}), 400, "Request_BadRequest", msg+"removeLicenses.")
		wantError(t, f.Call("POST", path, f.admin, map[string]any{"removeLicenses": []any{}}), 400, "Request_BadRequest", msg+"addLicenses.")
		wantError(t, f.Call("POST", path, f.admin, map[string]any{}), 400, "Request_BadRequest", msg+"addLicenses, removeLicenses.")
	}
	if r := f.Must(200, "GET", "/v1.0/users/"+ann+"/licenseDetails", f.admin, nil); len(values(r)) != 0 {
		t.Fatalf("a refused assignLicense assigned: %s", r.Body)
	}
	f.Must(200, "POST", "/v1.0/users/"+ann+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
}

// TestGroupExpandMembers: GET /groups/{id}?$expand=members and GET
// /groups?$expand=members list up to 20 members per group (with their own
// $select); other relationships are refused.
func TestGroupExpandMembers(t *testing.T) {
	f := newFixture(t)
	g := f.group("All")
	for i := 0; i < 22; i++ {
		f.addMember(g, f.user(fmt.Sprintf("u%02d@contoso.example", i), fmt.Sprintf("U%02d", i)))
	}
	r := f.Must(200, "GET", "/v1.0/groups/"+g+"?$expand=members", f.admin, nil)
	m := r.JSON()
	if m["displayName"] != "All" || len(m["members"].([]any)) != 20 {
		t.Fatalf("$expand=members: %d members, %s", len(m["members"].([]any)), r.Body)
	}
	first := m["members"].([]any)[0].(map[string]any)
	if first["@odata.type"] != "#microsoft.graph.user" || first["userPrincipalName"] == nil {
		t.Fatalf("expanded member: %v", first)
	}
	r = f.Must(200, "GET", "/v1.0/groups/"+g+"?$select=id&$expand=members($select=id,displayName)", f.admin, nil)
	first = r.JSON()["members"].([]any)[0].(map[string]any)
	if first["userPrincipalName"] != nil || first["displayName"] == nil || r.JSON()["displayName"] != nil {
		t.Fatalf("$expand with $select: %s", r.Body)
	}
	wantError(t, f.Call("GET", "/v1.0/groups/"+g+"?$expand=owners", f.admin, nil), 400, "BadRequest", "owners")
	wantError(t, f.Call("GET", "/v1.0/groups/"+g+"?$expand=members(", f.admin, nil), 400, "BadRequest", "$expand")
	// The list expands each group's members the same way.
	f.group("Empty")
	r = f.Must(200, "GET", "/v1.0/groups?$expand=members($select=id)&$orderby=displayName", f.admin, nil)
	groups := values(r)
	if len(groups) != 2 || groups[0]["displayName"] != "All" || len(groups[0]["members"].([]any)) != 20 ||
		len(groups[1]["members"].([]any)) != 0 {
		t.Fatalf("GET /groups?$expand=members: %s", r.Body)
	}
	wantError(t, f.Call("GET", "/v1.0/groups?$expand=owners", f.admin, nil), 400, "BadRequest", "owners")
}
