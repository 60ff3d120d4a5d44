package web_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/cloudlicensing"
	"allot/api/connections"
	"allot/api/graph"
	"allot/api/partner"
	"allot/api/server"
	"allot/m365"
	"allot/web"
)

// planWorld is a second allot acting as the Microsoft tenant (its Graph,
// behind a proxy that can hold requests for users), a local Entra token
// endpoint, and the local allot with the admin center and a connection
// that may apply, synced once: the Microsoft tenant has two users, and
// allot manages Microsoft 365 E3 for one of them through an allot group,
// so that a plan has one call.
type planWorld struct {
	remote, local *apitest.Env
	rid, radmin   string
	lid, ladmin   string
	mgr           *m365.Manager
	conn          string
	ann, bob      string // remote (and synced) users
	// hold, when set, holds each request for users until it is closed;
	// holding is told (once per hold) when a request is held.
	hold    atomic.Pointer[chan struct{}]
	holding chan struct{}
}

func newPlanWorld(t *testing.T) *planWorld {
	w := &planWorld{holding: make(chan struct{}, 16)}
	w.remote = apitest.New(t, partner.Register, admin.Register, graph.Register)
	w.rid = w.remote.Customer("Fabrikam", "US")
	w.remote.Subscribe(w.rid, "SPE_E3", 5)
	w.radmin = w.remote.Token(w.rid, "GlobalAdministrator")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", func(rw http.ResponseWriter, r *http.Request) {
		base := "https://" + r.Host + "/" + r.PathValue("tenant")
		json.NewEncoder(rw).Encode(map[string]string{"token_endpoint": base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize", "issuer": base + "/v2.0"})
	})
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", func(rw http.ResponseWriter, r *http.Request) {
		json.NewEncoder(rw).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": w.radmin})
	})
	tokens := httptest.NewTLSServer(mux)
	t.Cleanup(tokens.Close)
	ru, _ := url.Parse(w.remote.URL)
	rp := httputil.NewSingleHostReverseProxy(ru)
	proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if h := w.hold.Load(); h != nil && strings.Contains(r.URL.Path, "/users") {
			select {
			case w.holding <- struct{}{}:
			default:
			}
			<-*h
		}
		rp.ServeHTTP(rw, r)
	}))
	t.Cleanup(proxy.Close)
	t.Cleanup(func() {
		if h := w.hold.Swap(nil); h != nil {
			close(*h)
		}
	})
	key := make([]byte, 32)
	sealer, err := m365.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	w.local = apitest.New(t, partner.Register, admin.Register, cloudlicensing.Register, graph.Register, func(s *server.Server) {
		w.mgr = &m365.Manager{RT: s.RT, Env: &m365.Env{Sealer: sealer, RT: s.RT, Options: m365.ClientOptions{Transport: tokens.Client().Transport}},
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		connections.Register(s, w.mgr)
		web.WithM365(w.mgr)(s)
	})
	w.lid = w.local.Customer("FabrikamLocal", "US")
	w.ladmin = w.local.Token(w.lid, "GlobalAdministrator")

	user := func(name string) string {
		return w.remote.Must(201, "POST", "/v1.0/users", w.radmin, map[string]any{"accountEnabled": true, "displayName": name, "mailNickname": name,
			"userPrincipalName": name + "@fabrikam.example", "usageLocation": "US", "passwordProfile": map[string]any{"password": "x"}}).JSON()["id"].(string)
	}
	w.ann, w.bob = user("ann"), user("bob")
	w.conn = w.local.Must(201, "POST", "/allot/v1/connections", w.ladmin, map[string]any{"displayName": "Fabrikam", "entraTenantId": "fabrikam-entra",
		"clientId": "11111111-2222-3333-4444-555555555555", "clientSecret": "s3cret", "graphUrl": proxy.URL, "authorityHost": tokens.URL,
		"apply": true, "syncEvery": "0s", "reportsEvery": "0s"}).JSON()["id"].(string)
	w.local.Must(200, "POST", "/allot/v1/connections/"+w.conn+"/sync?wait=true", w.ladmin, nil)
	g := w.local.Must(201, "POST", "/v1.0/groups", w.ladmin, map[string]any{"displayName": "E3 pilot", "mailEnabled": false,
		"mailNickname": "e3pilot", "securityEnabled": true}).JSON()["id"].(string)
	w.local.Must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", w.ladmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3SKU, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	w.local.Must(204, "POST", "/v1.0/groups/"+g+"/members/$ref", w.ladmin, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + w.ann})
	return w
}

// e3SKU is SPE_E3 (Microsoft 365 E3).
const e3SKU = "05e9a617-0261-4cee-bb44-138d3ef5d965"

// remoteSKUs are a remote user's products.
func (w *planWorld) remoteSKUs(t *testing.T, id string) string {
	t.Helper()
	var u struct{ AssignedLicenses []struct{ SkuID string } }
	w.remote.Must(200, "GET", "/v1.0/users/"+id+"?$select=assignedLicenses", w.radmin, nil).Decode(t, &u)
	var out []string
	for _, l := range u.AssignedLicenses {
		out = append(out, strings.ToLower(l.SkuID))
	}
	return strings.Join(out, ",")
}

var planDigestRE = regexp.MustCompile(`name="plan" value="([^"]+)"`)

// TestConnectionsPlanApply: "Plan" shows the assignLicense calls allot
// would make (user, product, why) and "Apply" runs them through the same
// function as the API, audited; a reader sees neither and is refused,
// a forged CSRF token and a plan that changed since it was shown are
// refused, and none of them changes Microsoft 365.
func TestConnectionsPlanApply(t *testing.T) {
	w := newPlanWorld(t)
	c := newClientSignedIn(t, w.local, w.ladmin)
	planPath := "/admin/connections/" + w.conn + "/plan"
	p := c.get("/admin/connections")
	mustContain(t, p, `action="`+planPath+`"`, "Plan / Apply", "healthy")
	p = c.get(planPath)
	if p.Status != 200 {
		t.Fatalf("GET %s = %d\n%s", planPath, p.Status, p.Body)
	}
	mustContain(t, p, "1 call", "ann@fabrikam.example", "SPE_E3", "E3 pilot", `action="/admin/connections/`+w.conn+`/apply"`)
	if strings.Contains(p.Body, "bob@fabrikam.example") {
		t.Error("the plan lists a user allot does not manage")
	}
	m := planDigestRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no plan digest in the form:\n%s", p.Body)
	}

	// Refused, nothing applied: a reader, a forged CSRF token, no digest, a stale digest.
	rd := newClientSignedIn(t, w.local, w.local.Token(w.lid, "GlobalReader"))
	if r := rd.get("/admin/connections"); strings.Contains(r.Body, planPath) {
		t.Error("a reader sees the Plan button")
	}
	if r := rd.get(planPath); r.Status != http.StatusForbidden {
		t.Errorf("reader GET plan = %d, want 403", r.Status)
	}
	if r := rd.form("/admin/connections", "/admin/connections/"+w.conn+"/apply", url.Values{"plan": {m[1]}}); r.Status != http.StatusForbidden {
		t.Errorf("reader POST apply = %d, want 403", r.Status)
	}
	if r := c.post("/admin/connections/"+w.conn+"/apply", url.Values{"csrf": {"forged"}, "plan": {m[1]}}); r.Status != http.StatusForbidden {
		t.Errorf("apply with a forged CSRF token = %d, want 403", r.Status)
	}
	r := c.form(planPath, "/admin/connections/"+w.conn+"/apply", nil)
	mustContain(t, r, "open Plan first")
	r = c.form(planPath, "/admin/connections/"+w.conn+"/apply", url.Values{"plan": {"0123456789abcdef0123456789abcdef"}})
	mustContain(t, r, "The plan changed since it was shown")
	if got := w.remoteSKUs(t, w.ann); got != "" {
		t.Fatalf("a refused apply changed Microsoft 365: ann holds %q", got)
	}

	// Apply.
	r = c.form(planPath, "/admin/connections/"+w.conn+"/apply", url.Values{"plan": {m[1]}})
	mustContain(t, r, "Applied: 1 call made in Microsoft 365.", "Nothing to change")
	if got := w.remoteSKUs(t, w.ann); got != e3SKU {
		t.Fatalf("after apply, ann holds %q in Microsoft 365, want %s", got, e3SKU)
	}
	if got := w.remoteSKUs(t, w.bob); got != "" {
		t.Fatalf("after apply, bob holds %q in Microsoft 365", got)
	}
	a := c.get("/admin/audit")
	mustContain(t, a, "Apply license to Microsoft 365")
	if v := w.local.Must(200, "GET", "/allot/v1/connections/"+w.conn+"/plan", w.ladmin, nil).JSON(); len(v["calls"].([]any)) != 0 {
		t.Fatalf("the API's plan after the page's apply: %v", v)
	}
}
