package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"allot/alert"
	"allot/auth"
	"allot/store"
)

// The alerts page: an administrator adds a webhook endpoint (its secret
// shown once), a rule, sends a test that shows in the delivery log; a
// reader sees the page without forms and cannot post.
func TestAlertsPage(t *testing.T) {
	env, info := demoEnv(t, 200)
	svc := alert.New(alert.Config{Store: env.Store.(store.AlertStore)})
	svc.Attach(env.RT)
	env.Server.Alerts = svc
	var hits atomic.Int32
	var sig, ts string
	var body []byte
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		sig, ts = r.Header.Get(alert.HeaderSignature), r.Header.Get(alert.HeaderTimestamp)
		body = make([]byte, r.ContentLength)
		_, _ = r.Body.Read(body)
	}))
	defer rcv.Close()

	c := newClient(t, env)
	c.signIn(info.AdminToken)
	r := c.get("/admin/alerts")
	mustContain(t, r, "<h1>Alerts</h1>", "No endpoints yet", `action="/admin/alerts/endpoints"`)
	r = c.form("/admin/alerts", "/admin/alerts/endpoints", url.Values{"id": {"ops"}, "type": {"webhook"}, "url": {rcv.URL}})
	mustContain(t, r, "Signing secret of ops", "not shown again")
	secret := regexp.MustCompile(`<code>(whsec_[A-Za-z0-9_-]+)</code>`).FindStringSubmatch(r.Body)
	if secret == nil {
		t.Fatalf("no secret on the page:\n%s", r.Body)
	}
	if r = c.get("/admin/alerts"); strings.Contains(r.Body, secret[1]) {
		t.Fatal("the secret is shown again")
	}
	r = c.form("/admin/alerts", "/admin/alerts/rules", url.Values{"id": {"waiting"}, "condition": {"waitingTooLong"}, "hours": {"x"}, "endpoint": {"ops"}})
	mustContain(t, r, "hours must be a number")
	r = c.form("/admin/alerts", "/admin/alerts/rules", url.Values{"id": {"waiting"}, "displayName": {"Waiting over a day"}, "condition": {"waitingTooLong"},
		"hours": {"24"}, "endpoint": {"ops"}})
	mustContain(t, r, "Alert rule waiting added", "Waiting over a day")
	r = c.form("/admin/alerts", "/admin/alerts/endpoints/ops/test", url.Values{})
	mustContain(t, r, "A test notification is queued")
	if _, err := svc.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 1 || alert.Verify(secret[1], ts, sig, body, time.Now(), time.Minute) != nil {
		t.Fatalf("%d deliveries; the test does not verify with the secret shown", hits.Load())
	}
	mustContain(t, c.get("/admin/alerts"), "Delivered")

	rd := newClientSignedIn(t, env, tenantToken(t, env, auth.RoleReportsReader))
	r = rd.get("/admin/alerts")
	if r.Status != http.StatusOK || strings.Contains(r.Body, `action="/admin/alerts/rules"`) {
		t.Fatalf("reader: %d, forms shown: %v", r.Status, strings.Contains(r.Body, `action="/admin/alerts/rules"`))
	}
	if p := rd.form("/admin/alerts", "/admin/alerts/rules/waiting/delete", url.Values{}); p.Status != http.StatusForbidden {
		t.Fatalf("reader POST = %d", p.Status)
	}
	r = c.form("/admin/alerts", "/admin/alerts/rules/waiting/delete", url.Values{})
	mustContain(t, r, "Alert rule waiting deleted")
}
