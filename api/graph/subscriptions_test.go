package graph_test

import (
	"testing"
	"time"

	"allot/api/apitest"
)

func TestDirectorySubscriptions(t *testing.T) {
	f := newFixture(t)
	subs := f.Must(200, "GET", "/partner/v1/customers/"+f.tenant+"/subscriptions", apitest.PartnerToken, nil).JSON()["items"].([]any)
	if len(subs) != 2 {
		t.Fatalf("fixture subscriptions: %v", subs)
	}
	e3sub := ""
	for _, s := range subs {
		if s := s.(map[string]any); s["skuId"] == e3 {
			e3sub = s["id"].(string)
		}
	}
	end := time.Now().UTC().Add(90 * 24 * time.Hour).Truncate(time.Second)
	f.Must(200, "PATCH", "/partner/v1/customers/"+f.tenant+"/subscriptions/"+e3sub, apitest.PartnerToken,
		map[string]any{"commitmentEndDate": end.Format(time.RFC3339), "autoRenewEnabled": false})

	r := f.Must(200, "GET", "/v1.0/directory/subscriptions", f.Token(f.tenant, "GlobalReader"), nil)
	vs := values(r)
	if len(vs) != 2 {
		t.Fatalf("list: %s", r.Body)
	}
	var got map[string]any
	for _, v := range vs {
		if v["id"] == e3sub {
			got = v
		}
	}
	want := map[string]any{"id": e3sub, "commerceSubscriptionId": e3sub, "skuId": e3, "skuPartNumber": "SPE_E3", "status": "Enabled",
		"totalLicenses": 5.0, "isTrial": false, "nextLifecycleDateTime": end.Format(time.RFC3339), "ownerType": nil}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if got["createdDateTime"] == nil || len(got["serviceStatus"].([]any)) == 0 {
		t.Errorf("createdDateTime and serviceStatus: %v", got)
	}
	// The lifecycle shows in status.
	for status, graphStatus := range map[string]string{"expired": "Warning", "suspended": "Suspended", "disabled": "LockedOut", "active": "Enabled"} {
		f.Must(200, "PATCH", "/partner/v1/customers/"+f.tenant+"/subscriptions/"+e3sub, apitest.PartnerToken, map[string]any{"status": status})
		one := f.Must(200, "GET", "/v1.0/directory/subscriptions/"+e3sub+"?$select=id,status,nextLifecycleDateTime", f.admin, nil).JSON()
		if one["status"] != graphStatus || len(one) != 4 { // @odata.context, id, status, nextLifecycleDateTime
			t.Errorf("%s: %v", status, one)
		}
		if status == "expired" && one["nextLifecycleDateTime"] == nil {
			t.Errorf("an expired subscription moves on at the end of its grace period: %v", one)
		}
	}
	wantError(t, f.Call("GET", "/v1.0/directory/subscriptions/nope", f.admin, nil), 404, "Request_ResourceNotFound", "nope")
	wantError(t, f.Call("GET", "/v1.0/directory/subscriptions?$select=nope", f.admin, nil), 400, "BadRequest", "nope")
}
