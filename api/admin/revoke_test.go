package admin_test

import (
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
)

// A token revoked through the API is refused by the serving process at the
// next request, although its principal was cached by the requests before.
func TestTokenRevokedThroughTheAPIIsRefusedAtOnce(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register)
	id := e.Customer("Contoso", "US")
	r := e.Must(201, "POST", "/allot/v1/tenants/"+id+"/tokens", apitest.PartnerToken,
		map[string]any{"displayName": "script", "roles": []string{"GlobalReader"}})
	secret, tokenID := r.JSON()["token"].(string), r.JSON()["id"].(string)
	e.Must(200, "GET", "/allot/v1/audit", secret, nil) // cached now
	e.Must(204, "DELETE", "/allot/v1/tenants/"+id+"/tokens/"+tokenID, apitest.PartnerToken, nil)
	if r := e.Call("GET", "/allot/v1/audit", secret, nil); r.Status != 401 {
		t.Fatalf("the revoked token's next request answers %d, want 401: %s", r.Status, r.Body)
	}
}
