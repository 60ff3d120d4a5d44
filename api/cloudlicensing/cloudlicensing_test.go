package cloudlicensing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/partner"
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

func setup(t *testing.T) *world {
	e := apitest.New(t, partner.Register, admin.Register, cloudlicensing.Register)
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
