package partner_test

import (
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	"allot/api/partner"
)

// FuzzPartner: the partner surface (customers, subscriptions) keeps the
// invariants of apitest.Fuzz.Check.
func FuzzPartner(fz *testing.F) {
	w := apitest.NewFuzz(fz, partner.Register, admin.Register, cloudlicensing.Register, graph.Register)
	seeds := []apitest.Seed{
		{Token: 1, Method: "GET", Path: "/partner/v1/customers"},
		{Token: 1, Method: "GET", Path: "/partner/v1/customers/{tenant}"},
		{Token: 1, Method: "POST", Path: "/partner/v1/customers", Body: `{"companyProfile":{"companyName":"Fabrikam","domain":"fabrikam.example"},"defaultUsageLocation":"GB"}`},
		{Token: 1, Method: "POST", Path: "/partner/v1/customers/{tenant}/subscriptions", Body: `{"offerId":"ENTERPRISEPACK","quantity":2}`},
		{Token: 1, Method: "POST", Path: "/partner/v1/customers/{tenant}/subscriptions", Body: `{"offerId":"SPE_E3","quantity":-1}`},
		{Token: 1, Method: "GET", Path: "/partner/v1/customers/{tenant}/subscriptions"},
		{Token: 1, Method: "PATCH", Path: "/partner/v1/customers/{tenant}/subscriptions/x", Body: `{"quantity":1,"status":"suspended"}`},
		{Token: 0, Method: "GET", Path: "/partner/v1/customers/{tenant}"},
	}
	w.Surface(fz, []string{"/partner/"}, seeds, nil)
}
