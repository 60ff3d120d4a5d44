package web_test

import (
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
	"allot/internal/pgtest"
	"allot/internal/tenanttest"
	"allot/tenant"
	"allot/web"
)

// newWebNode starts one allot process of a cluster test on the schema at
// dsn with the partner and admin APIs and the admin center, whose forms
// enter a tenant through the leases ($WEB_CLUSTER_LOG: its log on standard
// error); with follow unset its runtime does not follow the log (no
// notifications, no poll): its copies catch up only when a read waits for
// a number.
func newWebNode(t *testing.T, dsn string, follow bool) *apitest.Shared {
	o := apitest.SharedOptions{Process: tenanttest.ProcessOptions{TTL: 2 * time.Second, NoFollow: !follow}, Enter: true}
	if os.Getenv("WEB_CLUSTER_LOG") != "" {
		o.Process.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return apitest.ServeShared(t, dsn, o, partner.Register, admin.Register, web.Register)
}

// Two processes on one PostgreSQL: an admin center form posted to the
// process that does not write the tenant is forwarded, with the user's
// session cookie and CSRF token, to the one that does, which answers it;
// the lease stays there. The page the form redirects to, read on the
// non-owner, shows the form's write: that process runs no follower here,
// so only its wait for the forwarded write's number (server.ReadForwarded)
// brings its copy up to date. A form whose CSRF token is wrong is refused
// by the owner, and nothing is written.
func TestAdminCenterFormsAreForwardedToTheOwner(t *testing.T) {
	dsn := pgtest.Schema(t)
	a := newWebNode(t, dsn, true)
	id := a.Customer("Contoso", "US")
	token := a.Token(id, "GlobalAdministrator")
	a.Must(201, "POST", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, map[string]any{"offerId": "ENTERPRISEPACK", "quantity": 5})
	if !a.Process.Leases.Holds(id) {
		t.Fatal("the process that wrote the tenant does not hold its lease")
	}
	b := newWebNode(t, dsn, false) // loads the tenant at its start
	if _, ok := b.RT.Get(id); !ok {
		t.Fatal("the other process did not load the tenant")
	}
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, base: b.URL, http: &http.Client{Jar: jar}}
	if r := c.signIn(token); r.Status != 200 {
		t.Fatalf("signing in on the non-owner: %d %s\n%.3000s", r.Status, r.URL, r.Body)
	}
	r := c.form("/admin/users/new", "/admin/users", url.Values{"displayName": {"Zoe"}, "userPrincipalName": {"zoe@contoso.example"},
		"mailNickname": {"zoe"}, "accountEnabled": {"on"}, "usageLocation": {"US"}})
	if r.Status != 200 || !strings.Contains(r.Body, "Zoe") {
		t.Fatalf("a form posted to the non-owner: %d at %s\n%.2000s", r.Status, r.URL, r.Body)
	}
	ta, _ := a.RT.Get(id)
	found := false
	ta.Read(func(s *tenant.State) { _, found = s.Engine.UserByUPN("zoe@contoso.example") })
	if !found {
		t.Error("the owner's copy has no user from the forwarded form")
	}
	if !a.Process.Leases.Holds(id) || b.Process.Leases.Holds(id) {
		t.Error("forwarding the form moved the lease")
	}
	// The owner checks the form's CSRF token itself.
	bad := c.post("/admin/users", url.Values{"csrf": {"forged"}, "displayName": {"Eve"}, "userPrincipalName": {"eve@contoso.example"}, "mailNickname": {"eve"}})
	if bad.Status != http.StatusForbidden {
		t.Errorf("a forwarded form with a forged CSRF token: %d, want 403", bad.Status)
	}
	ta.Read(func(s *tenant.State) {
		if _, ok := s.Engine.UserByUPN("eve@contoso.example"); ok {
			t.Error("the form with a forged CSRF token wrote its user")
		}
	})
}
