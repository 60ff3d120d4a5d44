package graphsub_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"allot/alert"
	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/graph"
	graphsubapi "allot/api/graphsub"
	"allot/api/partner"
	"allot/api/server"
	"allot/graphsub"
	"allot/internal/testclock"
	"allot/licensing"
	"allot/store"
)

// clock is the tests' settable clock.
type clock = testclock.Clock

// receiver is a local notification endpoint: it answers the validation
// handshake as told and records the notifications it receives.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	validate  string // "ok", "status" (500), "wrong" (another body), "slow"
	validated int
	got       []graphsub.Collection
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{validate: "ok"}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		mode := rc.validate
		rc.mu.Unlock()
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			rc.mu.Lock()
			rc.validated++
			rc.mu.Unlock()
			switch mode {
			case "status":
				w.WriteHeader(http.StatusInternalServerError)
			case "wrong":
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, "not the token")
			default:
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				io.WriteString(w, tok)
			}
			return
		}
		var c graphsub.Collection
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.got = append(rc.got, c)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) set(mode string) { rc.mu.Lock(); rc.validate = mode; rc.mu.Unlock() }

func (rc *receiver) take() []graphsub.Notification {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []graphsub.Notification
	for _, c := range rc.got {
		out = append(out, c.Value...)
	}
	rc.got = nil
	return out
}

type fixture struct {
	*apitest.Env
	clk    *clock
	alerts *alert.Service
	n      *graphsub.Notifier
	tenant string
	admin  string
}

func newFixture(t *testing.T) *fixture {
	clk := testclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	f := &fixture{clk: clk}
	var hook atomic.Pointer[graphsub.Notifier]
	mount := func(s *server.Server) {
		f.alerts = alert.New(alert.Config{Store: s.Store.(store.AlertStore), Now: clk.Now})
		f.n = graphsub.New(graphsub.Config{Alerts: f.alerts, Now: clk.Now})
		f.alerts.Attach(s.RT)
		f.n.Attach(s.RT)
		hook.Store(f.n)
		s.Alerts = f.alerts
		graphsubapi.Register(s)
	}
	after := func(id string, d *licensing.Delta, o []store.Mutation) {
		if n := hook.Load(); n != nil {
			n.AfterCommit(id, d, o)
		}
	}
	f.Env = apitest.NewWith(t, apitest.Options{Now: clk.Now, AfterCommit: after}, partner.Register, admin.Register, graph.Register, mount)
	f.tenant = f.Customer("Contoso", "US")
	f.admin = f.Token(f.tenant, "GlobalAdministrator")
	return f
}

// flush queues what the commits left and delivers the due jobs.
func (f *fixture) flush() {
	f.n.RunPending(context.Background())
	f.n.Sweep(context.Background())
	if _, err := f.alerts.DeliverDue(context.Background()); err != nil {
		f.T.Fatal(err)
	}
}

func (f *fixture) user(upn string) string {
	body := map[string]any{"accountEnabled": true, "displayName": upn, "mailNickname": strings.Split(upn, "@")[0],
		"userPrincipalName": upn, "usageLocation": "US", "passwordProfile": map[string]any{"password": "x"}}
	return f.Must(201, "POST", "/v1.0/users", f.admin, body).JSON()["id"].(string)
}

func wantError(t *testing.T, r apitest.Response, status int, code, msg string) {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code || !strings.Contains(r.ErrorMessage(), msg) {
		t.Errorf("want %d %s %q, got %d %s", status, code, msg, r.Status, r.Body)
	}
}

func TestSubscriptionHandshakeAndNotifications(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t)
	exp := f.clk.Now().Add(24 * time.Hour).Format(time.RFC3339)
	body := map[string]any{"changeType": "updated,deleted", "notificationUrl": rc.URL + "/notify", "lifecycleNotificationUrl": rc.URL + "/lifecycle",
		"resource": "/users", "expirationDateTime": exp, "clientState": "secret-state"}
	id := handshake(t, f, rc, body)
	graphsChecks(t, f, body)
	createdAndDeletedNotified(t, f, rc, id)
	renewalAndLifecycle(t, f, rc, id)

	// Expired: no notification, and the subscription is gone.
	f.clk.Add(time.Hour)
	f.user("bob@contoso.example")
	f.flush()
	if got := rc.take(); len(got) != 0 {
		t.Errorf("an expired subscription was notified: %+v", got)
	}
	f.Must(404, "GET", "/v1.0/subscriptions/"+id, f.admin, nil)
	f.Must(404, "DELETE", "/v1.0/subscriptions/"+id, f.admin, nil)
}

// handshake: a failing endpoint refuses the subscription, and nothing is
// stored; an answering one gets it created. It returns its id.
func handshake(t *testing.T, f *fixture, rc *receiver, body map[string]any) string {
	rc.set("status")
	wantError(t, f.Call("POST", "/v1.0/subscriptions", f.admin, body), 400, "ValidationError",
		"Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.")
	rc.set("wrong")
	wantError(t, f.Call("POST", "/v1.0/subscriptions", f.admin, body), 400, "InvalidRequest",
		"Subscription validation request failed. Response must exactly match validationToken query parameter.")
	if v := f.Must(200, "GET", "/v1.0/subscriptions", f.admin, nil).JSON()["value"].([]any); len(v) != 0 {
		t.Fatalf("a refused subscription is listed: %v", v)
	}
	rc.set("ok")
	r := f.Must(201, "POST", "/v1.0/subscriptions", f.admin, body)
	sub := r.JSON()
	id, _ := sub["id"].(string)
	if id == "" || sub["clientState"] != "secret-state" || sub["resource"] != "/users" || sub["applicationId"] != nil {
		t.Fatalf("created: %s", r.Body)
	}
	f.Must(200, "GET", "/v1.0/subscriptions/"+id, f.admin, nil)
	return id
}

// graphsChecks: Graph's checks of a subscription body, each a change of
// body.
func graphsChecks(t *testing.T, f *fixture, body map[string]any) {
	for _, c := range []struct {
		change    map[string]any
		code, msg string
	}{
		{map[string]any{"expirationDateTime": f.clk.Now().Add(-time.Minute).Format(time.RFC3339)}, "ExtensionError", "in the future"},
		{map[string]any{"expirationDateTime": f.clk.Now().Add(41761 * time.Minute).Format(time.RFC3339)}, "ExtensionError", "Subscription expiration can only be 41760 minutes in the future."},
		{map[string]any{"expirationDateTime": nil}, "InvalidRequest", "expirationDateTime is a required property for subscription creation."},
		{map[string]any{"changeType": "updated,renamed"}, "InvalidRequest", "changeType"},
		{map[string]any{"resource": "me/messages"}, "InvalidRequest", "Resource"},
		{map[string]any{"clientState": strings.Repeat("x", 129)}, "InvalidRequest", "clientState"},
		{map[string]any{"notificationUrl": "http://webhook.contoso.example/x"}, "InvalidRequest", "HTTPS"},
		{map[string]any{"includeResourceData": true}, "InvalidRequest", "includeResourceData"},
	} {
		b := map[string]any{}
		for k, v := range body {
			b[k] = v
		}
		for k, v := range c.change {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		wantError(t, f.Call("POST", "/v1.0/subscriptions", f.admin, b), 400, c.code, c.msg)
	}
	wantError(t, f.Call("POST", "/v1.0/subscriptions", f.admin, map[string]any{"resource": "users", "bogus": 1}), 400, "Request_BadRequest", "bogus")
}

// createdAndDeletedNotified: a user created is one notification, with the
// clientState; deleted (soft: to deleted items) is "updated", deleted for
// good "deleted".
func createdAndDeletedNotified(t *testing.T, f *fixture, rc *receiver, id string) {
	uid := f.user("ann@contoso.example")
	f.flush()
	got := rc.take()
	if len(got) != 1 {
		t.Fatalf("want 1 notification, got %+v", got)
	}
	n := got[0]
	if n.SubscriptionID != id || n.ChangeType != "updated" || n.ClientState == nil || *n.ClientState != "secret-state" ||
		n.Resource != "Users/"+uid || n.ResourceData == nil || n.ResourceData.ID != uid || n.ResourceData.ODataType != "#Microsoft.Graph.User" ||
		n.ResourceData.ODataID != "Users/"+uid || n.TenantID != f.tenant || !n.SubscriptionExpirationDateTime.Equal(f.clk.Now().Add(24*time.Hour)) {
		t.Errorf("notification: %+v %+v", n, n.ResourceData)
	}
	// Deleted (soft: to deleted items) is "updated"; deleted for good, "deleted".
	f.Must(204, "DELETE", "/v1.0/users/"+uid, f.admin, nil)
	f.flush()
	if got := rc.take(); len(got) != 1 || got[0].ChangeType != "updated" {
		t.Errorf("soft delete: %+v", got)
	}
	f.Must(204, "DELETE", "/v1.0/directory/deletedItems/"+uid, f.admin, nil)
	f.flush()
	if got := rc.take(); len(got) != 1 || got[0].ChangeType != "deleted" || got[0].ResourceData.ID != uid {
		t.Errorf("permanent delete: %+v", got)
	}
}

// renewalAndLifecycle: renewal (PATCH) moves the expiration; within an
// hour of it a reauthorizationRequired goes to the lifecycle URL, once.
func renewalAndLifecycle(t *testing.T, f *fixture, rc *receiver, id string) {
	newExp := f.clk.Now().Add(48 * time.Hour).Truncate(time.Second)
	r := f.Must(200, "PATCH", "/v1.0/subscriptions/"+id, f.admin, map[string]any{"expirationDateTime": newExp.Format(time.RFC3339)})
	if r.JSON()["expirationDateTime"] != newExp.Format(time.RFC3339) {
		t.Errorf("renewed: %s", r.Body)
	}
	wantError(t, f.Call("PATCH", "/v1.0/subscriptions/"+id, f.admin, map[string]any{"resource": "groups"}), 400, "InvalidRequest", "Only expirationDateTime")
	f.clk.Add(47*time.Hour + 30*time.Minute)
	f.flush()
	f.flush()
	got := rc.take()
	if len(got) != 1 || got[0].LifecycleEvent != "reauthorizationRequired" || got[0].SubscriptionID != id {
		t.Errorf("lifecycle: %+v", got)
	}
}

func TestSubscriptionFiltersAndDelete(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t)
	exp := f.clk.Now().Add(time.Hour * 5).Format(time.RFC3339)
	g := f.Must(201, "POST", "/v1.0/groups", f.admin, map[string]any{"displayName": "Sales", "mailEnabled": false, "mailNickname": "sales", "securityEnabled": true}).JSON()["id"].(string)
	groups := f.Must(201, "POST", "/v1.0/subscriptions", f.admin, map[string]any{"changeType": "updated", "notificationUrl": rc.URL,
		"resource": "groups/" + g, "expirationDateTime": exp}).JSON()["id"].(string)
	deletedOnly := f.Must(201, "POST", "/v1.0/subscriptions", f.admin, map[string]any{"changeType": "deleted", "notificationUrl": rc.URL,
		"resource": "users", "expirationDateTime": exp}).JSON()["id"].(string)
	u := f.user("cy@contoso.example")
	f.flush()
	if got := rc.take(); len(got) != 0 {
		t.Errorf("a user's creation reached a groups or deleted-only subscription: %+v", got)
	}
	f.Must(204, "POST", "/v1.0/groups/"+g+"/members/$ref", f.admin, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + u})
	f.flush()
	got := rc.take()
	if len(got) != 1 || got[0].SubscriptionID != groups || got[0].Resource != "Groups/"+g || got[0].ClientState != nil ||
		got[0].ResourceData.ODataType != "#Microsoft.Graph.Group" {
		t.Errorf("membership change: %+v", got)
	}
	f.Must(204, "DELETE", "/v1.0/subscriptions/"+groups, f.admin, nil)
	f.Must(204, "DELETE", "/v1.0/groups/"+g, f.admin, nil) // a security group: deleted for good
	f.flush()
	if got := rc.take(); len(got) != 0 {
		t.Errorf("a deleted subscription was notified: %+v", got)
	}
	if v := f.Must(200, "GET", "/v1.0/subscriptions", f.admin, nil).JSON()["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != deletedOnly {
		t.Errorf("list: %v", v)
	}
	// Only readers of the directory subscribe.
	f.Must(403, "GET", "/v1.0/subscriptions", f.Token(f.tenant, "ReportsReader"), nil)
}

// A bulk change whose users and groups are not known one by one (an
// import through the API large enough to be published by swapping the
// tenant's copies: 20,000 engine records, tenant.DoBulk) sends a "missed"
// lifecycle notification to each subscription with a
// lifecycleNotificationUrl (resync with delta), and nothing to one
// without.
func TestLargeImportSendsMissed(t *testing.T) {
	f := newFixture(t)
	rc, plain := newReceiver(t), newReceiver(t)
	exp := f.clk.Now().Add(24 * time.Hour).Format(time.RFC3339)
	id := f.Must(201, "POST", "/v1.0/subscriptions", f.admin, map[string]any{"changeType": "updated", "notificationUrl": rc.URL + "/notify",
		"lifecycleNotificationUrl": rc.URL + "/lifecycle", "resource": "users", "expirationDateTime": exp}).JSON()["id"].(string)
	f.Must(201, "POST", "/v1.0/subscriptions", f.admin, map[string]any{"changeType": "updated", "notificationUrl": plain.URL,
		"resource": "users", "expirationDateTime": exp})
	var users strings.Builder
	users.WriteString("id,userPrincipalName,usageLocation\n")
	for i := range 20_000 {
		fmt.Fprintf(&users, "u%d,u%d@contoso.example,US\n", i, i)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{
		"subscriptions.csv": "skuPartNumber,quantity\nSPE_E3,5\n",
		"users.csv":         users.String(),
	} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	f.Must(200, "POST", "/allot/v1/tenants/"+f.tenant+"/import", f.admin, buf.Bytes(), "Content-Type: application/zip")
	f.flush()
	got := rc.take()
	var missed int
	for _, n := range got {
		if n.LifecycleEvent == "missed" && n.SubscriptionID == id {
			missed++
		}
	}
	if missed != 1 {
		t.Errorf("after an import: %+v, want one missed lifecycle notification", got)
	}
	if got := plain.take(); len(got) != 0 {
		t.Errorf("a subscription without a lifecycle URL got %+v", got)
	}
}
