package graph_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"allot/api/apitest"
	"allot/auth"
)

// TestRoleMatrix proves every (endpoint, role) pair: each endpoint is called
// by a token of each role on fresh objects; allowed pairs must get the
// endpoint's success status, denied pairs Graph's 403.
func TestRoleMatrix(t *testing.T) {
	f := newFixture(t)
	const (
		GA  = "GlobalAdministrator"
		LA  = "LicenseAdministrator"
		UA  = "UserAdministrator"
		GrA = "GroupsAdministrator"
		GR  = "GlobalReader"
		RR  = "ReportsReader"
		AO  = "AllotmentOwner"
		PA  = "partner"
	)
	tokens := map[string]string{PA: apitest.PartnerToken}
	for _, role := range []string{GA, LA, UA, GrA, GR, RR} {
		tokens[role] = f.Token(f.tenant, role)
	}
	// Allotment owners are scoped to allotments; the token is made in the
	// store directly so that this test does not depend on allotments.
	_, secret, err := auth.Create(context.Background(), f.Store, f.tenant, "owner", []string{AO}, []string{"a1"}, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokens[AO] = secret
	roles := []string{GA, LA, UA, GrA, GR, RR, AO, PA}

	n := 0
	fresh := func() (user, group string) {
		n++
		user = f.user(fmt.Sprintf("m%d@contoso.example", n), fmt.Sprintf("M %d", n))
		group = f.group(fmt.Sprintf("G %d", n))
		f.addMember(group, user)
		return user, group
	}
	readers := []string{GA, LA, UA, GrA, GR, PA}
	type endpoint struct {
		name    string
		method  string
		path    func(u, g string) string
		body    func(u, g string) any
		status  int
		allowed []string
		// ao is what an allotment owner gets on objects outside its scope
		// (the fresh objects of each call): lists answer (empty) 200,
		// everything else 404 — never 403, so that nothing outside the
		// scope is seen to exist.
		ao int
	}
	assign := func(u, g string) any {
		return map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}}
	}
	endpoints := []endpoint{
		{"list subscribedSkus", "GET", func(u, g string) string { return "/v1.0/subscribedSkus" }, nil, 200, readers, 200},
		{"get subscribedSku", "GET", func(u, g string) string { return "/v1.0/subscribedSkus/" + e3 }, nil, 200, readers, 404},
		{"list users", "GET", func(u, g string) string { return "/v1.0/users" }, nil, 200, readers, 200},
		{"create user", "POST", func(u, g string) string { return "/v1.0/users" }, func(u, g string) any {
			n++
			return map[string]any{"accountEnabled": true, "displayName": "N", "mailNickname": "n", "userPrincipalName": fmt.Sprintf("n%d@contoso.example", n)}
		}, 201, []string{GA, UA, PA}, 404},
		{"get user", "GET", func(u, g string) string { return "/v1.0/users/" + u }, nil, 200, readers, 404},
		{"update user", "PATCH", func(u, g string) string { return "/v1.0/users/" + u }, func(u, g string) any { return map[string]any{"jobTitle": "x"} }, 204, []string{GA, UA, PA}, 404},
		{"update user's usageLocation", "PATCH", func(u, g string) string { return "/v1.0/users/" + u }, func(u, g string) any { return map[string]any{"usageLocation": "DE"} }, 204, []string{GA, UA, LA, PA}, 404},
		{"delete user", "DELETE", func(u, g string) string { return "/v1.0/users/" + u }, nil, 204, []string{GA, UA, PA}, 404},
		{"user assignLicense", "POST", func(u, g string) string { return "/v1.0/users/" + u + "/assignLicense" }, assign, 200, []string{GA, LA, UA, PA}, 404},
		{"user licenseDetails", "GET", func(u, g string) string { return "/v1.0/users/" + u + "/licenseDetails" }, nil, 200, readers, 404},
		{"user reprocessLicenseAssignment", "POST", func(u, g string) string { return "/v1.0/users/" + u + "/reprocessLicenseAssignment" }, nil, 200, []string{GA, LA, UA, PA}, 404},
		{"user memberOf", "GET", func(u, g string) string { return "/v1.0/users/" + u + "/memberOf" }, nil, 200, readers, 404},
		{"user transitiveMemberOf", "GET", func(u, g string) string { return "/v1.0/users/" + u + "/transitiveMemberOf" }, nil, 200, readers, 404},
		{"list groups", "GET", func(u, g string) string { return "/v1.0/groups" }, nil, 200, readers, 200},
		{"create group", "POST", func(u, g string) string { return "/v1.0/groups" }, func(u, g string) any {
			return map[string]any{"displayName": "N", "mailEnabled": false, "mailNickname": "n", "securityEnabled": true}
		}, 201, []string{GA, UA, GrA, PA}, 404},
		{"get group", "GET", func(u, g string) string { return "/v1.0/groups/" + g }, nil, 200, readers, 404},
		{"update group", "PATCH", func(u, g string) string { return "/v1.0/groups/" + g }, func(u, g string) any { return map[string]any{"description": "d"} }, 204, []string{GA, UA, GrA, PA}, 404},
		{"delete group", "DELETE", func(u, g string) string { return "/v1.0/groups/" + g }, nil, 204, []string{GA, UA, GrA, PA}, 404},
		{"group assignLicense", "POST", func(u, g string) string { return "/v1.0/groups/" + g + "/assignLicense" }, assign, 202, []string{GA, LA, UA, GrA, PA}, 404},
		{"group members", "GET", func(u, g string) string { return "/v1.0/groups/" + g + "/members" }, nil, 200, readers, 404},
		{"group transitiveMembers", "GET", func(u, g string) string { return "/v1.0/groups/" + g + "/transitiveMembers" }, nil, 200, readers, 404},
		{"add member", "POST", func(u, g string) string { return "/v1.0/groups/" + g + "/members/$ref" }, func(u, g string) any {
			other, _ := fresh()
			return map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + other}
		}, 204, []string{GA, UA, GrA, PA}, 404},
		{"remove member", "DELETE", func(u, g string) string { return "/v1.0/groups/" + g + "/members/" + u + "/$ref" }, nil, 204, []string{GA, UA, GrA, PA}, 404},
		{"membersWithLicenseErrors", "GET", func(u, g string) string { return "/v1.0/groups/" + g + "/membersWithLicenseErrors" }, nil, 200, readers, 404},
		{"list deleted users", "GET", func(u, g string) string { return "/v1.0/directory/deletedItems/microsoft.graph.user" }, nil, 200, readers, 404},
		{"get deleted item", "GET", func(u, g string) string {
			f.Must(204, "DELETE", "/v1.0/users/"+u, f.admin, nil)
			return "/v1.0/directory/deletedItems/" + u
		}, nil, 200, readers, 404},
		{"restore deleted user", "POST", func(u, g string) string {
			f.Must(204, "DELETE", "/v1.0/users/"+u, f.admin, nil)
			return "/v1.0/directory/deletedItems/" + u + "/restore"
		}, nil, 200, []string{GA, UA, PA}, 404},
		{"permanently delete user", "DELETE", func(u, g string) string {
			f.Must(204, "DELETE", "/v1.0/users/"+u, f.admin, nil)
			return "/v1.0/directory/deletedItems/" + u
		}, nil, 204, []string{GA, UA, PA}, 404},
		{"batch", "POST", func(u, g string) string { return "/v1.0/$batch" }, func(u, g string) any {
			return map[string]any{"requests": []any{}}
		}, 200, []string{GA, LA, UA, GrA, GR, RR, AO, PA}, 200},
	}
	for _, ep := range endpoints {
		for _, role := range roles {
			u, g := fresh()
			var body any
			if ep.body != nil {
				body = ep.body(u, g)
			}
			var hdr []string
			if role == PA {
				hdr = append(hdr, "X-Allot-Tenant: "+f.tenant)
			}
			r := f.Call(ep.method, ep.path(u, g), tokens[role], body, hdr...)
			allowed := strings.Contains(","+strings.Join(ep.allowed, ",")+",", ","+role+",")
			switch {
			case role == AO:
				if r.Status != ep.ao {
					t.Errorf("%s as %s: status %d, want %d: %s", ep.name, role, r.Status, ep.ao, r.Body)
				}
			case allowed && r.Status != ep.status:
				t.Errorf("%s as %s: status %d, want %d: %s", ep.name, role, r.Status, ep.status, r.Body)
			case !allowed && (r.Status != 403 || r.ErrorCode() != "Authorization_RequestDenied" || r.ErrorMessage() != "Insufficient privileges to complete the operation."):
				t.Errorf("%s as %s: status %d, want 403 Authorization_RequestDenied: %s", ep.name, role, r.Status, r.Body)
			}
		}
	}
	// A partner token without X-Allot-Tenant has no tenant to act on.
	wantError(t, f.Call("GET", "/v1.0/users", apitest.PartnerToken, nil), 403, "Authorization_RequestDenied", "X-Allot-Tenant")
	wantError(t, f.Call("GET", "/v1.0/users", "", nil), 401, "InvalidAuthenticationToken", "")
}
