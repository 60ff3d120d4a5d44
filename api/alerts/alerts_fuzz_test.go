package alerts_test

import (
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	"allot/api/partner"
)

// FuzzAlerts: /allot/v1/alerts and /allot/v1/reports keep the invariants
// of apitest.Fuzz.Check (no 5xx, no panic, a 4xx changes nothing).
// Endpoints point at a port that does not answer.
func FuzzAlerts(fz *testing.F) {
	w := apitest.NewFuzz(fz, partner.Register, admin.Register, cloudlicensing.Register, graph.Register, mount)
	seeds := []apitest.Seed{
		{Method: "POST", Path: "/allot/v1/alerts/endpoints", Body: `{"id":"ops","type":"webhook","url":"http://127.0.0.1:9/h"}`},
		{Method: "PUT", Path: "/allot/v1/alerts/endpoints/mail", Body: `{"type":"email","to":["a@contoso.example"]}`},
		{Method: "POST", Path: "/allot/v1/alerts/rules", Body: `{"id":"r","condition":"licenseErrors","errors":["CountViolation"],"endpoints":["ops"]}`},
		{Method: "GET", Path: "/allot/v1/alerts/jobs?state=dead&$top=5"},
		{Method: "POST", Path: "/allot/v1/alerts/jobs/x/retry"},
		{Method: "GET", Path: "/allot/v1/alerts/endpoints/ops/deliveries"},
		{Method: "POST", Path: "/allot/v1/reports/schedules", Body: `{"id":"w","report":"position","format":"csv","frequency":"weekly","weekday":"monday","at":"07:30","timeZone":"Europe/Berlin","to":["a@contoso.example"]}`},
		{Method: "PUT", Path: "/allot/v1/reports/schedules/m", Body: `{"report":"chargeback","format":"csv","by":"department","frequency":"monthly","day":28,"at":"23:59","to":["a@contoso.example"]}`},
		{Method: "DELETE", Path: "/allot/v1/reports/schedules/w"},
	}
	w.Surface(fz, []string{"/allot/v1/alerts", "/allot/v1/reports"}, seeds, nil)
}
