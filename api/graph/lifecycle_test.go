package graph_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"allot/api/apitest"
	"allot/api/graph"
	positionapi "allot/api/position"
	"allot/api/server"
)

// These tests follow Microsoft's "What if my subscription expires?"
// (Microsoft 365 admin: Active > Expired > Disabled > Deleted) with Graph's
// licenseUnitsDetail (prepaidUnits enabled / warning / suspended / lockedOut)
// and assignedPlan (capabilityStatus Enabled, Warning, Suspended, LockedOut,
// Deleted), driven through the Partner Center-shaped API.

// subscribedE3 returns the SPE_E3 subscribedSku.
func (f *fixture) subscribedE3() map[string]any {
	f.T.Helper()
	for _, s := range values(f.Must(200, "GET", "/v1.0/subscribedSkus", f.admin, nil)) {
		if s["skuId"] == e3 {
			return s
		}
	}
	f.T.Fatal("no SPE_E3 subscribedSku")
	return nil
}

// planStatuses returns the capabilityStatus of every assigned plan of a user.
func (f *fixture) planStatuses(id string) map[string]bool {
	f.T.Helper()
	u := f.Must(200, "GET", "/v1.0/users/"+id+"?$select=assignedPlans,assignedLicenses", f.admin, nil).JSON()
	out := map[string]bool{}
	for _, p := range u["assignedPlans"].([]any) {
		out[p.(map[string]any)["capabilityStatus"].(string)] = true
	}
	if len(u["assignedLicenses"].([]any)) != 1 {
		f.T.Fatalf("assignedLicenses %v: the assignment must be kept", u["assignedLicenses"])
	}
	return out
}

func units(s map[string]any) map[string]float64 {
	out := map[string]float64{}
	for k, v := range s["prepaidUnits"].(map[string]any) {
		out[k] = v.(float64)
	}
	return out
}

func TestSuspendedSubscriptionKeepsAssignmentsAndDisablesTheServiceAsMicrosoftDocuments(t *testing.T) {
	f := newFixture(t)
	subs := f.Must(200, "GET", "/partner/v1/customers/"+f.tenant+"/subscriptions", apitest.PartnerToken, nil).JSON()["items"].([]any)
	var sub string
	for _, s := range subs {
		if s.(map[string]any)["skuPartNumber"] == "SPE_E3" {
			sub = s.(map[string]any)["id"].(string)
		}
	}
	ann := f.user("ann@contoso.example", "Ann")
	f.Must(200, "POST", "/v1.0/users/"+ann+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})

	// Partner Center "Suspend a subscription" (non-payment): allowed with
	// seats in use; the assignment stays, the service stops.
	r := f.Must(200, "PATCH", "/partner/v1/customers/"+f.tenant+"/subscriptions/"+sub, apitest.PartnerToken,
		map[string]any{"status": "suspended", "suspensionReasons": []string{"Nonpayment"}})
	if got := r.JSON(); got["status"] != "suspended" || got["capabilityStatus"] != "Suspended" {
		t.Fatalf("suspended subscription: %v", got)
	}
	s := f.subscribedE3()
	if u := units(s); s["capabilityStatus"] != "Suspended" || u["enabled"] != 0 || u["suspended"] != 5 || s["consumedUnits"].(float64) != 1 {
		t.Fatalf("subscribedSku while suspended: %v", s)
	}
	if st := f.planStatuses(ann); !st["Suspended"] || st["Enabled"] {
		t.Fatalf("assignedPlans while suspended: %v", st)
	}
	// "Unavailable for assignment": no new assignment.
	bob := f.user("bob@contoso.example", "Bob")
	wantError(t, f.Call("POST", "/v1.0/users/"+bob+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}}),
		400, "Request_BadRequest", "does not have any available licenses")
	// $filter on capabilityStatus finds users by their plans' status.
	got := values(f.Must(200, "GET", "/v1.0/users?$filter="+url.QueryEscape("assignedPlans/any(a:a/servicePlanId eq efb87545-963c-4e0d-99df-69c6916d9eb0 and a/capabilityStatus eq 'Suspended')")+"&$count=true", f.admin, nil, "ConsistencyLevel: eventual"))
	if len(got) != 1 || got[0]["id"] != ann {
		t.Fatalf("$filter capabilityStatus eq 'Suspended': %v", got)
	}
	// Reactivation restores the service.
	f.Must(200, "PATCH", "/partner/v1/customers/"+f.tenant+"/subscriptions/"+sub, apitest.PartnerToken, map[string]any{"status": "active"})
	if st := f.planStatuses(ann); !st["Enabled"] || len(st) != 1 {
		t.Fatalf("assignedPlans after reactivation: %v", st)
	}
}

func TestExpiredSubscriptionGoesThroughGraceDisabledAndDeletedAsMicrosoftDocuments(t *testing.T) {
	f := newFixture(t, graph.Register, func(s *server.Server) { positionapi.Mount(s, positionapi.Options{}) })
	end := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
	r := f.Must(201, "POST", "/partner/v1/customers/"+f.tenant+"/subscriptions", apitest.PartnerToken,
		map[string]any{"offerId": "SPE_E3", "quantity": 2, "commitmentEndDate": end, "autoRenewEnabled": false})
	sub := r.JSON()["id"].(string)
	ann := f.user("ann@contoso.example", "Ann")
	g := f.group("E3 users")
	f.Must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
	f.addMember(g, ann)
	// The other SPE_E3 subscription (5 units, bought by the fixture) ends
	// now too, so every E3 unit follows the same lifecycle.
	for _, s := range f.Must(200, "GET", "/partner/v1/customers/"+f.tenant+"/subscriptions", apitest.PartnerToken, nil).JSON()["items"].([]any) {
		if m := s.(map[string]any); m["skuPartNumber"] == "SPE_E3" && m["id"] != sub {
			f.Must(200, "PATCH", "/partner/v1/customers/"+f.tenant+"/subscriptions/"+m["id"].(string), apitest.PartnerToken,
				map[string]any{"commitmentEndDate": end, "autoRenewEnabled": false})
		}
	}
	get := func() map[string]any {
		return f.Must(200, "GET", "/partner/v1/customers/"+f.tenant+"/subscriptions/"+sub, apitest.PartnerToken, nil).JSON()
	}
	ctx := context.Background()

	// Expired: "users can access", units in warning, assignable.
	f.RT.MaintainAt(ctx, end.Add(time.Hour))
	if s := get(); s["status"] != "expired" || s["graceEndDate"] == nil {
		t.Fatalf("after the end date: %v", s)
	}
	s := f.subscribedE3()
	if u := units(s); s["capabilityStatus"] != "Warning" || u["warning"] != 7 || u["enabled"] != 0 {
		t.Fatalf("subscribedSku in grace: %v", s)
	}
	if st := f.planStatuses(ann); !st["Warning"] || len(st) != 1 {
		t.Fatalf("assignedPlans in grace: %v", st)
	}
	pos := f.Must(200, "GET", "/allot/v1/position", f.admin, nil).JSON()
	if n := pos["totals"].(map[string]any)["findingsByKind"].(map[string]any)["subscriptionLapsing"]; n != 1.0 {
		t.Fatalf("position findings in grace: %v", pos["totals"])
	}
	rows := 0
	for _, r := range pos["skus"].([]any) {
		if row := r.(map[string]any); row["skuId"] == e3 {
			rows++
			if row["inGrace"] != 1.0 || row["suspended"] != 0.0 || row["capabilityStatus"] != "Warning" {
				t.Fatalf("position row in grace: %v", row)
			}
		}
	}
	if rows != 1 {
		t.Fatalf("position has %d SPE_E3 rows", rows)
	}

	// Disabled after the 30-day grace: service off, assignment kept.
	f.RT.MaintainAt(ctx, end.Add(31*24*time.Hour))
	if s := get(); s["status"] != "disabled" || s["deletionDate"] == nil {
		t.Fatalf("after the grace period: %v", s)
	}
	if s := f.subscribedE3(); s["capabilityStatus"] != "LockedOut" || units(s)["lockedOut"] != 7 {
		t.Fatalf("subscribedSku disabled: %v", s)
	}
	if st := f.planStatuses(ann); !st["LockedOut"] || len(st) != 1 {
		t.Fatalf("assignedPlans disabled: %v", st)
	}

	// Deleted after 90 more days: the units and the seat are gone; the
	// group assignment waits for a seat.
	f.RT.MaintainAt(ctx, end.Add(122*24*time.Hour))
	if s := get(); s["status"] != "deleted" {
		t.Fatalf("after the disabled period: %v", s)
	}
	s = f.subscribedE3()
	if s["capabilityStatus"] != "Deleted" || s["consumedUnits"].(float64) != 0 {
		t.Fatalf("subscribedSku deleted: %v", s)
	}
	st := f.Must(200, "GET", "/v1.0/users/"+ann+"?$select=licenseAssignmentStates", f.admin, nil).JSON()["licenseAssignmentStates"].([]any)
	if len(st) != 1 || st[0].(map[string]any)["error"] != "CountViolation" {
		t.Fatalf("licenseAssignmentStates after deletion: %v", st)
	}
	wantError(t, f.Call("PATCH", "/partner/v1/customers/"+f.tenant+"/subscriptions/"+sub, apitest.PartnerToken, map[string]any{"status": "active"}),
		409, "Conflict", "deleted")
}

func TestAutoRenewingSubscriptionRenewsInsteadOfExpiring(t *testing.T) {
	f := newFixture(t)
	end := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	r := f.Must(201, "POST", "/partner/v1/customers/"+f.tenant+"/subscriptions", apitest.PartnerToken,
		map[string]any{"offerId": "SPE_E3", "quantity": 2, "commitmentEndDate": end, "autoRenewEnabled": true})
	sub := r.JSON()["id"].(string)
	f.RT.MaintainAt(context.Background(), end.Add(2*time.Hour))
	s := f.Must(200, "GET", "/partner/v1/customers/"+f.tenant+"/subscriptions/"+sub, apitest.PartnerToken, nil).JSON()
	if s["status"] != "active" || s["commitmentEndDate"] != end.AddDate(1, 0, 0).Format(time.RFC3339) {
		t.Fatalf("renewed subscription: %v", s)
	}
}
