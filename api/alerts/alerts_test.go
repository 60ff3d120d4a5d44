package alerts_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"allot/alert"
	"allot/api/admin"
	alertsapi "allot/api/alerts"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/graph"
	"allot/api/partner"
	"allot/api/server"
	"allot/store"
)

// mount registers the alerts API with a service over the server's store
// (its loops not started: tests deliver with DeliverDue).
func mount(s *server.Server) {
	svc := alert.New(alert.Config{Store: s.Store.(store.AlertStore)})
	svc.Attach(s.RT)
	s.Alerts = svc
	alertsapi.Register(s)
}

func TestRulesAndEndpointsAPI(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register, mount)
	tn := e.Customer("Contoso", "US")
	e.Subscribe(tn, "ENTERPRISEPACK", 3)
	ga := e.Token(tn, "GlobalAdministrator")
	la := e.Token(tn, "LicenseAdministrator")
	rr := e.Token(tn, "ReportsReader")
	ua := e.Token(tn, "UserAdministrator")

	var hits atomic.Int32
	var lastSig, lastTS string
	var lastBody []byte
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		lastSig, lastTS = r.Header.Get(alert.HeaderSignature), r.Header.Get(alert.HeaderTimestamp)
		lastBody = make([]byte, r.ContentLength)
		_, _ = r.Body.Read(lastBody)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer rcv.Close()

	// Endpoints: a new webhook gets a secret, shown once.
	r := e.Must(201, "POST", "/allot/v1/alerts/endpoints", la, map[string]any{"id": "ops", "displayName": "Ops", "type": "webhook", "url": rcv.URL})
	secret, _ := r.JSON()["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("created endpoint: %s", r.Body)
	}
	r = e.Must(200, "GET", "/allot/v1/alerts/endpoints/ops", rr, nil)
	if _, shown := r.JSON()["secret"]; shown || r.JSON()["hasSecret"] != true {
		t.Errorf("GET shows the secret or not its presence: %s", r.Body)
	}
	e.Must(409, "POST", "/allot/v1/alerts/endpoints", la, map[string]any{"id": "ops", "type": "webhook", "url": rcv.URL})
	// PUT keeps the secret when none is sent.
	e.Must(200, "PUT", "/allot/v1/alerts/endpoints/ops", la, map[string]any{"displayName": "Operations", "type": "webhook", "url": rcv.URL})
	e.Must(201, "PUT", "/allot/v1/alerts/endpoints/mail", ga, map[string]any{"type": "email", "to": []string{"it@contoso.example"}})
	e.Must(201, "POST", "/allot/v1/alerts/endpoints", ga, map[string]any{"id": "chat", "type": "teams", "url": "https://contoso.example/teams"})

	// Roles: readers read, only Global and License Administrators change.
	e.Must(403, "POST", "/allot/v1/alerts/endpoints", ua, map[string]any{"id": "x", "type": "webhook", "url": rcv.URL})
	e.Must(403, "POST", "/allot/v1/alerts/rules", rr, map[string]any{"id": "x", "condition": "allotmentFull", "endpoints": []string{"ops"}})
	e.Must(200, "GET", "/allot/v1/alerts/rules", ua, nil)

	// Rules: validation and references.
	bad := []map[string]any{
		{"id": "r", "condition": "nope", "endpoints": []string{"ops"}},
		{"id": "r", "condition": "licenseErrors", "endpoints": []string{}},
		{"id": "r", "condition": "licenseErrors", "endpoints": []string{"missing"}},
		{"id": "r", "condition": "licenseErrors", "errors": []string{"Bogus"}, "endpoints": []string{"ops"}},
		{"id": "r", "condition": "licenseErrors", "hours": 3, "endpoints": []string{"ops"}},
		{"id": "r", "condition": "freeSeatsLow", "endpoints": []string{"ops"}},
		{"id": "r", "condition": "freeSeatsLow", "threshold": 2, "thresholdPercent": 10, "endpoints": []string{"ops"}},
		{"id": "r", "condition": "freeSeatsLow", "skuId": "SPE_E5", "threshold": 2, "endpoints": []string{"ops"}},
		{"id": "r", "condition": "subscriptionEnding", "endpoints": []string{"ops"}},
		{"id": "r", "condition": "licenseErrors", "groupId": "nogroup", "endpoints": []string{"ops"}},
		{"id": "bad id!", "condition": "licenseErrors", "endpoints": []string{"ops"}},
		{"id": "r", "condition": "licenseErrors", "endpoints": []string{"ops"}, "extra": 1},
		{"id": "r", "condition": "licenseErrors", "repeatMinutes": 1, "endpoints": []string{"ops"}},
	}
	for _, b := range bad {
		if got := e.Call("POST", "/allot/v1/alerts/rules", la, b); got.Status != 400 {
			t.Errorf("%v: status %d: %s", b, got.Status, got.Body)
		}
	}
	rule := map[string]any{"id": "errs", "displayName": "Errors", "condition": "licenseErrors",
		"errors": []string{"DependencyViolation", "MutuallyExclusiveViolation"}, "endpoints": []string{"ops", "mail"}, "quietMinutes": 10}
	e.Must(201, "POST", "/allot/v1/alerts/rules", la, rule)
	e.Must(409, "POST", "/allot/v1/alerts/rules", la, rule)
	rule["displayName"] = "Errors (renamed)"
	e.Must(200, "PUT", "/allot/v1/alerts/rules/errs", la, rule)
	e.Must(400, "PUT", "/allot/v1/alerts/rules/other", la, rule) // ids differ
	r = e.Must(200, "GET", "/allot/v1/alerts/rules/errs", rr, nil)
	if r.JSON()["displayName"] != "Errors (renamed)" {
		t.Errorf("rule: %s", r.Body)
	}
	e.Must(201, "PUT", "/allot/v1/alerts/rules/full", la, map[string]any{"condition": "freeSeatsLow", "skuId": "ENTERPRISEPACK", "thresholdPercent": 50, "endpoints": []string{"chat"}})
	if n := len(e.Must(200, "GET", "/allot/v1/alerts/rules", rr, nil).JSON()["value"].([]any)); n != 2 {
		t.Errorf("%d rules", n)
	}
	e.Must(409, "DELETE", "/allot/v1/alerts/endpoints/ops", la, nil) // a rule sends to it
	e.Must(204, "DELETE", "/allot/v1/alerts/rules/full", la, nil)
	e.Must(404, "DELETE", "/allot/v1/alerts/rules/full", la, nil)
	e.Must(204, "DELETE", "/allot/v1/alerts/endpoints/chat", la, nil)

	// The test button: queued, delivered signed, logged.
	e.Must(202, "POST", "/allot/v1/alerts/endpoints/ops/test", la, nil)
	e.Must(404, "POST", "/allot/v1/alerts/endpoints/nope/test", la, nil)
	if _, err := e.Server.Alerts.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 1 {
		t.Fatalf("%d deliveries", hits.Load())
	}
	if err := alert.Verify(secret, lastTS, lastSig, lastBody, timeNow(), fiveMinutes); err != nil {
		t.Errorf("the test delivery does not verify with the secret shown at creation: %v", err)
	}
	r = e.Must(200, "GET", "/allot/v1/alerts/endpoints/ops/deliveries", rr, nil)
	log := r.JSON()["value"].([]any)
	if len(log) != 1 || log[0].(map[string]any)["succeeded"] != true || log[0].(map[string]any)["httpStatus"] != float64(202) {
		t.Errorf("delivery log: %s", r.Body)
	}
	e.Must(400, "GET", "/allot/v1/alerts/endpoints/ops/deliveries?$top=0", rr, nil)
	e.Must(400, "GET", "/allot/v1/alerts/jobs?state=lost", rr, nil)
	r = e.Must(200, "GET", "/allot/v1/alerts/jobs?state=done", rr, nil)
	if n := len(r.JSON()["value"].([]any)); n != 1 {
		t.Errorf("%d done jobs: %s", n, r.Body)
	}
	e.Must(404, "POST", "/allot/v1/alerts/jobs/nope/retry", la, nil)
	e.Must(200, "GET", "/allot/v1/alerts", rr, nil)
}

// FuzzAlertsAPI: the alerts surface keeps apitest's invariants (no 5xx, a
// 4xx changes nothing) for any rule or endpoint body.
func FuzzAlertsAPI(fz *testing.F) {
	w := apitest.NewFuzz(fz, partner.Register, admin.Register, cloudlicensing.Register, graph.Register, mount)
	seeds := []apitest.Seed{
		{Method: "POST", Path: "/allot/v1/alerts/endpoints", Body: `{"id":"ops","type":"webhook","url":"http://127.0.0.1:1/hook","secret":"s"}`},
		{Method: "PUT", Path: "/allot/v1/alerts/endpoints/mail", Body: `{"type":"email","to":["it@contoso.example"]}`},
		{Method: "POST", Path: "/allot/v1/alerts/rules", Body: `{"id":"r1","condition":"licenseErrors","groupId":"{group0}","errors":["CountViolation"],"threshold":2,"endpoints":["ops"]}`},
		{Method: "PUT", Path: "/allot/v1/alerts/rules/r2", Body: `{"condition":"waitingTooLong","allotmentId":"{allotment}","hours":4,"endpoints":["ops"],"repeatMinutes":60,"maxRepeats":3}`},
		{Method: "PUT", Path: "/allot/v1/alerts/rules/r3", Body: `{"condition":"freeSeatsLow","skuId":"SPE_E3","thresholdPercent":10.5,"endpoints":["ops"]}`},
		{Method: "PUT", Path: "/allot/v1/alerts/rules/r4", Body: `{"condition":"subscriptionRenewing","days":30,"endpoints":["ops"]}`},
		{Method: "GET", Path: "/allot/v1/alerts/rules"},
		{Method: "DELETE", Path: "/allot/v1/alerts/rules/r1"},
		{Method: "POST", Path: "/allot/v1/alerts/endpoints/ops/test"},
		{Method: "GET", Path: "/allot/v1/alerts/endpoints/ops/deliveries?$top=5"},
		{Method: "GET", Path: "/allot/v1/alerts/jobs?state=dead"},
		{Method: "GET", Path: "/allot/v1/alerts"},
		{Method: "POST", Path: "/allot/v1/reports/schedules", Body: `{"id":"w","report":"position","format":"csv","frequency":"weekly","weekday":"monday","at":"07:30","timeZone":"Europe/Berlin","to":["a@contoso.example"]}`},
		{Method: "PUT", Path: "/allot/v1/reports/schedules/m", Body: `{"report":"chargeback","format":"csv","by":"department","frequency":"monthly","day":28,"at":"23:59","to":["a@contoso.example"]}`},
		{Method: "DELETE", Path: "/allot/v1/reports/schedules/w"},
	}
	w.Surface(fz, []string{"/allot/v1/alerts", "/allot/v1/reports"}, seeds, nil)
}

var timeNow = time.Now

const fiveMinutes = 5 * time.Minute

func TestReportSchedulesAPI(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register, mount)
	tn := e.Customer("Contoso", "US")
	la := e.Token(tn, "LicenseAdministrator")
	rr := e.Token(tn, "ReportsReader")
	body := map[string]any{"id": "weekly", "report": "position", "format": "html", "frequency": "weekly", "weekday": "monday",
		"at": "07:30", "timeZone": "Europe/Berlin", "to": []string{"cfo@contoso.example"}}
	r := e.Must(201, "POST", "/allot/v1/reports/schedules", la, body)
	if r.JSON()["createdDateTime"] == nil {
		t.Errorf("created: %s", r.Body)
	}
	e.Must(409, "POST", "/allot/v1/reports/schedules", la, body)
	e.Must(403, "POST", "/allot/v1/reports/schedules", rr, body)
	e.Must(200, "GET", "/allot/v1/reports/schedules/weekly", rr, nil)
	body["timeZone"] = "Nowhere/Else"
	e.Must(400, "PUT", "/allot/v1/reports/schedules/weekly", la, body)
	body["timeZone"] = "UTC"
	e.Must(200, "PUT", "/allot/v1/reports/schedules/weekly", la, body)
	if v := e.Must(200, "GET", "/allot/v1/reports/schedules", rr, nil).JSON()["value"].([]any); len(v) != 1 || v[0].(map[string]any)["timeZone"] != "UTC" {
		t.Errorf("list: %v", v)
	}
	e.Must(204, "DELETE", "/allot/v1/reports/schedules/weekly", la, nil)
	e.Must(404, "GET", "/allot/v1/reports/schedules/weekly", rr, nil)
}
