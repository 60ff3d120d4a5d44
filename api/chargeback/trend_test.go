package chargeback_test

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	chargebackapi "allot/api/chargeback"
	"allot/api/graph"
	"allot/api/partner"
	positionapi "allot/api/position"
	"allot/api/server"
)

// The chargeback trend: two snapshots a day apart, with a seat and a price
// change between them, give two points per group, each the cost the
// chargeback had when the snapshot was taken; a grouping no snapshot kept
// and the settings do not list is 400 until the settings list it, and the
// next snapshot keeps it (a cost center in extensionAttribute3).
func TestChargebackTrend(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := apitest.NewWithClock(t, clock, partner.Register, admin.Register, graph.Register,
		func(s *server.Server) { positionapi.Mount(s, positionapi.Options{Now: clock}) }, chargebackapi.Register)
	tn := e.Customer("Contoso", "US")
	e.Subscribe(tn, "SPE_E3", 4)
	ga := e.Token(tn, "GlobalAdministrator")
	ua := e.Token(tn, "UserAdministrator")
	price := func(p float64) {
		e.Must(200, "PUT", "/allot/v1/prices", ga, map[string]any{"currency": "EUR", "prices": []any{map[string]any{"skuPartNumber": "SPE_E3", "monthlyUnitPrice": p, "term": "P1Y"}}})
	}
	user := func(i int, dept, cc string) {
		u := map[string]any{"accountEnabled": true, "displayName": fmt.Sprintf("U%d", i), "mailNickname": fmt.Sprintf("u%d", i), "department": dept,
			"userPrincipalName": fmt.Sprintf("u%d@contoso.example", i), "usageLocation": "US", "passwordProfile": map[string]any{"password": "x"},
			"onPremisesExtensionAttributes": map[string]any{"extensionAttribute3": cc}}
		id := e.Must(201, "POST", "/v1.0/users", ga, u).JSON()["id"].(string)
		e.Must(200, "POST", "/v1.0/users/"+id+"/assignLicense", ga, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
	}
	price(10)
	user(0, "Sales", "CC-1")
	e.Must(400, "GET", "/allot/v1/chargeback/trend?by=extensionAttribute3", ga, nil)
	got := e.Must(200, "GET", "/allot/v1/chargeback/trend?by=department", ga, nil).JSON()
	if n := len(got["points"].([]any)); n != 0 {
		t.Fatalf("no snapshot yet: %d points", n)
	}
	e.Must(201, "POST", "/allot/v1/position/snapshots", ga, nil)

	mu.Lock()
	now = now.Add(24 * time.Hour)
	mu.Unlock()
	price(12)
	user(1, "Sales", "CC-2")
	user(2, "Legal", "CC-2")
	e.Must(400, "PUT", "/allot/v1/chargeback/settings", ga, map[string]any{"trendBy": []any{"department", "department"}})
	e.Must(400, "PUT", "/allot/v1/chargeback/settings", ga, map[string]any{"trendBy": []any{"a", "b", "c", "d", "e", "f"}})
	e.Must(403, "PUT", "/allot/v1/chargeback/settings", ua, map[string]any{"trendBy": []any{"department"}})
	e.Must(200, "PUT", "/allot/v1/chargeback/settings", ga, map[string]any{"trendBy": []any{"department", "extensionAttribute3"}})
	e.Must(201, "POST", "/allot/v1/position/snapshots", ga, nil)

	tr := e.Must(200, "GET", "/allot/v1/chargeback/trend?by=department", ga, nil).JSON()
	pts := tr["points"].([]any)
	if len(pts) != 2 {
		t.Fatalf("points %v", pts)
	}
	if a, b := pts[0].(map[string]any)["asOf"], pts[1].(map[string]any)["asOf"]; a != "2026-03-02" || b != "2026-03-03" {
		t.Errorf("asOf %v, %v", a, b)
	}
	// 4 units: day 1 one held (Sales) and 3 unassigned at 10; day 2 two
	// Sales, one Legal, one unassigned at 12.
	want := map[string][2]float64{"Sales": {10, 24}, "Legal": {0, 12}, "(unassigned)": {30, 12}}
	groups := map[string][]any{}
	for _, g := range tr["groups"].([]any) {
		m := g.(map[string]any)
		groups[m["key"].(string)] = m["monthlyCost"].([]any)
	}
	for k, w := range want {
		c := groups[k]
		if len(c) != 2 || math.Abs(c[0].(float64)-w[0]) > 1e-9 || math.Abs(c[1].(float64)-w[1]) > 1e-9 {
			t.Errorf("%s: %v, want %v", k, c, w)
		}
	}
	if len(groups) != len(want) {
		t.Errorf("groups %v", groups)
	}
	// The latest point is the chargeback of now.
	cb := e.Must(200, "GET", "/allot/v1/chargeback?by=department", ga, nil).JSON()
	if p := pts[1].(map[string]any)["monthlyCost"]; p != cb["monthlyCost"] {
		t.Errorf("latest point %v, chargeback %v", p, cb["monthlyCost"])
	}
	// The cost center is kept from the second snapshot on.
	cc := e.Must(200, "GET", "/allot/v1/chargeback/trend?by=extensionAttribute3", ga, nil).JSON()
	if n := len(cc["points"].([]any)); n != 1 {
		t.Errorf("cost center: %d points", n)
	}
	e.Must(403, "GET", "/allot/v1/chargeback/trend?by=department", ua, nil)
	e.Must(400, "GET", "/allot/v1/chargeback/trend", ga, nil)
	e.Must(400, "GET", "/allot/v1/chargeback/trend?by=department&x=1", ga, nil)
	s := e.Must(200, "GET", "/allot/v1/chargeback/settings", ga, nil).JSON()
	if fmt.Sprint(s["trendBy"]) != "[department extensionAttribute3]" {
		t.Errorf("settings %v", s)
	}
}
