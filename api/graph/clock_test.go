package graph_test

import (
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/graph"
	"allot/api/partner"
)

// Every surface takes "now" from the runtime's clock (tenant.Options.Now),
// never from the wall clock: what a customer, a subscription, a token, a
// user, a group and a license assignment record is the runtime's time.
func TestHandlersUseTheRuntimeClock(t *testing.T) {
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	e := apitest.NewWithClock(t, func() time.Time { return at }, partner.Register, admin.Register, graph.Register)
	want := at.Format(time.RFC3339)
	check := func(what string, got any) {
		t.Helper()
		s, _ := got.(string)
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !ts.Equal(at) {
			t.Errorf("%s: %v, want %s", what, got, want)
		}
	}
	c := e.Must(201, "POST", "/partner/v1/customers", apitest.PartnerToken, map[string]any{
		"companyProfile": map[string]any{"companyName": "Clock", "domain": "clock.example"}, "defaultUsageLocation": "US"}).JSON()
	check("customer createdDateTime", c["createdDateTime"])
	id := c["id"].(string)
	s := e.Must(201, "POST", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, map[string]any{"offerId": "SPE_E3", "quantity": 5}).JSON()
	check("subscription creationDate", s["creationDate"])
	tok := e.Must(201, "POST", "/allot/v1/tenants/"+id+"/tokens", apitest.PartnerToken, map[string]any{"displayName": "ga", "roles": []string{"GlobalAdministrator"}}).JSON()
	check("token createdDateTime", tok["createdDateTime"])
	ga := tok["token"].(string)
	u := e.Must(201, "POST", "/v1.0/users", ga, map[string]any{"accountEnabled": true, "displayName": "U", "mailNickname": "u",
		"userPrincipalName": "u@clock.example", "usageLocation": "US", "passwordProfile": map[string]any{"password": "x"}}).JSON()
	uid := u["id"].(string)
	check("user createdDateTime", e.Must(200, "GET", "/v1.0/users/"+uid+"?$select=createdDateTime", ga, nil).JSON()["createdDateTime"])
	g := e.Must(201, "POST", "/v1.0/groups", ga, map[string]any{"displayName": "G", "mailEnabled": false, "mailNickname": "g", "securityEnabled": true}).JSON()
	check("group createdDateTime", e.Must(200, "GET", "/v1.0/groups/"+g["id"].(string)+"?$select=createdDateTime", ga, nil).JSON()["createdDateTime"])
	e.Must(200, "POST", "/v1.0/users/"+uid+"/assignLicense", ga, map[string]any{
		"addLicenses": []any{map[string]any{"skuId": "05e9a617-0261-4cee-bb44-138d3ef5d965"}}, "removeLicenses": []any{}})
	states := e.Must(200, "GET", "/v1.0/users/"+uid+"?$select=licenseAssignmentStates", ga, nil).JSON()["licenseAssignmentStates"].([]any)
	if len(states) != 1 {
		t.Fatalf("licenseAssignmentStates: %v", states)
	}
	check("licenseAssignmentStates lastUpdatedDateTime", states[0].(map[string]any)["lastUpdatedDateTime"])
}
