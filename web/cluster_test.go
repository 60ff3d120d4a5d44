package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
	"allot/api/server"
	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/lease"
	"allot/store/postgres"
	"allot/tenant"
	"allot/web"
)

// webNode is one allot process of a cluster on PostgreSQL with the admin
// center: shared store, leases, a following runtime, a forwarding server.
type webNode struct {
	st     *postgres.Store
	keeper *lease.Keeper
	rt     *tenant.Runtime
	env    *apitest.Env
}

func webSchema(t *testing.T) string {
	base := os.Getenv("ALLOT_TEST_POSTGRES")
	if base == "" {
		t.Skip("ALLOT_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("webcluster_%d", time.Now().UnixNano())
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(ctx)
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// newWebNode starts a node; with follow unset its runtime does not follow
// the log (no notifications, no poll): its copies catch up only when a
// read waits for a number.
func newWebNode(t *testing.T, dsn string, follow bool) *webNode {
	ctx := context.Background()
	hs := httptest.NewUnstartedServer(nil)
	st, err := postgres.OpenShared(ctx, dsn, postgres.SharedOptions{TTL: 2 * time.Second, Owner: postgres.ProcessIdentity() + " at " + hs.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Bootstrap(ctx, st, apitest.PartnerToken, time.Now()); err != nil {
		t.Fatal(err)
	}
	var logw io.Writer = io.Discard
	if os.Getenv("WEB_CLUSTER_LOG") != "" {
		logw = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(logw, nil))
	keeper := lease.New(st, lease.Options{Logger: log})
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: log, Leases: keeper}))
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(rt, st, log, prometheus.NewRegistry())
	s.Cluster = &server.Cluster{Leases: st, Holds: keeper.Holds, Enter: keeper.Enter}
	partner.Register(s)
	admin.Register(s)
	web.Register(s)
	hs.Config.Handler = s.Handler()
	hs.Start()
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if follow {
			rt.Follow(fctx, tenant.FollowOptions{Poll: 100 * time.Millisecond})
		}
	}()
	t.Cleanup(func() {
		hs.Close()
		cancel()
		<-done
		rt.Close(ctx)
		keeper.Close(ctx)
		st.Close()
	})
	return &webNode{st: st, keeper: keeper, rt: rt, env: &apitest.Env{T: t, URL: hs.URL, Store: st, RT: rt, Server: s, HTTP: hs}}
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
	dsn := webSchema(t)
	a := newWebNode(t, dsn, true)
	id := a.env.Customer("Contoso", "US")
	token := a.env.Token(id, "GlobalAdministrator")
	a.env.Must(201, "POST", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, map[string]any{"offerId": "ENTERPRISEPACK", "quantity": 5})
	if !a.keeper.Holds(id) {
		t.Fatal("the process that wrote the tenant does not hold its lease")
	}
	b := newWebNode(t, dsn, false) // loads the tenant at its start
	if _, ok := b.rt.Get(id); !ok {
		t.Fatal("the other process did not load the tenant")
	}
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, base: b.env.URL, http: &http.Client{Jar: jar}}
	if r := c.signIn(token); r.Status != 200 {
		t.Fatalf("signing in on the non-owner: %d %s\n%.3000s", r.Status, r.URL, r.Body)
	}
	r := c.form("/admin/users/new", "/admin/users", url.Values{"displayName": {"Zoe"}, "userPrincipalName": {"zoe@contoso.example"},
		"mailNickname": {"zoe"}, "accountEnabled": {"on"}, "usageLocation": {"US"}})
	if r.Status != 200 || !strings.Contains(r.Body, "Zoe") {
		t.Fatalf("a form posted to the non-owner: %d at %s\n%.2000s", r.Status, r.URL, r.Body)
	}
	ta, _ := a.rt.Get(id)
	found := false
	ta.Read(func(s *tenant.State) { _, found = s.Engine.UserByUPN("zoe@contoso.example") })
	if !found {
		t.Error("the owner's copy has no user from the forwarded form")
	}
	if !a.keeper.Holds(id) || b.keeper.Holds(id) {
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
