package admin_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
	"allot/licensing"
	"allot/tenant"
	"allot/userprop"
)

func TestValidateRule(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register)
	id := e.Customer("Contoso", "US")
	tn, _ := e.RT.Get(id)
	for i := 0; i < 30; i++ {
		d := "HR"
		if i%3 == 0 {
			d = "Sales"
		}
		uid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		err := tn.Do(context.Background(), licensing.Op{Actor: "t", Now: time.Now()}, func(tx *tenant.Tx) error {
			return tx.Engine.PutUser(tx.Op, licensing.User{ID: uid, UserPrincipalName: fmt.Sprintf("u%d@c", i)}.With(userprop.Department, d))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	groups := e.Token(id, "GroupsAdministrator")
	var ok admin.RuleCheck
	e.Must(200, "POST", "/allot/v1/rules/validate", groups, `{"rule":"user.department -eq \"Sales\""}`).Decode(t, &ok)
	if !ok.Valid || *ok.MatchCount != 10 || len(ok.Sample) != 10 {
		t.Fatalf("valid rule: %+v", ok)
	}
	var bad admin.RuleCheck
	e.Must(200, "POST", "/allot/v1/rules/validate", groups, `{"rule":"user.department -eq "}`).Decode(t, &bad)
	if bad.Valid || len(bad.Errors) == 0 || bad.Errors[0].Position.Line != 1 || bad.Errors[0].Position.Column < 20 {
		t.Fatalf("invalid rule: %+v", bad)
	}
	e.Must(403, "POST", "/allot/v1/rules/validate", e.Token(id, "ReportsReader"), `{"rule":"user.department -eq \"x\""}`)
	e.Must(400, "POST", "/allot/v1/rules/validate", groups, `{"rule":1}`)
}

func TestCustomProducts(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register)
	id := e.Customer("Vendor", "US")
	ga := e.Token(id, "GlobalAdministrator")
	r := e.Must(201, "POST", "/allot/v1/catalog/products", ga, `{"skuPartNumber":"ACME_PRO","displayName":"Acme Pro",
		"servicePlans":[{"servicePlanName":"ACME_CORE"},{"servicePlanName":"ACME_REPORTS","friendlyName":"Reports"}]}`)
	p := r.JSON()
	if p["skuPartNumber"] != "ACME_PRO" || p["custom"] != true || len(p["servicePlans"].([]any)) != 2 {
		t.Fatalf("product: %v", p)
	}
	// The custom product can be bought and shows in the tenant's catalog only.
	e.Subscribe(id, "ACME_PRO", 10)
	list := e.Must(200, "GET", "/allot/v1/catalog/products?custom=true", ga, nil).JSON()
	if n := len(list["value"].([]any)); n != 1 {
		t.Fatalf("custom products: %d", n)
	}
	other := e.Customer("Other", "US")
	e.Must(400, "POST", "/partner/v1/customers/"+other+"/subscriptions", apitest.PartnerToken, `{"offerId":"ACME_PRO","quantity":1}`)
	// Bad products are refused with the field named, and change nothing.
	r = e.Must(400, "POST", "/allot/v1/catalog/products", ga, `{"skuPartNumber":"SPE_E3","servicePlans":[{"servicePlanName":"X"}]}`)
	if !strings.Contains(r.ErrorMessage(), "skuPartNumber") {
		t.Fatalf("duplicate part number: %s", r.ErrorMessage())
	}
	e.Must(400, "POST", "/allot/v1/catalog/products", ga, `{"skuPartNumber":"EMPTY","servicePlans":[]}`)
	e.Must(403, "POST", "/allot/v1/catalog/products", e.Token(id, "GlobalReader"), `{"skuPartNumber":"X","servicePlans":[{"servicePlanName":"Y"}]}`)
	// Custom products survive a restart of the runtime (loaded before units).
	got := e.Must(200, "GET", "/allot/v1/catalog/products/ACME_PRO", ga, nil).JSON()
	if got["displayName"] != "Acme Pro" {
		t.Fatalf("get: %v", got)
	}
}

func TestExplainAndAudit(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register)
	id := e.Customer("Contoso", "US")
	e.Subscribe(id, "SPE_E3", 1)
	tn, _ := e.RT.Get(id)
	e3 := "05e9a617-0261-4cee-bb44-138d3ef5d965"
	for i, upn := range []string{"ann@c", "bob@c"} {
		uid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		err := tn.Do(context.Background(), licensing.Op{Actor: "t", Now: time.Now()}, func(tx *tenant.Tx) error {
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid, UserPrincipalName: upn, UsageLocation: "US"}); err != nil {
				return err
			}
			if i == 0 {
				if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g1", DisplayName: "Staff", SecurityEnabled: true}); err != nil {
					return err
				}
				if err := tx.Engine.AssignGroupLicenses(tx.Op, "g1", []licensing.AssignedLicense{{SKUID: e3}}, nil); err != nil {
					return err
				}
			}
			return tx.Engine.AddMembers(tx.Op, "g1", []string{uid})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	reader := e.Token(id, "GlobalReader")
	x := e.Must(200, "GET", "/allot/v1/users/bob@c/licenses/SPE_E3/explain", reader, nil).JSON()
	if x["waiting"] != true || x["waitingPosition"].(float64) != 1 {
		t.Fatalf("explain: %v", x)
	}
	e.Must(404, "GET", "/allot/v1/users/nobody@c/licenses/SPE_E3/explain", reader, nil)
	a := e.Must(200, "GET", "/allot/v1/audit?userId=00000000-0000-4000-8000-000000000001&top=1", reader, nil).JSON()
	if len(a["value"].([]any)) != 1 || a["@odata.nextLink"] == nil {
		t.Fatalf("audit page: %v", a)
	}
	next := e.Must(200, "GET", a["@odata.nextLink"].(string), reader, nil).JSON()
	if len(next["value"].([]any)) == 0 {
		t.Fatal("audit next page empty")
	}
	e.Must(400, "GET", "/allot/v1/audit?from=yesterday", reader, nil)
	e.Must(401, "GET", "/allot/v1/audit", e.Token(id, "UserAdministrator")+"x", nil)
}

func zipOf(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}

func TestImportTenantOverHTTP(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register)
	id := e.Customer("Contoso", "US")
	ga := e.Token(id, "GlobalAdministrator")
	good := zipOf(t, map[string]string{
		"subscriptions.csv":   "skuPartNumber,quantity\nSPE_E3,5\n",
		"users.csv":           "id,userPrincipalName,usageLocation\nu1,a@contoso.example,US\n",
		"direct_licenses.csv": "userId,skuPartNumber\nu1,SPE_E3\n",
	})
	r := e.Must(200, "POST", "/allot/v1/tenants/"+id+"/import", ga, good, "Content-Type: application/zip")
	if r.JSON()["users"].(float64) != 1 {
		t.Fatalf("stats %s", r.Body)
	}
	subs := e.Must(200, "GET", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, nil).JSON()
	if subs["totalCount"].(float64) != 1 {
		t.Fatalf("the import did not create its subscription: %v", subs)
	}
	bad := zipOf(t, map[string]string{"users.csv": "id,userPrincipalName\nu2,\n"})
	r = e.Must(400, "POST", "/allot/v1/tenants/"+id+"/import", ga, bad, "Content-Type: application/zip")
	if !strings.Contains(r.ErrorMessage(), "users.csv:2") {
		t.Fatalf("message %s", r.ErrorMessage())
	}
	e.Must(400, "POST", "/allot/v1/tenants/"+id+"/import", ga, "not a zip", "Content-Type: application/zip")
	e.Must(403, "POST", "/allot/v1/tenants/"+id+"/import", e.Token(id, "GlobalReader"), good, "Content-Type: application/zip")
	other := e.Customer("Other", "US")
	e.Must(404, "POST", "/allot/v1/tenants/"+other+"/import", ga, good, "Content-Type: application/zip")
}

// Hostile or damaged bundles posted to the import endpoint answer 400 with
// a message and change nothing: a decompression bomb, an entry that lies
// about its size, a damaged entry.
func TestImportRefusesBombsAndDamagedZips(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register)
	id := e.Customer("Contoso", "US")
	ga := e.Token(id, "GlobalAdministrator")
	var bomb strings.Builder
	bomb.WriteString("id,userPrincipalName\n")
	for bomb.Len() < 8<<20 {
		bomb.WriteString("u,a@x\n")
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("users.csv")
	w.Write([]byte(bomb.String()))
	zw.Close()
	damaged := zipOf(t, map[string]string{"users.csv": "id,userPrincipalName\nu1,a@c\n"})
	damaged = bytes.Replace(damaged, []byte("PK\x03\x04"), []byte("JUNK"), 1)
	for name, body := range map[string][]byte{"bomb": buf.Bytes(), "damaged": damaged} {
		r := e.Call("POST", "/allot/v1/tenants/"+id+"/import", ga, body, "Content-Type: application/zip")
		if r.Status != 400 || r.ErrorMessage() == "" || strings.Contains(r.ErrorMessage(), "internal") {
			t.Fatalf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	tn, _ := e.RT.Get(id)
	tn.Read(func(s *tenant.State) {
		if n := s.Engine.UserCount(); n != 0 {
			t.Fatalf("refused imports left %d users", n)
		}
	})
}
