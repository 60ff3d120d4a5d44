package admin_test

import (
	"strings"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
	"allot/tenant"
)

// TestImportRefusesWhatTheAPIRefuses: a bundle goes through the same
// directory rules as the Graph API, names the file and line, and changes
// nothing.
func TestImportRefusesWhatTheAPIRefuses(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register)
	id := e.Customer("Contoso", "US")
	ga := e.Token(id, "GlobalAdministrator")
	sub := "skuPartNumber,quantity\nSPE_E3,5\n"
	cases := map[string]struct {
		files map[string]string
		want  string
	}{
		"not an upn":        {map[string]string{"users.csv": "id,userPrincipalName\nu1,not-an-upn\n"}, "users.csv:2: Property userPrincipalName is invalid"},
		"space in upn":      {map[string]string{"users.csv": "id,userPrincipalName\nu1,ok@contoso.example\nu2,john smith@contoso.example\n"}, "users.csv:3: Property userPrincipalName is invalid"},
		"emoji upn":         {map[string]string{"users.csv": "id,userPrincipalName\nu1,😀@contoso.example\n"}, "users.csv:2: Property userPrincipalName is invalid"},
		"foreign domain":    {map[string]string{"users.csv": "id,userPrincipalName\nu1,a@fabrikam.example\n"}, "users.csv:2: The domain portion"},
		"huge displayName":  {map[string]string{"users.csv": "id,userPrincipalName,displayName\nu1,a@contoso.example," + strings.Repeat("x", 900<<10) + "\n"}, "users.csv:2: Invalid value specified for property 'displayName'"},
		"usage location XX": {map[string]string{"users.csv": "id,userPrincipalName,usageLocation\nu1,a@contoso.example,XX\n"}, "users.csv:2: Invalid value specified for property 'usageLocation'"},
		"long group name":   {map[string]string{"groups.csv": "id,displayName\ng1," + strings.Repeat("g", 257) + "\n"}, "groups.csv:2: Invalid value specified for property 'displayName'"},
		"long allotment":    {map[string]string{"subscriptions.csv": sub, "allotments.csv": "id,displayName,skuPartNumber,allottedUnits\na1," + strings.Repeat("a", 5000) + ",SPE_E3,1\n"}, "allotments.csv:2: Invalid value specified for property 'displayName'"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.Call("POST", "/allot/v1/tenants/"+id+"/import", ga, zipOf(t, c.files), "Content-Type: application/zip")
			if r.Status == 413 && strings.HasPrefix(name, "huge") {
				return // a size limit may refuse it before the rules do
			}
			if r.Status != 400 || !strings.Contains(r.ErrorMessage(), c.want) {
				t.Fatalf("message %.300s, want %q", r.ErrorMessage(), c.want)
			}
		})
	}
	if subs := e.Must(200, "GET", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, nil).JSON(); subs["totalCount"] != float64(0) {
		t.Fatalf("a refused import bought units: %v", subs)
	}
	e.Must(200, "POST", "/allot/v1/tenants/"+id+"/import", ga, zipOf(t, map[string]string{
		"users.csv": "id,userPrincipalName,displayName\nu1,a@contoso.example,Jos\u0065\u0301\n"}), "Content-Type: application/zip")
	tn, _ := e.RT.Get(id)
	tn.Read(func(s *tenant.State) {
		if u, _ := s.Engine.User("u1"); u.DisplayName != "Jos\u00e9" {
			t.Fatalf("imported displayName %q is not NFC", u.DisplayName)
		}
	})
}

func TestTokenDisplayNameIsBounded(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register)
	id := e.Customer("Contoso", "US")
	e.Must(400, "POST", "/allot/v1/tenants/"+id+"/tokens", apitest.PartnerToken,
		map[string]any{"displayName": strings.Repeat("t", 5000), "roles": []string{"GlobalReader"}})
	e.Must(201, "POST", "/allot/v1/tenants/"+id+"/tokens", apitest.PartnerToken,
		map[string]any{"displayName": strings.Repeat("t", 256), "roles": []string{"GlobalReader"}})
}
