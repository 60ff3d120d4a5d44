package positionapi_test

import (
	"context"
	"testing"
	"time"

	"allot/alert"
	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
	"allot/api/server"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// GET /allot/v1/position (tenant-wide, no options) gives its position to
// the alert rules on findings: alerts that earlier figures opened resolve
// when the computed position has no idle seat cost and no under-licensed
// user (a tenant with none); a request with other options (its window)
// does not evaluate them.
func TestPositionEvaluatesTheFindingsRules(t *testing.T) {
	var svc *alert.Service
	withAlerts := func(s *server.Server) {
		svc = alert.New(alert.Config{Store: s.Store.(store.AlertStore)})
		svc.Attach(s.RT)
		s.Alerts = svc
		mount(s)
	}
	e := apitest.New(t, partner.Register, admin.Register, withAlerts)
	id := e.Customer("Contoso", "US")
	e.Subscribe(id, "SPE_E3", 10)
	e.Must(200, "PUT", "/allot/v1/prices", e.Token(id, "GlobalAdministrator"), map[string]any{"currency": "EUR",
		"prices": []any{map[string]any{"skuPartNumber": "SPE_E3", "monthlyUnitPrice": 33.75, "term": "P1Y"}}})
	tn, _ := e.RT.Get(id)
	ctx := context.Background()
	if err := tn.Do(ctx, licensing.Op{Actor: "test", Now: time.Now()}, func(tx *tenant.Tx) error {
		if err := alert.PutEndpoint(tx, alert.Endpoint{ID: "ops", Type: alert.Webhook, URL: "http://127.0.0.1:1/", Secret: "s"}); err != nil {
			return err
		}
		if err := alert.PutRule(tx, alert.Rule{ID: "idle", Condition: alert.IdleSeatsCost, Endpoints: []string{"ops"}}); err != nil {
			return err
		}
		return alert.PutRule(tx, alert.Rule{ID: "under", Condition: alert.UnderLicensed, Endpoints: []string{"ops"}})
	}); err != nil {
		t.Fatal(err)
	}
	if err := svc.ReportPosition(ctx, tn, 1000, "EUR", 50); err != nil {
		t.Fatal(err)
	}
	open := func() int {
		states, err := e.Store.(store.AlertStore).AlertStates(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range states {
			if a.Open {
				n++
			}
		}
		return n
	}
	if n := open(); n != 2 {
		t.Fatalf("%d alerts open after the earlier figures, want 2", n)
	}
	ga := e.Token(id, "GlobalAdministrator")
	e.Must(200, "GET", "/allot/v1/position?windowDays=7", ga, nil)
	if n := open(); n != 2 {
		t.Fatalf("a position with other options evaluated the rules: %d open", n)
	}
	e.Must(200, "GET", "/allot/v1/position", ga, nil)
	if n := open(); n != 0 {
		t.Fatalf("%d alerts open after the tenant-wide position (no idle seat, nobody under-licensed)", n)
	}
}
