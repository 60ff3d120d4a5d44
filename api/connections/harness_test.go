package connections_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
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
	apiusage "allot/api/usage"
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
// the right client id with the right secret, or with a client assertion
// (RFC 7523) signed by the key of a registered certificate.
type tokenServer struct {
	*httptest.Server
	token      string
	issued     atomic.Int64
	assertions atomic.Int64 // tokens issued for a client assertion
	mu         sync.Mutex
	certs      []*x509.Certificate // the app registration's certificates
	// federated is the token the app registration's federated credential
	// trusts (workload identity); "" trusts none.
	federated     atomic.Pointer[string]
	federatedUsed atomic.Int64 // tokens issued for it
	// others are the further customer tenants the app registration is
	// consented in (GDAP-style: one app, many tenants), Entra tenant id →
	// the access token issued there.
	others map[string]string
}

// consent makes the app registration usable in another Entra tenant,
// where it gets accessToken.
func (ts *tokenServer) consent(entraTenant, accessToken string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.others == nil {
		ts.others = map[string]string{}
	}
	ts.others[entraTenant] = accessToken
}

// tokenFor is the access token the app gets in an Entra tenant ("" when
// it is not consented there).
func (ts *tokenServer) tokenFor(entraTenant string) string {
	if entraTenant == entraID {
		return ts.token
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.others[entraTenant]
}

// register adds a certificate to the app registration.
func (ts *tokenServer) register(c *x509.Certificate) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.certs = append(ts.certs, c)
}

// checkAssertion validates a client assertion as Entra does: a JWT whose
// header names a registered certificate by its thumbprint (x5t#S256, or
// x5t for SHA-1), signed PS256 or RS256 by that certificate's key, with
// aud the token endpoint, iss and sub the client id, and a valid time.
func (ts *tokenServer) checkAssertion(jwt, audience string) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return fmt.Errorf("AADSTS50027: JWT token is invalid or malformed.")
	}
	dec := func(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")) }
	hb, err1 := dec(parts[0])
	pb, err2 := dec(parts[1])
	sig, err3 := dec(parts[2])
	var h map[string]any
	var c struct {
		Aud, Iss, Sub string
		Exp, Nbf      int64
	}
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &h) != nil || json.Unmarshal(pb, &c) != nil {
		return fmt.Errorf("AADSTS50027: JWT token is invalid or malformed.")
	}
	thumb := func(key string) []byte {
		s, _ := h[key].(string)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawURLEncoding, base64.RawStdEncoding} {
			if b, err := enc.DecodeString(s); err == nil {
				return b
			}
		}
		return nil
	}
	ts.mu.Lock()
	var cert *x509.Certificate
	for _, rc := range ts.certs {
		s256 := sha256.Sum256(rc.Raw)
		s1 := sha1.Sum(rc.Raw)
		if t := thumb("x5t#S256"); t != nil && string(t) == string(s256[:]) {
			cert = rc
		} else if t := thumb("x5t"); t != nil && string(t) == string(s1[:]) {
			cert = rc
		}
	}
	ts.mu.Unlock()
	if cert == nil {
		return fmt.Errorf("AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.")
	}
	pub := cert.PublicKey.(*rsa.PublicKey)
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	var err error
	switch h["alg"] {
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
	default:
		err = fmt.Errorf("alg %v", h["alg"])
	}
	if err != nil {
		return fmt.Errorf("AADSTS700027: Client assertion failed signature validation.")
	}
	now := time.Now().Unix()
	switch {
	case c.Aud != audience:
		return fmt.Errorf("AADSTS700016: the assertion's audience %q is not this token endpoint %q.", c.Aud, audience)
	case c.Iss != appID || c.Sub != appID:
		return fmt.Errorf("AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter.")
	case c.Exp < now || c.Nbf > now+300:
		return fmt.Errorf("AADSTS700024: Client assertion is not within its valid time range.")
	}
	return nil
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
		refuse := func(msg string) {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": msg})
		}
		access := ts.tokenFor(r.PathValue("tenant"))
		if access == "" || r.Form.Get("client_id") != appID || r.Form.Get("grant_type") != "client_credentials" {
			refuse("AADSTS700016: Application not found in the directory.")
			return
		}
		if a := r.Form.Get("client_assertion"); a != "" {
			if r.Form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || r.Form.Get("client_secret") != "" {
				refuse("AADSTS50027: client_assertion_type is not jwt-bearer.")
				return
			}
			if f := ts.federated.Load(); f != nil && *f != "" && a == *f {
				ts.federatedUsed.Add(1)
				ts.issued.Add(1)
				json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": ts.token})
				return
			}
			if err := ts.checkAssertion(a, "https://"+r.Host+"/"+r.PathValue("tenant")+"/oauth2/v2.0/token"); err != nil {
				refuse(err.Error())
				return
			}
			ts.assertions.Add(1)
		} else if r.Form.Get("client_secret") != secret {
			refuse("AADSTS7000215: Invalid client secret provided.")
			return
		}
		ts.issued.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": access})
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
	// top, when set, is the page size the proxy asks of users and groups
	// instead of the connector's $top=999 (Graph may page smaller).
	top  atomic.Int64
	uris []string // each request's method and URI after the rewrite
	// onURI, when set, is called with each request's URI (after the rewrite).
	onURI atomic.Pointer[func(uri string)]
	// refuse, when set, answers 400 (as Graph does to a property or token
	// it does not take) to the requests whose URI it reports.
	refuse atomic.Pointer[func(uri string) bool]
	// noAnswer, when set, is asked of each request's URI: "after" sends
	// the request on and drops the connection without its answer (Graph
	// did it, allot never hears), "before" drops it unsent, "" passes.
	noAnswer atomic.Pointer[func(uri string) string]
}

// refuseInBatch makes the requests of a JSON batch that refuse reports
// ask for a property no Graph has, so that the service answers them 400
// inside the batch, as Graph answers a property it does not take.
func refuseInBatch(r *http.Request, refuse func(uri string) bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var b struct {
		Requests []map[string]any `json:"requests"`
	}
	if json.Unmarshal(body, &b) == nil {
		for _, q := range b.Requests {
			if u, ok := q["url"].(string); ok && refuse("/v1.0"+u) {
				q["url"] = u + ",refusedByTheTestsProxy"
			}
		}
		if nb, err := json.Marshal(b); err == nil {
			body = nb
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", fmt.Sprint(len(body)))
}

func newThrottler(t *testing.T, target string, every int64) *throttler {
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	th := &throttler{every: every}
	th.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if top := th.top.Load(); top > 0 {
			for _, k := range []string{"$top=999", "%24top=999"} {
				r.URL.RawQuery = strings.ReplaceAll(r.URL.RawQuery, k, fmt.Sprintf("$top=%d", top))
			}
			r.RequestURI = ""
		}
		th.mu.Lock()
		th.paths = append(th.paths, r.Method+" "+r.URL.Path)
		th.uris = append(th.uris, r.Method+" "+r.URL.RequestURI())
		th.mu.Unlock()
		if f := th.onURI.Load(); f != nil {
			(*f)(r.URL.RequestURI())
		}
		if f := th.refuse.Load(); f != nil && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/$batch") {
			refuseInBatch(r, *f)
		}
		if f := th.refuse.Load(); f != nil && (*f)(r.URL.RequestURI()) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"code":"Request_BadRequest","message":"Refused by the test's proxy."}}`)
			return
		}
		if f := th.noAnswer.Load(); f != nil {
			if how := (*f)(r.URL.RequestURI()); how != "" {
				if how == "after" {
					p.ServeHTTP(httptest.NewRecorder(), r)
				}
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
		}
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
	return newWorldAt(t, throttleEvery, nil)
}

// newWorldAt is newWorld with the remote tenant's clock (nil: time.Now).
func newWorldAt(t *testing.T, throttleEvery int64, remoteNow func() time.Time) *world {
	w := &world{t: t}
	w.remote = apitest.NewWithClock(t, remoteNow, partner.Register, admin.Register, graph.Register, apiusage.Register)
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
	w.local = apitest.New(t, partner.Register, admin.Register, graph.Register, apiusage.Register, func(s *server.Server) {
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
