package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/connections"
	"allot/api/partner"
	"allot/api/server"
	"allot/m365"
	"allot/web"
	"allot/web/demo"
)

// fakeMicrosoft is an Entra token endpoint and a Graph that lists two
// subscribed products and refuses everything else (403, as Graph does
// without the permission), over TLS.
func fakeMicrosoft(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		base := "https://" + r.Host + "/" + r.PathValue("tenant")
		json.NewEncoder(w).Encode(map[string]string{"token_endpoint": base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize", "issuer": base + "/v2.0"})
	})
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("client_secret") != "s3cret-right" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": "tok"})
	})
	mux.HandleFunc("GET /v1.0/subscribedSkus", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"value":[{"skuId":"05e9a617-0261-4cee-bb44-138d3ef5d965","skuPartNumber":"SPE_E3"},{"skuId":"6fd2c87f-b296-42f0-b197-1e91e994b900","skuPartNumber":"ENTERPRISEPACK"}]}`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`)
	})
	s := httptest.NewTLSServer(mux)
	t.Cleanup(s.Close)
	return s
}

// TestConnectionsPage: the page lists the tenant's connections with
// their state; "Test", "Sync now" and "Sync reports" work as the API's;
// forged CSRF tokens and readers are refused and start nothing.
func TestConnectionsPage(t *testing.T) {
	ms := fakeMicrosoft(t)
	key := make([]byte, 32)
	sealer, err := m365.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	var mgr *m365.Manager
	mount := func(s *server.Server) {
		mgr = &m365.Manager{RT: s.RT, Env: &m365.Env{Sealer: sealer, RT: s.RT, Options: m365.ClientOptions{Transport: ms.Client().Transport}},
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		connections.Register(s, mgr)
		web.WithM365(mgr)(s)
	}
	env := apitest.New(t, partner.Register, admin.Register, cloudlicensing.Register, mount)
	if _, err := demo.Ensure(context.Background(), env.RT, env.Store, demo.Options{People: 200, SkipUsage: true}); err != nil {
		t.Fatal(err)
	}
	adminTok := tenantToken(t, env, "GlobalAdministrator")
	create := func(name, secret string) string {
		r := env.Must(201, "POST", "/allot/v1/connections", adminTok, map[string]any{"displayName": name, "entraTenantId": strings.ToLower(strings.ReplaceAll(name, " ", "-")),
			"clientId": "11111111-2222-3333-4444-555555555555", "clientSecret": secret, "graphUrl": ms.URL, "authorityHost": ms.URL})
		return r.JSON()["id"].(string)
	}
	good := create("Contoso production", "s3cret-right")
	bad := create("Contoso staging", "s3cret-wrong")

	c := newClientSignedIn(t, env, adminTok)
	p := c.get("/admin/connections")
	if p.Status != 200 {
		t.Fatalf("GET /admin/connections = %d\n%s", p.Status, p.Body)
	}
	mustContain(t, p, "Contoso production", "Contoso staging", "never synced", `action="/admin/connections/`+good+`/test"`,
		`action="/admin/connections/`+good+`/sync"`, `action="/admin/connections/`+good+`/reports"`, `href="/admin/connections"`)
	if strings.Contains(p.Body, "s3cret-right") || strings.Contains(p.Body, "s3cret-wrong") {
		t.Error("the page shows a secret")
	}

	r := c.form("/admin/connections", "/admin/connections/"+good+"/test", nil)
	mustContain(t, r, "Connection works: Microsoft 365 lists 2 products.")
	if t.Failed() {
		t.Fatal(r.Body)
	}
	r = c.form("/admin/connections", "/admin/connections/"+bad+"/test", nil)
	mustContain(t, r, "Test failed", "AADSTS7000215")
	r = c.form("/admin/connections", "/admin/connections/nope/test", nil)
	if !strings.Contains(r.Body, "nope") || strings.Contains(r.Body, "Connection works") {
		t.Errorf("test of an unknown connection:\n%s", r.Body)
	}

	// Refused: a forged CSRF token, and a reader (who sees the page
	// without buttons); neither starts a sync.
	if r := c.post("/admin/connections/"+good+"/sync", url.Values{"csrf": {"forged"}}); r.Status != http.StatusForbidden {
		t.Errorf("sync with a forged CSRF token = %d, want 403", r.Status)
	}
	rd := newClientSignedIn(t, env, tenantToken(t, env, "GlobalReader"))
	rp := rd.get("/admin/connections")
	mustContain(t, rp, "Contoso production")
	if strings.Contains(rp.Body, "/sync\"") || strings.Contains(rp.Body, "/test\"") {
		t.Error("a reader sees the buttons")
	}
	for _, a := range []string{"test", "sync", "reports"} {
		if r := rd.form("/admin/connections", "/admin/connections/"+good+"/"+a, nil); r.Status != http.StatusForbidden {
			t.Errorf("reader POST %s = %d, want 403", a, r.Status)
		}
	}
	if v := env.Must(200, "GET", "/allot/v1/connections/"+good, adminTok, nil).JSON(); v["sync"].(map[string]any)["startedDateTime"] != nil {
		t.Fatalf("a refused form started a sync: %v", v["sync"])
	}

	// Sync now and Sync reports start the manager's jobs; their failures
	// (Graph refuses) show on the page.
	r = c.form("/admin/connections", "/admin/connections/"+good+"/sync", nil)
	mustContain(t, r, "Directory sync started.")
	if _, err := mgr.Wait(context.Background(), demo.TenantID, good); err == nil {
		t.Fatal("the sync against a Graph that refuses succeeded")
	}
	r = c.form("/admin/connections", "/admin/connections/"+good+"/reports", nil)
	mustContain(t, r, "Usage reports sync started.")
	mgr.Wait(context.Background(), demo.TenantID, good)
	p = c.get("/admin/connections")
	mustContain(t, p, "failing", "Directory error", "Insufficient privileges", "Reports sync")
}

// TestPartnerSeesEveryConnectionsHealth: the partner administrator's
// customer picker shows each customer's Microsoft 365 connections with
// their health — a failing one with its error, one never synced — and
// nothing for a customer without any; no secret is shown.
func TestPartnerSeesEveryConnectionsHealth(t *testing.T) {
	ms := fakeMicrosoft(t)
	sealer, err := m365.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	var mgr *m365.Manager
	env := apitest.New(t, partner.Register, admin.Register, func(s *server.Server) {
		mgr = &m365.Manager{RT: s.RT, Env: &m365.Env{Sealer: sealer, RT: s.RT, Options: m365.ClientOptions{Transport: ms.Client().Transport}},
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		connections.Register(s, mgr)
		web.WithM365(mgr)(s)
	})
	fabrikam := env.Customer("Fabrikam", "US")
	env.Customer("Northwind", "US")
	tok := env.Token(fabrikam, "GlobalAdministrator")
	create := func(name, secret string) string {
		return env.Must(201, "POST", "/allot/v1/connections", tok, map[string]any{"displayName": name, "entraTenantId": strings.ToLower(strings.ReplaceAll(name, " ", "-")),
			"clientId": "11111111-2222-3333-4444-555555555555", "clientSecret": secret, "graphUrl": ms.URL, "authorityHost": ms.URL}).JSON()["id"].(string)
	}
	create("Fabrikam production", "s3cret-right")
	staging := create("Fabrikam staging", "s3cret-wrong")
	if r := env.Call("POST", "/allot/v1/connections/"+staging+"/sync?wait=true", tok, nil); r.Status != http.StatusBadGateway {
		t.Fatalf("sync with a wrong secret: %d %s", r.Status, r.Body)
	}

	r := newClient(t, env).signIn(apitest.PartnerToken)
	if r.URL != "/admin/tenants" {
		t.Fatalf("partner sign-in landed on %s", r.URL)
	}
	mustContain(t, r, "Fabrikam production", "never synced", "Fabrikam staging", "failing", "AADSTS7000215", "Northwind")
	if strings.Contains(r.Body, "s3cret") {
		t.Error("the partner's page shows a secret")
	}
	if n := strings.Count(r.Body, "Microsoft 365 <span"); n != 2 {
		t.Errorf("%d connections listed, want Fabrikam's 2 (Northwind has none)", n)
	}
}
