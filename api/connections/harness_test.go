package connections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/connections"
	"allot/api/graph"
	"allot/api/partner"
	"allot/api/server"
	"allot/m365"
)

// Products of Microsoft's catalog the tests use.
const (
	e3      = "05e9a617-0261-4cee-bb44-138d3ef5d965" // SPE_E3
	o365E3  = "6fd2c87f-b296-42f0-b197-1e91e994b900" // ENTERPRISEPACK
	secret  = "s3cr3t-Value~of.the-app"
	entraID = "fabrikam-entra"
	appID   = "11111111-2222-3333-4444-555555555555"
)

// tokenServer is a local OAuth2 authority over TLS (Entra's v2.0
// endpoints as MSAL reads them: the OpenID configuration, then the token
// endpoint for client credentials). It issues the remote allot's token to
// the right client id and secret.
type tokenServer struct {
	*httptest.Server
	token  string
	issued atomic.Int64
}

func newTokenServer(t *testing.T, accessToken string) *tokenServer {
	ts := &tokenServer{token: accessToken}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		base := "https://" + r.Host + "/" + r.PathValue("tenant")
		json.NewEncoder(w).Encode(map[string]string{"token_endpoint": base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize", "issuer": base + "/v2.0"})
	})
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PathValue("tenant") != entraID || r.Form.Get("client_id") != appID || r.Form.Get("client_secret") != secret ||
			r.Form.Get("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
			return
		}
		ts.issued.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": ts.token})
	})
	ts.Server = httptest.NewTLSServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// throttler is a proxy in front of the remote's Graph that answers every
// nth request 429 with Retry-After (and the $batch answers it passes are
// left alone).
type throttler struct {
	*httptest.Server
	every     int64
	n         atomic.Int64
	throttled atomic.Int64
	mu        sync.Mutex
	paths     []string
	onRequest atomic.Pointer[func(n int64)] // called with each request's number
}

func newThrottler(t *testing.T, target string, every int64) *throttler {
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	th := &throttler{every: every}
	th.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		th.mu.Lock()
		th.paths = append(th.paths, r.Method+" "+r.URL.Path)
		th.mu.Unlock()
		n := th.n.Add(1)
		if f := th.onRequest.Load(); f != nil {
			(*f)(n)
		}
		if th.every > 0 && n%th.every == 0 {
			th.throttled.Add(1)
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"code":"TooManyRequests","message":"Too many requests."}}`)
			return
		}
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(th.Close)
	return th
}

// world is a remote allot acting as the Microsoft tenant, behind the
// throttling proxy, a token endpoint, and a local allot with the
// connections API.
type world struct {
	t      *testing.T
	remote *apitest.Env
	rid    string
	radmin string
	local  *apitest.Env
	lid    string
	ladmin string
	tokens *tokenServer
	proxy  *throttler
	mgr    *m365.Manager
	waits  atomic.Int64 // Retry-After seconds asked
}

func newWorld(t *testing.T, throttleEvery int64) *world {
	w := &world{t: t}
	w.remote = apitest.New(t, partner.Register, admin.Register, graph.Register)
	w.rid = w.remote.Customer("Fabrikam", "US")
	w.remote.Subscribe(w.rid, "SPE_E3", 5)
	w.remote.Subscribe(w.rid, "ENTERPRISEPACK", 2)
	w.radmin = w.remote.Token(w.rid, "GlobalAdministrator")
	w.tokens = newTokenServer(t, w.radmin)
	w.proxy = newThrottler(t, w.remote.URL, throttleEvery)
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i + 7)
	}
	sealer, err := m365.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	env := &m365.Env{Sealer: sealer, Options: m365.ClientOptions{Transport: w.tokens.Client().Transport, Concurrency: 4},
		Sleep: func(ctx context.Context, d time.Duration) error {
			w.waits.Add(int64(d / time.Second))
			return ctx.Err()
		}}
	w.local = apitest.New(t, partner.Register, admin.Register, graph.Register, func(s *server.Server) {
		env.RT = s.RT
		w.mgr = &m365.Manager{RT: s.RT, Env: env, Log: s.Log}
		connections.Register(s, w.mgr)
	})
	w.lid = w.local.Customer("FabrikamLocal", "US")
	w.ladmin = w.local.Token(w.lid, "GlobalAdministrator")
	return w
}

// connect creates the connection through the local API.
func (w *world) connect(apply bool) string {
	r := w.local.Must(201, "POST", "/allot/v1/connections", w.ladmin, map[string]any{"entraTenantId": entraID, "clientId": appID,
		"clientSecret": secret, "graphUrl": w.proxy.URL, "authorityHost": w.tokens.URL, "apply": apply, "displayName": "Fabrikam"})
	return r.JSON()["id"].(string)
}

func (w *world) sync(conn string) map[string]any {
	w.t.Helper()
	r := w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/sync?wait=true", w.ladmin, nil)
	return r.JSON()
}

// remote Graph helpers.
func (w *world) ruser(upn string, extra ...any) string {
	w.t.Helper()
	body := map[string]any{"accountEnabled": true, "displayName": strings.Split(upn, "@")[0], "mailNickname": strings.Split(upn, "@")[0],
		"userPrincipalName": upn, "usageLocation": "US", "passwordProfile": map[string]any{"password": "x"}}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	return w.remote.Must(201, "POST", "/v1.0/users", w.radmin, body).JSON()["id"].(string)
}

func (w *world) rgroup(env *apitest.Env, tok, name string) string {
	w.t.Helper()
	return env.Must(201, "POST", "/v1.0/groups", tok, map[string]any{"displayName": name, "mailEnabled": false,
		"mailNickname": strings.ReplaceAll(name, " ", ""), "securityEnabled": true}).JSON()["id"].(string)
}

func addMember(env *apitest.Env, tok, g, m string) {
	env.Must(204, "POST", "/v1.0/groups/"+g+"/members/$ref", tok, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + m})
}

func removeMember(env *apitest.Env, tok, g, m string) {
	env.Must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+m+"/$ref", tok, nil)
}

// dirView is a tenant's directory as compared: users with their
// properties and licenses, groups with licenses and members.
type dirView struct {
	Users  map[string]string // id → "upn|displayName|department|usageLocation|enabled|skus"
	Groups map[string]string // id → "name|skus|members"
}

func directory(t *testing.T, env *apitest.Env, tok string, keepUser func(string) bool) dirView {
	t.Helper()
	v := dirView{Users: map[string]string{}, Groups: map[string]string{}}
	var us struct {
		Value []struct {
			ID, UserPrincipalName, DisplayName, Department, UsageLocation string
			AccountEnabled                                                bool
			AssignedLicenses                                              []struct{ SkuID string }
		}
	}
	env.Must(200, "GET", "/v1.0/users?$select=id,userPrincipalName,displayName,department,usageLocation,accountEnabled,assignedLicenses&$top=999", tok, nil).Decode(t, &us)
	for _, u := range us.Value {
		if keepUser != nil && !keepUser(u.ID) {
			continue
		}
		var skus []string
		for _, l := range u.AssignedLicenses {
			skus = append(skus, strings.ToLower(l.SkuID))
		}
		v.Users[u.ID] = fmt.Sprintf("%s|%s|%s|%s|%v|%s", u.UserPrincipalName, u.DisplayName, u.Department, u.UsageLocation, u.AccountEnabled, sorted(skus))
	}
	var gs struct {
		Value []struct {
			ID, DisplayName  string
			AssignedLicenses []struct{ SkuID string }
		}
	}
	env.Must(200, "GET", "/v1.0/groups?$select=id,displayName,assignedLicenses", tok, nil).Decode(t, &gs)
	for _, g := range gs.Value {
		var skus, ms []string
		for _, l := range g.AssignedLicenses {
			skus = append(skus, strings.ToLower(l.SkuID))
		}
		var mem struct{ Value []struct{ ID string } }
		env.Must(200, "GET", "/v1.0/groups/"+g.ID+"/members?$select=id", tok, nil).Decode(t, &mem)
		for _, m := range mem.Value {
			ms = append(ms, m.ID)
		}
		v.Groups[g.ID] = fmt.Sprintf("%s|%s|%s", g.DisplayName, sorted(skus), sorted(ms))
	}
	return v
}

func sorted(s []string) string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return strings.Join(c, ",")
}
