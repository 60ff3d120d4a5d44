package partner_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
	"allot/audit"
	"allot/catalog"
	"allot/licensing"
	"allot/tenant"
)

func env(t *testing.T) *apitest.Env { return apitest.New(t, partner.Register, admin.Register) }

func TestCustomerLifecycle(t *testing.T) {
	e := env(t)
	r := e.Must(201, "POST", "/partner/v1/customers", apitest.PartnerToken,
		`{"companyProfile":{"companyName":"Contoso","domain":"contoso.example"},"defaultUsageLocation":"US"}`)
	id := r.JSON()["id"].(string)
	if !catalog.IsGUID(id) {
		t.Fatalf("id %q is not a GUID", id)
	}
	got := e.Must(200, "GET", "/partner/v1/customers/"+id, apitest.PartnerToken, nil).JSON()
	cp := got["companyProfile"].(map[string]any)
	if cp["companyName"] != "Contoso" || cp["tenantId"] != id || got["defaultUsageLocation"] != "US" {
		t.Fatalf("customer: %v", got)
	}
	list := e.Must(200, "GET", "/partner/v1/customers", apitest.PartnerToken, nil).JSON()
	if list["totalCount"].(float64) != 1 {
		t.Fatalf("list: %v", list)
	}
	e.Must(404, "GET", "/partner/v1/customers/00000000-0000-0000-0000-000000000000", apitest.PartnerToken, nil)
}

func TestSubscriptionsDriveUnitsAndRefuseShrinkingBelowUse(t *testing.T) {
	e := env(t)
	id := e.Customer("Contoso", "US")
	sub := e.Subscribe(id, "SPE_E3", 25)
	e.Subscribe(id, "06ebc4ee-1bb5-47dd-8120-11324bc54e06", 5) // SPE_E5 by skuId
	got := e.Must(200, "GET", "/partner/v1/customers/"+id+"/subscriptions/"+sub, apitest.PartnerToken, nil).JSON()
	if got["skuPartNumber"] != "SPE_E3" || got["quantity"].(float64) != 25 || got["status"] != "active" {
		t.Fatalf("subscription: %v", got)
	}
	tn, _ := e.RT.Get(id)
	e3, _ := catalog.Default().SKU("SPE_E3")
	pool := func() licensing.PoolInfo {
		var p licensing.PoolInfo
		tn.Read(func(s *tenant.State) { p, _ = s.Engine.Pool(e3.ID) })
		return p
	}
	if p := pool(); p.Units.Enabled != 25 {
		t.Fatalf("units: %+v", p.Units)
	}
	// Assign 10 seats directly through the runtime.
	for i := 0; i < 10; i++ {
		uid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		err := tn.Do(context.Background(), licensing.Op{Actor: "test", Now: time.Now()}, func(tx *tenant.Tx) error {
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid, UserPrincipalName: uid + "@c", UsageLocation: "US"}); err != nil {
				return err
			}
			return tx.Engine.AssignUserLicenses(tx.Op, uid, []licensing.AssignedLicense{{SKUID: e3.ID}}, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	r := e.Must(409, "PATCH", "/partner/v1/customers/"+id+"/subscriptions/"+sub, apitest.PartnerToken, `{"quantity":4}`)
	if !strings.Contains(r.ErrorMessage(), "remove at least 6 assignment(s)") {
		t.Fatalf("message: %s", r.ErrorMessage())
	}
	if p := pool(); p.Units.Enabled != 25 {
		t.Fatalf("refused change applied: %+v", p.Units)
	}
	// Suspending keeps the assignments (the service stops): allowed.
	e.Must(200, "PATCH", "/partner/v1/customers/"+id+"/subscriptions/"+sub, apitest.PartnerToken, `{"status":"suspended"}`)
	if p := pool(); p.Units.Suspended != 25 || p.Consumed != 10 || p.Units.Status != "Suspended" {
		t.Fatalf("suspended: %+v", p)
	}
	e.Must(200, "PATCH", "/partner/v1/customers/"+id+"/subscriptions/"+sub, apitest.PartnerToken, `{"status":"active"}`)
	e.Must(200, "PATCH", "/partner/v1/customers/"+id+"/subscriptions/"+sub, apitest.PartnerToken, `{"quantity":10}`)
	if p := pool(); p.Units.Enabled != 10 || p.Consumed != 10 {
		t.Fatalf("after shrink: %+v", p)
	}
	// A second subscription of the same product adds units.
	e.Subscribe(id, "SPE_E3", 3)
	if p := pool(); p.Units.Enabled != 13 {
		t.Fatalf("two subscriptions: %+v", p.Units)
	}
}

func TestPartnerAPIBadInput(t *testing.T) {
	e := env(t)
	id := e.Customer("Contoso", "US")
	cases := []struct {
		name, method, path, body, ctype string
		want                            int
		msg                             string
	}{
		{"malformed json", "POST", "/partner/v1/customers", `{"companyProfile":`, "", 400, "not valid JSON"},
		{"unknown field", "POST", "/partner/v1/customers", `{"companyProfile":{"companyName":"A"},"defaultUsageLocation":"US","bogus":1}`, "", 400, "bogus"},
		{"missing name", "POST", "/partner/v1/customers", `{"defaultUsageLocation":"US"}`, "", 400, "companyName is required"},
		{"bad location", "POST", "/partner/v1/customers", `{"companyProfile":{"companyName":"A","domain":"a.example"},"defaultUsageLocation":"USA"}`, "", 400, "alpha-2"},
		{"wrong content type", "POST", "/partner/v1/customers", `{}`, "text/plain", 400, "Unsupported content type"},
		{"unknown sku", "POST", "/partner/v1/customers/" + id + "/subscriptions", `{"offerId":"NOPE","quantity":1}`, "", 400, "not a known product"},
		{"negative quantity", "POST", "/partner/v1/customers/" + id + "/subscriptions", `{"offerId":"SPE_E3","quantity":-3}`, "", 400, "from 1 to"},
		{"quantity not a number", "POST", "/partner/v1/customers/" + id + "/subscriptions", `{"offerId":"SPE_E3","quantity":"ten"}`, "", 400, "quantity"},
		{"oversized", "POST", "/partner/v1/customers", `{"companyProfile":{"companyName":"` + strings.Repeat("a", 2<<20) + `"}}`, "", 413, "larger than"},
		{"unknown subscription", "PATCH", "/partner/v1/customers/" + id + "/subscriptions/x", `{"quantity":2}`, "", 404, "does not exist"},
		{"bad status", "PATCH", "/partner/v1/customers/" + id + "/subscriptions/x", `{"status":"gone"}`, "", 400, "not supported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.ctype != "" {
				hdr = append(hdr, "Content-Type: "+c.ctype)
			}
			r := e.Call(c.method, c.path, apitest.PartnerToken, c.body, hdr...)
			if r.Status != c.want || !strings.Contains(r.ErrorMessage(), c.msg) {
				t.Fatalf("status %d (want %d), body %s", r.Status, c.want, r.Body)
			}
			if r.JSON()["error"].(map[string]any)["innerError"].(map[string]any)["request-id"] == "" {
				t.Fatal("no request-id in innerError")
			}
		})
	}
	if n := len(e.RT.List()); n != 1 {
		t.Fatalf("bad requests created tenants: %d", n)
	}
	list := e.Must(200, "GET", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, nil).JSON()
	if list["totalCount"].(float64) != 0 {
		t.Fatalf("bad requests created subscriptions: %v", list)
	}
}

func TestAuthentication(t *testing.T) {
	e := env(t)
	id := e.Customer("Contoso", "US")
	r := e.Must(401, "GET", "/partner/v1/customers", "", nil)
	if r.ErrorCode() != "InvalidAuthenticationToken" {
		t.Fatalf("code %s", r.ErrorCode())
	}
	e.Must(401, "GET", "/partner/v1/customers", "allot_wrong", nil)
	// A tenant token is not a partner.
	admin := e.Token(id, "GlobalAdministrator")
	r = e.Must(403, "GET", "/partner/v1/customers", admin, nil)
	if r.ErrorCode() != "Authorization_RequestDenied" {
		t.Fatalf("code %s", r.ErrorCode())
	}
	// Health and metrics need no token.
	e.Must(200, "GET", "/healthz", "", nil)
	e.Must(200, "GET", "/readyz", "", nil)
	m := e.Must(200, "GET", "/metrics", "", nil)
	if !strings.Contains(string(m.Body), "allot_http_requests_total") || !strings.Contains(string(m.Body), "allot_commit_batch_size") {
		t.Fatal("metrics missing")
	}
}

func TestTokens(t *testing.T) {
	e := env(t)
	a := e.Customer("Contoso", "US")
	b := e.Customer("Fabrikam", "DE")
	ga := e.Token(a, "GlobalAdministrator")
	reader := e.Token(a, "GlobalReader")
	// A Global Administrator creates tokens for its own tenant only.
	r := e.Must(201, "POST", "/allot/v1/tenants/"+a+"/tokens", ga, `{"displayName":"licensing bot","roles":["LicenseAdministrator"]}`)
	created := r.JSON()
	if !strings.HasPrefix(created["token"].(string), "allot_") {
		t.Fatalf("token: %v", created)
	}
	e.Must(404, "POST", "/allot/v1/tenants/"+b+"/tokens", ga, `{"displayName":"x","roles":["GlobalReader"]}`)
	e.Must(404, "GET", "/allot/v1/tenants/"+b+"/tokens", ga, nil)
	e.Must(403, "POST", "/allot/v1/tenants/"+a+"/tokens", reader, `{"displayName":"x","roles":["GlobalReader"]}`)
	e.Must(400, "POST", "/allot/v1/tenants/"+a+"/tokens", ga, `{"displayName":"x","roles":["Emperor"]}`)
	e.Must(400, "POST", "/allot/v1/tenants/"+a+"/tokens", ga, `{"displayName":"x","roles":["AllotmentOwner"]}`)
	list := e.Must(200, "GET", "/allot/v1/tenants/"+a+"/tokens", ga, nil)
	if strings.Contains(string(list.Body), `"token"`) {
		t.Fatal("listing shows secrets")
	}
	// Revocation takes effect at once.
	secret := created["token"].(string)
	e.Must(200, "GET", "/allot/v1/tenants/"+a+"/tokens", ga, nil)
	e.Must(204, "DELETE", "/allot/v1/tenants/"+a+"/tokens/"+created["id"].(string), ga, nil)
	e.Must(401, "GET", "/allot/v1/tenants/"+a+"/tokens", secret, nil)
	e.Must(404, "DELETE", "/allot/v1/tenants/"+a+"/tokens/nope", ga, nil)
}

// Every audit entry a partner administrator causes names it the same way,
// from the customer's creation on (its first command used to say
// "partner").
func TestPartnerCallsAreAuditedUnderOneName(t *testing.T) {
	e := env(t)
	id := e.Customer("Contoso", "US")
	e.Subscribe(id, "SPE_E3", 5)
	entries, err := e.Store.QueryAudit(context.Background(), audit.Query{TenantID: id})
	if err != nil {
		t.Fatal(err)
	}
	actors := map[string]int{}
	for _, a := range entries {
		actors[a.Actor]++
	}
	if len(entries) < 2 || len(actors) != 1 {
		t.Fatalf("%d entries by %v, want one actor", len(entries), actors)
	}
	for actor := range actors {
		if actor == "partner" {
			t.Fatalf("entries are by %q, not the principal", actor)
		}
	}
}
