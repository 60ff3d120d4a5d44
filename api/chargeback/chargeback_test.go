package chargeback_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	chargebackapi "allot/api/chargeback"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	"allot/api/partner"
	positionapi "allot/api/position"
	"allot/userprop"
)

const e3 = "05e9a617-0261-4cee-bb44-138d3ef5d965" // SPE_E3

// The chargeback per department adds up to the position's owned cost, each
// held seat charged to its holder's department at the price list's price.
func TestChargebackByDepartment(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register, graph.Register, positionapi.Register, chargebackapi.Register)
	tn := e.Customer("Contoso", "US")
	e.Subscribe(tn, "SPE_E3", 10)
	ga := e.Token(tn, "GlobalAdministrator")
	ua := e.Token(tn, "UserAdministrator")
	e.Must(400, "GET", "/allot/v1/chargeback?by=department", ga, nil) // no price list yet
	e.Must(200, "PUT", "/allot/v1/prices", ga, map[string]any{"currency": "EUR", "prices": []any{map[string]any{"skuPartNumber": "SPE_E3", "monthlyUnitPrice": 33.75, "term": "P1Y"}}})
	depts := []string{"Sales", "Sales", "Legal", ""}
	for i, d := range depts {
		u := map[string]any{"accountEnabled": true, "displayName": fmt.Sprintf("U%d", i), "mailNickname": fmt.Sprintf("u%d", i),
			"userPrincipalName": fmt.Sprintf("u%d@contoso.example", i), "usageLocation": "US", "passwordProfile": map[string]any{"password": "x"}}
		if d != "" {
			u["department"] = d
		}
		id := e.Must(201, "POST", "/v1.0/users", ga, u).JSON()["id"].(string)
		e.Must(200, "POST", "/v1.0/users/"+id+"/assignLicense", ga, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
	}
	r := e.Must(200, "GET", "/allot/v1/chargeback?by=department", ga, nil).JSON()
	rows := map[string]float64{}
	for _, x := range r["rows"].([]any) {
		row := x.(map[string]any)
		rows[row["key"].(string)] = row["monthlyCost"].(float64)
	}
	want := map[string]float64{"Sales": 67.5, "Legal": 33.75, "(none)": 33.75, "(unassigned)": 6 * 33.75}
	for k, v := range want {
		if math.Abs(rows[k]-v) > 0.001 {
			t.Errorf("%s: %v, want %v (rows %v)", k, rows[k], v, rows)
		}
	}
	if len(rows) != len(want) || r["currency"] != "EUR" {
		t.Errorf("rows %v, currency %v", rows, r["currency"])
	}
	// The same total as the position's owned cost.
	pos := e.Must(200, "GET", "/allot/v1/position", ga, nil).JSON()
	owned := pos["totals"].(map[string]any)["monthlyCost"].(float64)
	if math.Abs(r["monthlyCost"].(float64)-owned) > 0.001 {
		t.Errorf("chargeback total %v, position's owned cost %v", r["monthlyCost"], owned)
	}
	csv := e.Must(200, "GET", "/allot/v1/chargeback.csv?by=department", ga, nil)
	if !strings.Contains(string(csv.Body), "Sales,SPE_E3,"+e3+",2,33.75,67.50,EUR") || !strings.Contains(string(csv.Body), "(total),,,,,337.50,EUR") {
		t.Errorf("csv:\n%s", csv.Body)
	}
	e.Must(400, "GET", "/allot/v1/chargeback", ga, nil)
	e.Must(400, "GET", "/allot/v1/chargeback?by=department&x=1", ga, nil)
	e.Must(400, "GET", "/allot/v1/chargeback?by=a,b", ga, nil)
	e.Must(403, "GET", "/allot/v1/chargeback?by=department", ua, nil)
	r = e.Must(200, "GET", "/allot/v1/chargeback?by=extensionAttribute3", ga, nil).JSON()
	if n := len(r["rows"].([]any)); n != 2 { // (none) and (unassigned)
		t.Errorf("by an unset attribute: %d rows", n)
	}
}

// FuzzChargeback: the chargeback surface keeps apitest's invariants.
func FuzzChargeback(fz *testing.F) {
	w := apitest.NewFuzz(fz, partner.Register, admin.Register, cloudlicensing.Register, graph.Register, positionapi.Register, chargebackapi.Register)
	seeds := []apitest.Seed{
		{Method: "PUT", Path: "/allot/v1/prices", Body: `{"currency":"USD","prices":[{"skuPartNumber":"SPE_E3","monthlyUnitPrice":36,"term":"P1Y"}]}`},
		{Method: "GET", Path: "/allot/v1/chargeback?by=department"},
		{Method: "GET", Path: "/allot/v1/chargeback.csv?by=allotment"},
		{Method: "GET", Path: "/allot/v1/chargeback?by=extensionAttribute1"},
	}
	w.Surface(fz, []string{"/allot/v1/chargeback"}, seeds, nil)
}

// A chargeback may group by every String property of the user-property
// registry (package userprop), read where the directory keeps it: the
// user's own field (employeeId, userType, …) or an attribute
// (mailNickname, state, …).
func TestChargebackGroupsByEveryRegistryProperty(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register, graph.Register, positionapi.Register, chargebackapi.Register)
	tn := e.Customer("Contoso", "US")
	e.Subscribe(tn, "SPE_E3", 1)
	ga := e.Token(tn, "GlobalAdministrator")
	e.Must(200, "PUT", "/allot/v1/prices", ga, map[string]any{"currency": "EUR", "prices": []any{map[string]any{"skuPartNumber": "SPE_E3", "monthlyUnitPrice": 10, "term": "P1Y"}}})
	u := map[string]any{"accountEnabled": true, "passwordProfile": map[string]any{"password": "x"}}
	want := map[string]string{}
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if p.Type != userprop.String || p.ReadOnly {
			continue
		}
		v := map[string]string{"userPrincipalName": "cb@contoso.example", "usageLocation": "DE", "userType": "Guest", "kind": "room",
			"mail": "cb.mail@contoso.example"}[p.Name]
		if v == "" {
			v = "c-" + p.Name
		}
		u[p.Name], want[p.Name] = v, v
	}
	id := e.Must(201, "POST", "/v1.0/users", ga, u).JSON()["id"].(string)
	e.Must(200, "POST", "/v1.0/users/"+id+"/assignLicense", ga, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
	if len(want) < 15 {
		t.Fatalf("only %d registry properties", len(want))
	}
	for name, v := range want {
		r := e.Must(200, "GET", "/allot/v1/chargeback?by="+name, ga, nil).JSON()
		var keys []string
		for _, x := range r["rows"].([]any) {
			keys = append(keys, x.(map[string]any)["key"].(string))
		}
		if len(keys) != 1 || keys[0] != v {
			t.Errorf("by=%s: rows %v, want [%s]", name, keys, v)
		}
	}
}
