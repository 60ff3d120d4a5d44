package cloudlicensing_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	"allot/api/partner"
	positionapi "allot/api/position"
	"allot/api/scim"
	usageapi "allot/api/usage"
	"allot/catalog"
	"allot/licensing"
	"allot/tenant"
)

const base = "/beta/admin/cloudLicensing"

type world struct {
	e              *apitest.Env
	tenant         string
	admin          string
	a, b           string // allotment ids
	ownerA, ownerB string
	ga, gb         string // groups
	users          []string
}

func uid(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

func setup(t *testing.T) *world { return setupWith(t) }

func setupWith(t *testing.T, more ...apitest.Mount) *world {
	e := apitest.New(t, append([]apitest.Mount{partner.Register, admin.Register, cloudlicensing.Register}, more...)...)
	w := &world{e: e, tenant: e.Customer("Contoso", "US"), ga: "group-a", gb: "group-b"}
	e.Subscribe(w.tenant, "SPE_E3", 20)
	w.admin = e.Token(w.tenant, "LicenseAdministrator")
	tn, _ := e.RT.Get(w.tenant)
	err := tn.Do(context.Background(), licensing.Op{Actor: "t", Now: time.Now()}, func(tx *tenant.Tx) error {
		for _, g := range []string{w.ga, w.gb} {
			if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: g, DisplayName: g, SecurityEnabled: true}); err != nil {
				return err
			}
		}
		for i := 0; i < 6; i++ {
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(i), UserPrincipalName: fmt.Sprintf("u%d@c", i), UsageLocation: "US"}); err != nil {
				return err
			}
			w.users = append(w.users, uid(i))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w.a = e.Must(201, "POST", base+"/allotments", w.admin, `{"displayName":"Sales","skuPartNumber":"SPE_E3","allottedUnits":2}`).JSON()["id"].(string)
	w.b = e.Must(201, "POST", base+"/allotments", w.admin, `{"displayName":"Legal","skuPartNumber":"SPE_E3","allottedUnits":2}`).JSON()["id"].(string)
	e.Must(201, "POST", base+"/assignments", w.admin, map[string]any{"allotment@odata.bind": "https://graph.microsoft.com/beta/admin/cloudLicensing/allotments/" + w.a, "assignedTo@odata.bind": "https://graph.microsoft.com/beta/groups/" + w.ga})
	e.Must(201, "POST", base+"/assignments", w.admin, map[string]any{"allotment@odata.bind": base + "/allotments('" + w.b + "')", "assignedTo@odata.bind": "groups/" + w.gb})
	// Users 0-2 join group a one by one (2 units: user 2 waits), users 3-5 group b.
	for i := 0; i < 6; i++ {
		g := w.ga
		if i >= 3 {
			g = w.gb
		}
		err := tn.Do(context.Background(), licensing.Op{Actor: "t", Now: time.Now()}, func(tx *tenant.Tx) error {
			return tx.Engine.AddMembers(tx.Op, g, []string{uid(i)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	w.ownerA = tokenFor(t, e, w.tenant, w.a)
	w.ownerB = tokenFor(t, e, w.tenant, w.b)
	return w
}

func tokenFor(t *testing.T, e *apitest.Env, tenantID, allotmentID string) string {
	r := e.Must(201, "POST", "/allot/v1/tenants/"+tenantID+"/tokens", apitest.PartnerToken,
		map[string]any{"displayName": "owner of " + allotmentID, "roles": []string{"AllotmentOwner"}, "allotmentIds": []string{allotmentID}})
	return r.JSON()["token"].(string)
}

func TestAllotmentWaitingRoomAndLimits(t *testing.T) {
	w := setup(t)
	e := w.e
	a := e.Must(200, "GET", base+"/allotments/"+w.a, w.admin, nil).JSON()
	if owners := a["owners"].([]any); len(owners) != 1 || owners[0] != "owner of "+w.a {
		t.Fatalf("owners listed on the allotment: %v", owners)
	}
	if a["consumedUnits"].(float64) != 2 || a["waitingMembersCount"].(float64) != 1 || a["skuPartNumber"] != "SPE_E3" || len(a["services"].([]any)) == 0 {
		t.Fatalf("allotment: %v", a)
	}
	wm := e.Must(200, "GET", base+"/allotments/"+w.a+"/waitingMembers", w.admin, nil).JSON()["value"].([]any)
	if len(wm) != 1 || wm[0].(map[string]any)["id"] != uid(2) {
		t.Fatalf("waiting members: %v", wm)
	}
	// Raising the limit admits the waiting user.
	e.Must(200, "PATCH", base+"/allotments/"+w.a, w.admin, `{"allottedUnits":3}`)
	if n := len(e.Must(200, "GET", base+"/allotments/"+w.a+"/waitingMembers", w.admin, nil).JSON()["value"].([]any)); n != 0 {
		t.Fatal("raising the limit did not admit the waiting user")
	}
	// Lowering below use is refused with how many must go.
	r := e.Must(409, "PATCH", base+"/allotments/"+w.a, w.admin, `{"allottedUnits":1}`)
	if r.ErrorCode() != "Conflict" {
		t.Fatalf("code %s", r.ErrorCode())
	}
	// More than the subscription: 409.
	e.Must(409, "POST", base+"/allotments", w.admin, `{"displayName":"Big","skuPartNumber":"SPE_E3","allottedUnits":50}`)
	e.Must(400, "POST", base+"/allotments", w.admin, `{"displayName":"Bad","skuPartNumber":"NOPE","allottedUnits":1}`)
	e.Must(400, "DELETE", base+"/allotments/"+w.a, w.admin, nil)
	ur := e.Must(200, "GET", "/beta/users/"+uid(0)+"/cloudLicensing/usageRights", w.admin, nil).JSON()["value"].([]any)
	if len(ur) != 1 || ur[0].(map[string]any)["skuPartNumber"] != "SPE_E3" {
		t.Fatalf("usage rights: %v", ur)
	}
}

// TestOwnersSeeOnlyTheirAllotments is the authorization matrix of
// delegated owners: every call of owner A against B's objects is denied as
// 404 (or filtered), and nothing of B changes.
func TestOwnersSeeOnlyTheirAllotments(t *testing.T) {
	w := setup(t)
	e := w.e
	before := e.Must(200, "GET", base+"/allotments/"+w.b, w.admin, nil).Body
	beforeAssign := e.Must(200, "GET", base+"/allotments/"+w.b+"/assignments", w.admin, nil).Body

	list := e.Must(200, "GET", base+"/allotments", w.ownerA, nil).JSON()["value"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != w.a {
		t.Fatalf("owner A lists %v", list)
	}
	as := e.Must(200, "GET", base+"/assignments", w.ownerA, nil).JSON()["value"].([]any)
	if len(as) != 1 || as[0].(map[string]any)["allotmentId"] != w.a {
		t.Fatalf("owner A assignments %v", as)
	}
	bAssignment := w.b + "_" + w.gb
	denied := []struct{ method, path, body string }{
		{"GET", base + "/allotments/" + w.b, ""},
		{"PATCH", base + "/allotments/" + w.b, `{"displayName":"mine now"}`},
		{"DELETE", base + "/allotments/" + w.b, ""},
		{"GET", base + "/allotments/" + w.b + "/waitingMembers", ""},
		{"GET", base + "/allotments/" + w.b + "/assignments", ""},
		{"POST", base + "/allotments/" + w.b + "/reprocessAssignments", ""},
		{"GET", base + "/assignments/" + bAssignment, ""},
		{"PATCH", base + "/assignments/" + bAssignment, `{"disabledServicePlanIds":[]}`},
		{"DELETE", base + "/assignments/" + bAssignment, ""},
		{"POST", base + "/assignments", `{"allotment@odata.bind":"allotments/` + w.b + `","assignedTo@odata.bind":"users/` + uid(0) + `"}`},
		{"GET", "/beta/users/" + uid(4) + "/cloudLicensing/usageRights", ""},
		{"GET", base + "/allotments/does-not-exist", ""},
	}
	for _, d := range denied {
		var body any
		if d.body != "" {
			body = d.body
		}
		r := e.Call(d.method, d.path, w.ownerA, body)
		if r.Status != 404 || r.ErrorCode() != "Request_ResourceNotFound" {
			t.Errorf("%s %s by owner A: %d %s", d.method, d.path, r.Status, r.Body)
		}
	}
	// What owner A may not do on its own allotment is 403, not 404.
	e.Must(403, "PATCH", base+"/allotments/"+w.a, w.ownerA, `{"allottedUnits":5}`)
	e.Must(403, "POST", base+"/allotments", w.ownerA, `{"displayName":"x","skuPartNumber":"SPE_E3","allottedUnits":1}`)
	e.Must(200, "PATCH", base+"/allotments/"+w.a, w.ownerA, `{"displayName":"Sales team"}`)
	e.Must(200, "GET", "/beta/users/"+uid(0)+"/cloudLicensing/usageRights", w.ownerA, nil)
	// Owner A may assign its allotment to a user of the tenant.
	e.Must(201, "POST", base+"/assignments", w.ownerA, `{"allotment@odata.bind":"allotments/`+w.a+`","assignedTo@odata.bind":"users/`+uid(5)+`"}`)
	// Owner B's allotment did not change.
	if after := e.Must(200, "GET", base+"/allotments/"+w.b, w.admin, nil).Body; string(after) != string(before) {
		t.Fatalf("B changed:\n%s\n%s", before, after)
	}
	if after := e.Must(200, "GET", base+"/allotments/"+w.b+"/assignments", w.admin, nil).Body; string(after) != string(beforeAssign) {
		t.Fatal("B's assignments changed")
	}
	// An owner token cannot use the other admin APIs.
	e.Must(404, "GET", "/allot/v1/audit", w.ownerA, nil)
	e.Must(404, "GET", "/allot/v1/users/"+uid(4)+"/licenses/SPE_E3/explain", w.ownerA, nil)
	e.Must(404, "GET", "/allot/v1/tenants/"+w.tenant+"/tokens", w.ownerA, nil)
}

// TestOwnersManageTheirGroupsThroughGraph: a delegated owner adds any user
// of the tenant to a group of its allotment (by object id; by
// userPrincipalName only among the users it already sees, so that names
// cannot be probed) and removes members, through the Graph API; everything
// of the other allotment stays invisible (404), by id, list, filter and
// batch.
func TestOwnersManageTheirGroupsThroughGraph(t *testing.T) {
	w := setupWith(t, graph.Register)
	e := w.e
	// u5 belongs to allotment B's group: by name it is as unknown to owner
	// A as a name nobody has (same status, same message shape).
	e.Must(404, "GET", "/v1.0/users/"+uid(5), w.ownerA, nil)
	outside := e.Call("POST", "/v1.0/groups/"+w.ga+"/members/$ref", w.ownerA, `{"@odata.id":"https://graph.microsoft.com/v1.0/users/u5@c"}`)
	nobody := e.Call("POST", "/v1.0/groups/"+w.ga+"/members/$ref", w.ownerA, `{"@odata.id":"https://graph.microsoft.com/v1.0/users/u9@c"}`)
	if outside.Status != 404 || nobody.Status != 404 || outside.ErrorCode() != nobody.ErrorCode() ||
		strings.ReplaceAll(outside.ErrorMessage(), "u5@c", "X") != strings.ReplaceAll(nobody.ErrorMessage(), "u9@c", "X") {
		t.Fatalf("adding by name tells an existing user outside the scope (%d %s) from an unknown one (%d %s)", outside.Status, outside.Body, nobody.Status, nobody.Body)
	}
	// By object id, owner A brings u5 into group A.
	e.Must(204, "POST", "/v1.0/groups/"+w.ga+"/members/$ref", w.ownerA, `{"@odata.id":"https://graph.microsoft.com/v1.0/users/`+uid(5)+`"}`)
	e.Must(200, "GET", "/v1.0/users/"+uid(5), w.ownerA, nil)
	e.Must(204, "DELETE", "/v1.0/groups/"+w.ga+"/members/"+uid(5)+"/$ref", w.ownerA, nil)
	// A user who leaves the scope is reachable by object id only.
	e.Must(204, "DELETE", "/v1.0/groups/"+w.ga+"/members/"+uid(1)+"/$ref", w.ownerA, nil)
	e.Must(404, "GET", "/v1.0/users/"+uid(1), w.ownerA, nil)
	e.Must(404, "POST", "/v1.0/groups/"+w.ga+"/members/$ref", w.ownerA, `{"@odata.id":"https://graph.microsoft.com/v1.0/users/u1@c"}`)
	e.Must(204, "POST", "/v1.0/groups/"+w.ga+"/members/$ref", w.ownerA, `{"@odata.id":"https://graph.microsoft.com/v1.0/users/`+uid(1)+`"}`)
	// Group B: invisible, unchangeable.
	e.Must(404, "POST", "/v1.0/groups/"+w.gb+"/members/$ref", w.ownerA, `{"@odata.id":"https://graph.microsoft.com/v1.0/users/`+uid(0)+`"}`)
	e.Must(404, "DELETE", "/v1.0/groups/"+w.gb+"/members/"+uid(4)+"/$ref", w.ownerA, nil)
	e.Must(404, "GET", "/v1.0/groups/"+w.gb, w.ownerA, nil)
	e.Must(404, "GET", "/v1.0/groups/"+w.gb+"/members", w.ownerA, nil)
	e.Must(404, "GET", "/v1.0/users/"+uid(4)+"/licenseDetails", w.ownerA, nil)
	// Lists and filters see only the scope.
	users := e.Must(200, "GET", "/v1.0/users", w.ownerA, nil).JSON()["value"].([]any)
	for _, u := range users {
		if id := u.(map[string]any)["id"]; id == uid(3) || id == uid(4) || id == uid(5) {
			t.Fatalf("owner A lists a user of B: %v", id)
		}
	}
	f := e.Must(200, "GET", "/v1.0/users?$filter=userPrincipalName%20eq%20'u4@c'", w.ownerA, nil).JSON()["value"].([]any)
	if len(f) != 0 {
		t.Fatalf("filter probed outside the scope: %v", f)
	}
	groups := e.Must(200, "GET", "/v1.0/groups", w.ownerA, nil).JSON()["value"].([]any)
	if len(groups) != 1 {
		t.Fatalf("owner A lists %d groups", len(groups))
	}
	// A batch cannot probe either.
	b := e.Must(200, "POST", "/v1.0/$batch", w.ownerA, `{"requests":[{"id":"1","method":"GET","url":"/groups/`+w.gb+`"},{"id":"2","method":"GET","url":"/users/`+uid(4)+`"}]}`).JSON()
	for _, r := range b["responses"].([]any) {
		if st := r.(map[string]any)["status"].(float64); st != 404 {
			t.Fatalf("batch response %v", r)
		}
	}
	// Nothing changed in B.
	members := e.Must(200, "GET", "/v1.0/groups/"+w.gb+"/members", w.admin, nil).JSON()["value"].([]any)
	if len(members) != 3 {
		t.Fatalf("group B has %d members", len(members))
	}
}

// TestOwnersAreDeniedEverywhereElse calls the other surfaces as owner A
// against B's objects and the tenant at large: every call is denied (404,
// for a whole surface an owner may not use as for objects, SCIM and usage
// included) or filtered, and no answer names B's users or groups.
func TestOwnersAreDeniedEverywhereElse(t *testing.T) {
	w := setupWith(t, graph.Register, scim.Register, usageapi.Register, positionapi.Register)
	e := w.e
	calls := []struct{ method, path, body string }{
		{"GET", "/scim/v2/Users/" + uid(4), ""},
		{"GET", "/scim/v2/Groups/" + w.gb, ""},
		{"GET", "/scim/v2/Users?filter=userName%20eq%20%22u4@c%22", ""},
		{"GET", "/allot/v1/usage/users/" + uid(4), ""},
		{"POST", "/allot/v1/usage/events", `{"value":[{"id":"1","user":"u4@c","feature":"teamsChat","at":"2026-01-01T00:00:00Z"}]}`},
		{"POST", "/v1.0/users/" + uid(4) + "/assignLicense", `{"addLicenses":[],"removeLicenses":[]}`},
		{"PATCH", "/v1.0/users/" + uid(4), `{"department":"x"}`},
		{"DELETE", "/v1.0/groups/" + w.gb, ""},
		{"POST", "/v1.0/groups/" + w.gb + "/assignLicense", `{"addLicenses":[],"removeLicenses":[]}`},
		{"GET", "/v1.0/groups/" + w.gb + "/membersWithLicenseErrors", ""},
		{"GET", "/v1.0/users/" + uid(4) + "/memberOf", ""},
		{"POST", "/v1.0/users", `{"accountEnabled":true,"displayName":"X","mailNickname":"x","userPrincipalName":"x@c"}`},
		{"POST", "/allot/v1/rules/validate", `{"rule":"user.department -eq \"x\""}`},
		{"POST", "/partner/v1/customers", `{"companyProfile":{"companyName":"X"},"defaultUsageLocation":"US"}`},
	}
	for _, c := range calls {
		var body any
		if c.body != "" {
			body = c.body
		}
		r := e.Call(c.method, c.path, w.ownerA, body)
		want := 404
		if strings.HasPrefix(c.path, "/partner/") {
			want = 403 // the partner's own surface, for every tenant token alike
		}
		if r.Status != want {
			t.Errorf("%s %s by owner A: %d %s (want %d: nothing outside the scope may be seen to exist)", c.method, c.path, r.Status, r.Body, want)
		}
		if b := string(r.Body); strings.Contains(b, "u4@c") || strings.Contains(b, "group-b") && !strings.Contains(c.path, "group-b") {
			t.Errorf("%s %s leaks B: %s", c.method, c.path, b)
		}
	}
	// Filtered, not denied: the position covers only A's scope.
	pos := e.Call("GET", "/allot/v1/position", w.ownerA, nil)
	if pos.Status == 200 {
		for _, u := range []string{"u3@c", "u4@c", "u5@c", uid(3), uid(4), uid(5)} {
			if strings.Contains(string(pos.Body), u) {
				t.Fatalf("the owner's position shows %s of allotment B", u)
			}
		}
	} else if pos.Status != 404 && pos.Status != 403 {
		t.Fatalf("position: %d", pos.Status)
	}
	// Filtered, not denied: B's group does not show up.
	g := e.Must(200, "GET", "/v1.0/groups?$filter=displayName%20eq%20'group-b'", w.ownerA, nil).JSON()["value"].([]any)
	if len(g) != 0 {
		t.Fatalf("filter found B's group: %v", g)
	}
	c := e.Must(200, "GET", "/v1.0/users?$count=true", w.ownerA, nil, "ConsistencyLevel: eventual").JSON()
	if n := c["@odata.count"].(float64); n != 3 {
		t.Fatalf("$count counts %v users, want the 3 in A's scope", n)
	}
}

func TestIneligibleProductsAreRefused(t *testing.T) {
	w := setup(t)
	ineligible := catalog.Default().Rules().AllotmentIneligible
	if len(ineligible) == 0 {
		t.Fatal("the catalog lists no product ineligible for allotments")
	}
	sku, _ := catalog.Default().SKU(ineligible[0].SKU)
	w.e.Subscribe(w.tenant, sku.ID, 10)
	r := w.e.Must(400, "POST", base+"/allotments", w.admin, map[string]any{"displayName": "X", "skuId": sku.ID, "allottedUnits": 1})
	if !strings.Contains(r.ErrorMessage(), "cannot be used in allotments") {
		t.Fatalf("message: %s", r.ErrorMessage())
	}
}

// TestOwnersCannotTakeOverGroups: an allotment owner may assign through
// its allotment only a group whose licenses all come through its own
// allotments (here: one without licenses); a group licensed from the
// general pool or another allotment answers 404 and does not change. A
// group of its allotment that an administrator licenses from elsewhere
// afterwards keeps its members: the owner's removal answers 403 and
// strips nothing.
func TestOwnersCannotTakeOverGroups(t *testing.T) {
	w := setupWith(t, graph.Register)
	e := w.e
	ga := e.Token(w.tenant, "GlobalAdministrator")
	tn, _ := e.RT.Get(w.tenant)
	e.Subscribe(w.tenant, "ENTERPRISEPACK", 5)
	sku := func(part string) string {
		s, ok := catalog.Default().SKU(part)
		if !ok {
			t.Fatalf("no SKU %s", part)
		}
		return s.ID
	}
	e3 := sku("SPE_E3")
	// "staff": licensed from the general pool, members u0 and u3.
	if err := tn.Do(context.Background(), licensing.Op{Actor: "t", Now: time.Now()}, func(tx *tenant.Tx) error {
		for _, g := range []string{"staff", "fresh"} {
			if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: g, DisplayName: g, SecurityEnabled: true}); err != nil {
				return err
			}
		}
		if err := tx.Engine.AssignGroupLicenses(tx.Op, "staff", []licensing.AssignedLicense{{SKUID: e3}}, nil); err != nil {
			return err
		}
		return tx.Engine.AddMembers(tx.Op, "staff", []string{uid(0), uid(3)})
	}); err != nil {
		t.Fatal(err)
	}
	assign := func(token, allotment, group string) apitest.Response {
		return e.Call("POST", base+"/assignments", token, map[string]any{"allotment@odata.bind": "allotments/" + allotment, "assignedTo@odata.bind": "groups/" + group})
	}
	// Licensed from the general pool, or through allotment B: not A's.
	for _, g := range []string{"staff", w.gb} {
		if r := assign(w.ownerA, w.a, g); r.Status != 404 || r.ErrorCode() != "Request_ResourceNotFound" {
			t.Fatalf("owner A assigns %s: %d %s", g, r.Status, r.Body)
		}
	}
	e.Must(404, "GET", "/v1.0/groups/staff/members", w.ownerA, nil)
	e.Must(404, "DELETE", "/v1.0/groups/staff/members/"+uid(3)+"/$ref", w.ownerA, nil)
	if n := len(e.Must(200, "GET", "/v1.0/groups/staff/members", ga, nil).JSON()["value"].([]any)); n != 2 {
		t.Fatalf("staff has %d members", n)
	}
	// A group without licenses may join A; its members are then A's to manage.
	e.Must(201, "POST", base+"/assignments", w.ownerA, map[string]any{"allotment@odata.bind": "allotments/" + w.a, "assignedTo@odata.bind": "groups/fresh"})
	e.Must(204, "POST", "/v1.0/groups/fresh/members/$ref", w.ownerA, `{"@odata.id":"users/`+uid(4)+`"}`)
	e.Must(204, "DELETE", "/v1.0/groups/fresh/members/"+uid(4)+"/$ref", w.ownerA, nil)
	// An administrator licenses group A from the general pool too: owner A
	// still sees it but may no longer change its members.
	e.Must(202, "POST", "/v1.0/groups/"+w.ga+"/assignLicense", ga, map[string]any{"addLicenses": []any{map[string]any{"skuId": sku("ENTERPRISEPACK")}}, "removeLicenses": []any{}})
	e.Must(200, "GET", "/v1.0/groups/"+w.ga+"/members", w.ownerA, nil)
	r := e.Call("DELETE", "/v1.0/groups/"+w.ga+"/members/"+uid(0)+"/$ref", w.ownerA, nil)
	if r.Status != 403 || r.ErrorCode() != "Authorization_RequestDenied" {
		t.Fatalf("owner A removes a member of a group licensed from elsewhere: %d %s", r.Status, r.Body)
	}
	e.Must(403, "POST", "/v1.0/groups/"+w.ga+"/members/$ref", w.ownerA, `{"@odata.id":"users/`+uid(4)+`"}`)
	ids := ""
	for _, m := range e.Must(200, "GET", "/v1.0/groups/"+w.ga+"/members", ga, nil).JSON()["value"].([]any) {
		ids += m.(map[string]any)["id"].(string) + " "
	}
	if !strings.Contains(ids, uid(0)) || strings.Contains(ids, uid(4)) {
		t.Fatalf("group A's members changed: %s", ids)
	}
}

// TestOwnersSeeOnlyTheirAllotmentsLicenses: of a user in its scope, an
// allotment owner sees only the licenses its allotments give — in Graph's
// licenseDetails, assignedLicenses, licenseAssignmentStates, the beta
// usageRights and the license position — and of the catalog, no custom
// product of the tenant outside its allotments.
func TestOwnersSeeOnlyTheirAllotmentsLicenses(t *testing.T) {
	w := setupWith(t, graph.Register, positionapi.Register)
	e := w.e
	e.Subscribe(w.tenant, "ENTERPRISEPACK", 5)
	ga := e.Token(w.tenant, "GlobalAdministrator")
	o365, _ := catalog.Default().SKU("ENTERPRISEPACK")
	e3, _ := catalog.Default().SKU("SPE_E3")
	// u0 (group A, allotment A) also holds O365 E3 through group "staff"
	// from the general pool.
	tn, _ := e.RT.Get(w.tenant)
	if err := tn.Do(context.Background(), licensing.Op{Actor: "t", Now: time.Now()}, func(tx *tenant.Tx) error {
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "staff", DisplayName: "staff", SecurityEnabled: true}); err != nil {
			return err
		}
		if err := tx.Engine.AssignGroupLicenses(tx.Op, "staff", []licensing.AssignedLicense{{SKUID: o365.ID}}, nil); err != nil {
			return err
		}
		return tx.Engine.AddMembers(tx.Op, "staff", []string{uid(0)})
	}); err != nil {
		t.Fatal(err)
	}
	e.Must(201, "POST", "/allot/v1/catalog/products", ga, `{"skuPartNumber":"ACME_PRO","displayName":"Acme Pro","servicePlans":[{"servicePlanName":"ACME_CORE"}]}`)
	// The administrator sees both licenses; owner A only its allotment's.
	if n := len(e.Must(200, "GET", "/v1.0/users/"+uid(0)+"/licenseDetails", ga, nil).JSON()["value"].([]any)); n != 2 {
		t.Fatalf("the administrator sees %d licenses of u0, want 2", n)
	}
	leaks := func(what string, body []byte) {
		t.Helper()
		for _, s := range []string{o365.ID, "ENTERPRISEPACK", "staff", w.b} {
			if strings.Contains(string(body), s) {
				t.Errorf("%s shows %s to owner A", what, s)
			}
		}
		if !strings.Contains(string(body), e3.ID) && !strings.Contains(string(body), "SPE_E3") {
			t.Errorf("%s does not show the allotment's own license: %.300s", what, body)
		}
	}
	leaks("licenseDetails", e.Must(200, "GET", "/v1.0/users/"+uid(0)+"/licenseDetails", w.ownerA, nil).Body)
	leaks("the user's license properties", e.Must(200, "GET", "/v1.0/users/"+uid(0)+"?$select=assignedLicenses,assignedPlans,licenseAssignmentStates", w.ownerA, nil).Body)
	leaks("the users list", e.Must(200, "GET", "/v1.0/users?$select=id,assignedLicenses,licenseAssignmentStates", w.ownerA, nil).Body)
	leaks("the group's members", e.Must(200, "GET", "/v1.0/groups/"+w.ga+"/members?$select=id,assignedLicenses,licenseAssignmentStates", w.ownerA, nil).Body)
	leaks("usageRights", e.Must(200, "GET", "/beta/users/"+uid(0)+"/cloudLicensing/usageRights", w.ownerA, nil).Body)
	// Filters cannot probe the other licenses either.
	byO365 := "/v1.0/users?$filter=" + url.QueryEscape("assignedLicenses/any(x:x/skuId eq "+o365.ID+")")
	if n := len(e.Must(200, "GET", byO365, ga, nil).JSON()["value"].([]any)); n != 1 {
		t.Fatalf("the administrator finds %d holders of O365 E3, want 1", n)
	}
	if got := e.Must(200, "GET", byO365, w.ownerA, nil).JSON()["value"].([]any); len(got) != 0 {
		t.Errorf("owner A finds holders of a license from outside its allotment: %v", got)
	}
	byE3 := "/v1.0/users?$filter=" + url.QueryEscape("assignedLicenses/any(x:x/skuId eq "+e3.ID+")")
	if n := len(e.Must(200, "GET", byE3, w.ownerA, nil).JSON()["value"].([]any)); n != 2 {
		t.Errorf("owner A finds %d holders of its allotment's license, want 2", n)
	}
	pos := e.Must(200, "GET", "/allot/v1/position", w.ownerA, nil)
	for _, sku := range pos.JSON()["skus"].([]any) {
		if id := sku.(map[string]any)["skuId"]; !strings.EqualFold(id.(string), e3.ID) {
			t.Errorf("the owner's position has a row for %v, outside its allotment", sku.(map[string]any)["skuPartNumber"])
		}
	}
	leaks("the position", pos.Body)
	// Custom products of the tenant: not the owner's.
	if b := e.Must(200, "GET", "/allot/v1/catalog/products?custom=true", w.ownerA, nil).Body; strings.Contains(string(b), "ACME_PRO") {
		t.Errorf("owner A lists the tenant's custom products: %s", b)
	}
	e.Must(404, "GET", "/allot/v1/catalog/products/ACME_PRO", w.ownerA, nil)
	e.Must(200, "GET", "/allot/v1/catalog/products/ACME_PRO", ga, nil)
	// License errors: an administrator also gives group A one unit of E5
	// from the general pool, so u1 and u2 wait for it; owner A sees only
	// the errors of its allotment (u2 waits for a unit of A).
	e.Subscribe(w.tenant, "SPE_E5", 1)
	e5, _ := catalog.Default().SKU("SPE_E5")
	e.Must(202, "POST", "/v1.0/groups/"+w.ga+"/assignLicense", ga, map[string]any{"addLicenses": []any{map[string]any{"skuId": e5.ID}}, "removeLicenses": []any{}})
	errs := func(token string) string {
		return strings.Join(fieldOf(e.Must(200, "GET", "/v1.0/groups/"+w.ga+"/membersWithLicenseErrors", token, nil)), " ")
	}
	if got := errs(ga); got != uid(1)+" "+uid(2) {
		t.Fatalf("the administrator sees license errors of %s, want u1 and u2", got)
	}
	if got := errs(w.ownerA); got != uid(2) {
		t.Errorf("owner A sees license errors of %s, want u2 only (u1's error is on a license from outside its allotment)", got)
	}
}

// fieldOf returns the ids of a collection, in order.
func fieldOf(r apitest.Response) []string {
	var out []string
	for _, v := range r.JSON()["value"].([]any) {
		out = append(out, v.(map[string]any)["id"].(string))
	}
	return out
}
