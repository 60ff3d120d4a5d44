package admin_test

import (
	"strings"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
)

// The import endpoint refuses an allotment beyond the subscription as the
// API does (409), naming the file and line, and changes nothing.
func TestImportEndpointRefusesAllotmentsBeyondTheSubscription(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register)
	id := e.Customer("Contoso", "US")
	ga := e.Token(id, "GlobalAdministrator")
	over := zipOf(t, map[string]string{
		"subscriptions.csv":   "skuPartNumber,quantity\nSPE_E3,3\n",
		"allotments.csv":      "id,displayName,skuPartNumber,allottedUnits\nal-1,Pilot,SPE_E3,50\n",
		"users.csv":           "id,userPrincipalName,usageLocation\nu1,a@contoso.example,US\n",
		"direct_licenses.csv": "userId,skuPartNumber,allotmentId\nu1,SPE_E3,al-1\n",
	})
	r := e.Must(409, "POST", "/allot/v1/tenants/"+id+"/import", ga, over, "Content-Type: application/zip")
	if !strings.Contains(r.ErrorMessage(), "allotments.csv:2") {
		t.Fatalf("message %s", r.ErrorMessage())
	}
	subs := e.Must(200, "GET", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, nil).JSON()
	if subs["totalCount"].(float64) != 0 {
		t.Fatalf("a refused import created a subscription: %v", subs)
	}
}
