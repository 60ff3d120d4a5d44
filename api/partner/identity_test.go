package partner_test

import (
	"fmt"
	"strings"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/graph"
	"allot/api/partner"
	"allot/store"
	"allot/subscription"
)

func customerBody(name, domain, loc string) map[string]any {
	return map[string]any{"companyProfile": map[string]any{"companyName": name, "domain": domain}, "defaultUsageLocation": loc}
}

func TestCustomerDomainIsRequiredValidAndUnique(t *testing.T) {
	e := env(t)
	e.Must(201, "POST", "/partner/v1/customers", apitest.PartnerToken, customerBody("Contoso", "contoso.example", "US"))
	for name, body := range map[string]map[string]any{
		"same domain":        customerBody("Contoso again", "contoso.example", "US"),
		"same domain, case":  customerBody("Contoso again", "CONTOSO.Example.", "US"),
		"no domain":          customerBody("Fabrikam", "", "US"),
		"bad domain":         customerBody("Fabrikam", "fabrikam", "US"),
		"usage location XX":  customerBody("Fabrikam", "fabrikam.example", "XX"),
		"5000-char company":  customerBody(strings.Repeat("c", 5000), "fabrikam.example", "US"),
		"unassigned country": customerBody("Fabrikam", "fabrikam.example", "ZZ"),
	} {
		r := e.Call("POST", "/partner/v1/customers", apitest.PartnerToken, body)
		want := 400
		if strings.HasPrefix(name, "same domain") {
			want = 409
		}
		if r.Status != want {
			t.Errorf("%s: status %d, want %d: %s", name, r.Status, want, r.Body)
		}
	}
	if got := e.Must(200, "GET", "/partner/v1/customers", apitest.PartnerToken, nil).JSON()["totalCount"]; got != float64(1) {
		t.Fatalf("refused requests created customers: %v", got)
	}
}

func TestSubscriptionQuantityIsBounded(t *testing.T) {
	e := env(t)
	id := e.Customer("Contoso", "US")
	e.Must(400, "POST", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, `{"offerId":"SPE_E3","quantity":1000000000000}`)
	e.Must(400, "POST", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, map[string]any{"offerId": "SPE_E3", "quantity": subscription.MaxQuantity + 1})
	sub := e.Subscribe(id, "SPE_E3", subscription.MaxQuantity)
	e.Must(400, "PATCH", "/partner/v1/customers/"+id+"/subscriptions/"+sub, apitest.PartnerToken, `{"quantity":1000000000000}`)
	got := e.Must(200, "GET", "/partner/v1/customers/"+id+"/subscriptions/"+sub, apitest.PartnerToken, nil).JSON()["quantity"]
	if got != float64(subscription.MaxQuantity) {
		t.Fatalf("quantity %v", got)
	}
}

func TestDeleteCustomerRefusedWhileItHoldsSubscriptionsUnlessCascade(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register, graph.Register)
	id := e.Customer("Contoso", "US")
	ga := e.Token(id, "GlobalAdministrator")
	e.Subscribe(id, "SPE_E3", 3)
	e.Must(201, "POST", "/v1.0/users", ga, map[string]any{"accountEnabled": true, "displayName": "Ann", "mailNickname": "ann",
		"userPrincipalName": "ann@contoso.example", "passwordProfile": map[string]any{"password": "x"}})

	r := e.Must(409, "DELETE", "/partner/v1/customers/"+id, apitest.PartnerToken, nil)
	if !strings.Contains(r.ErrorMessage(), "cascade") {
		t.Fatalf("message %q", r.ErrorMessage())
	}
	e.Must(200, "GET", "/v1.0/users/ann@contoso.example", ga, nil) // nothing changed
	e.Must(403, "DELETE", "/partner/v1/customers/"+id, ga, nil)
	e.Must(400, "DELETE", "/partner/v1/customers/"+id+"?cascade=yes", apitest.PartnerToken, nil)

	e.Must(204, "DELETE", "/partner/v1/customers/"+id+"?cascade=true", apitest.PartnerToken, nil)
	e.Must(404, "GET", "/partner/v1/customers/"+id, apitest.PartnerToken, nil)
	e.Must(404, "DELETE", "/partner/v1/customers/"+id, apitest.PartnerToken, nil)
	if r := e.Call("GET", "/v1.0/users", ga, nil); r.Status < 400 {
		t.Fatalf("the deleted tenant's token still reads its users: %d", r.Status)
	}
	if n, _ := e.Store.ListTenants(t.Context()); len(n) != 0 {
		t.Fatalf("store still lists %d tenants", len(n))
	}
	objects := 0
	if err := e.Store.LoadObjects(t.Context(), id, func(store.Object) error { objects++; return nil }); err != nil || objects != 0 {
		t.Fatalf("store still holds %d objects of the deleted tenant (%v)", objects, err)
	}
	// Its domain is free again; a customer without subscriptions is deleted at once.
	again := e.Customer("Contoso", "US")
	e.Must(204, "DELETE", "/partner/v1/customers/"+again, apitest.PartnerToken, nil)
}

func TestDeleteCustomerLeavesOthersIntact(t *testing.T) {
	e := apitest.New(t, partner.Register, graph.Register)
	ids := make([]string, 3)
	for i := range ids {
		ids[i] = e.Customer(fmt.Sprintf("C%d", i), "US")
		e.Subscribe(ids[i], "SPE_E3", 1)
	}
	e.Must(204, "DELETE", "/partner/v1/customers/"+ids[1]+"?cascade=true", apitest.PartnerToken, nil)
	for _, id := range []string{ids[0], ids[2]} {
		if got := e.Must(200, "GET", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, nil).JSON()["totalCount"]; got != float64(1) {
			t.Fatalf("customer %s lost its subscription: %v", id, got)
		}
	}
}
