package crashtest

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// kill -9 of allot serve in the middle of a Microsoft 365 delta sync: a
// second allot serve is the Microsoft tenant (its Graph), behind a proxy
// that holds Graph requests once armed; the local server is killed while
// its sync waits on one, restarted, and its next sync starts from the
// stored cursor (a delta sync) and converges: the local directory
// (users, licenses, groups, members) equals the remote's.
func TestM365SyncKilledResumes(t *testing.T) {
	dir := t.TempDir()
	remote := startServe(t, filepath.Join(dir, "remote.db"), nil, nil)
	_, radmin := remote.customer("Fabrikam", 500)

	tokensURL, caFile := m365Authority(t, dir, radmin)
	// The proxy: once armed, the request after the next `after` ones is
	// held (the test is told) until released.
	ru, _ := url.Parse(remote.URL)
	rp := httputil.NewSingleHostReverseProxy(ru)
	var armed atomic.Int64
	held, release := make(chan struct{}), make(chan struct{})
	var heldOnce sync.Once
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := armed.Load(); n > 0 && armed.Add(-1) == 0 {
			heldOnce.Do(func() { close(held) })
			<-release
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})

	// The remote directory: users, a licensed group with members, direct licenses.
	user := func(i int) string {
		return remote.must(201, "POST", "/v1.0/users", radmin, userBody(fmt.Sprintf("u%03d", i), "fabrikam.example"))["id"].(string)
	}
	var users []string
	for i := range 40 {
		users = append(users, user(i))
	}
	group := remote.must(201, "POST", "/v1.0/groups", radmin, map[string]any{"displayName": "E3 users", "mailEnabled": false,
		"mailNickname": "e3users", "securityEnabled": true})["id"].(string)
	remote.must(202, "POST", "/v1.0/groups/"+group+"/assignLicense", radmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
	addMember := func(u string) {
		remote.must(204, "POST", "/v1.0/groups/"+group+"/members/$ref", radmin, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + u})
	}
	for _, u := range users[:20] {
		addMember(u)
	}

	key := strings.Repeat("5a", 32)
	env := []string{"ALLOT_SECRET_KEY=" + key, "SSL_CERT_FILE=" + caFile}
	localDB := filepath.Join(dir, "local.db")
	local := startServe(t, localDB, env, nil)
	_, ladmin := local.customer("FabrikamLocal", 0)
	conn := local.must(201, "POST", "/allot/v1/connections", ladmin, map[string]any{"entraTenantId": entra, "clientId": appID,
		"clientSecret": appSecret, "graphUrl": proxy.URL, "authorityHost": tokensURL, "syncEvery": "0s", "reportsEvery": "0s"})["id"].(string)
	res := local.must(200, "POST", "/allot/v1/connections/"+conn+"/sync?wait=true", ladmin, nil)
	if k := res["result"].(map[string]any)["kind"]; k != "full" {
		t.Fatalf("first sync: %v", res)
	}
	if got, want := m365Directory(t, local, ladmin), m365Directory(t, remote, radmin); got != want {
		t.Fatalf("after the first sync:\n got %s\nwant %s", got, want)
	}

	// Changes in the remote: new users in the licensed group, members
	// leaving, deleted users, direct licenses.
	for i := 40; i < 80; i++ {
		u := user(i)
		users = append(users, u)
		addMember(u)
	}
	for _, u := range users[:5] {
		remote.must(204, "DELETE", "/v1.0/groups/"+group+"/members/"+u+"/$ref", radmin, nil)
	}
	for _, u := range users[5:8] {
		remote.must(204, "DELETE", "/v1.0/users/"+u, radmin, nil)
	}
	for _, u := range users[25:30] {
		remote.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", radmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
	}

	// The delta sync is held on its fourth Graph request, and the server killed.
	armed.Store(4)
	local.must(202, "POST", "/allot/v1/connections/"+conn+"/sync", ladmin, nil)
	select {
	case <-held:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the sync never reached its fourth Graph request:\n%s", local.output())
	}
	local.kill()
	close(release)

	local = startServe(t, localDB, env, nil)
	v := local.must(200, "GET", "/allot/v1/connections/"+conn, ladmin, nil)
	if v["sync"].(map[string]any)["interrupted"] != true {
		t.Fatalf("the killed sync is not shown as interrupted: %v", v["sync"])
	}
	res = local.must(200, "POST", "/allot/v1/connections/"+conn+"/sync?wait=true", ladmin, nil)
	if k := res["result"].(map[string]any)["kind"]; k != "delta" {
		t.Fatalf("the sync after the restart did not resume from the stored cursor: %v", res)
	}
	if got, want := m365Directory(t, local, ladmin), m365Directory(t, remote, radmin); got != want {
		t.Fatalf("after the kill and the resumed sync:\n got %s\nwant %s", got, want)
	}
}

// The app registration the tests' connections use.
const appID, appSecret, entra = "11111111-2222-3333-4444-555555555555", "crash-s3cret", "fabrikam-entra"

// m365Authority starts a local Microsoft Entra token endpoint (TLS) that
// gives the app registration accessToken, and writes its certificate to
// a file in dir for the servers' SSL_CERT_FILE: its URL and the file.
func m365Authority(t *testing.T, dir, accessToken string) (string, string) {
	tokens := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
			base := "https://" + r.Host + "/" + entra
			json.NewEncoder(w).Encode(map[string]string{"token_endpoint": base + "/oauth2/v2.0/token",
				"authorization_endpoint": base + "/oauth2/v2.0/authorize", "issuer": base + "/v2.0"})
		case r.Method == "POST" && r.URL.Path == "/"+entra+"/oauth2/v2.0/token":
			_ = r.ParseForm()
			if r.Form.Get("client_id") != appID || r.Form.Get("client_secret") != appSecret {
				w.WriteHeader(http.StatusUnauthorized)
				json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": accessToken})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(tokens.Close)
	caFile := filepath.Join(dir, "authority.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tokens.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return tokens.URL, caFile
}

// m365Directory is a tenant's directory as compared: each user with its
// licenses, each group with its licenses and members.
func m365Directory(t *testing.T, s *server, tok string) string {
	t.Helper()
	var lines []string
	var us struct {
		Value []struct {
			ID, UserPrincipalName string
			AssignedLicenses      []struct{ SkuID string }
		}
	}
	st, body := s.call("GET", "/v1.0/users?$select=id,userPrincipalName,assignedLicenses&$top=999", tok, nil)
	if st != 200 || json.Unmarshal(body, &us) != nil {
		t.Fatalf("users: %d %s", st, body)
	}
	for _, u := range us.Value {
		var skus []string
		for _, l := range u.AssignedLicenses {
			skus = append(skus, strings.ToLower(l.SkuID))
		}
		sort.Strings(skus)
		lines = append(lines, "user "+u.ID+" "+u.UserPrincipalName+" "+strings.Join(skus, ","))
	}
	var gs struct {
		Value []struct {
			ID, DisplayName  string
			AssignedLicenses []struct{ SkuID string }
		}
	}
	st, body = s.call("GET", "/v1.0/groups?$select=id,displayName,assignedLicenses", tok, nil)
	if st != 200 || json.Unmarshal(body, &gs) != nil {
		t.Fatalf("groups: %d %s", st, body)
	}
	for _, g := range gs.Value {
		var ms struct{ Value []struct{ ID string } }
		st, body := s.call("GET", "/v1.0/groups/"+g.ID+"/members?$select=id&$top=999", tok, nil)
		if st != 200 || json.Unmarshal(body, &ms) != nil {
			t.Fatalf("members: %d %s", st, body)
		}
		var ids []string
		for _, m := range ms.Value {
			ids = append(ids, m.ID)
		}
		sort.Strings(ids)
		lic := ""
		for _, l := range g.AssignedLicenses {
			lic += strings.ToLower(l.SkuID)
		}
		lines = append(lines, "group "+g.ID+" "+g.DisplayName+" "+lic+" "+strings.Join(ids, ","))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// kill -9 of allot serve in the middle of its FIRST (full) Microsoft 365
// sync: the remote allot serve pages users and groups by 40 (the proxy
// asks $top=40 for the connector's 999, as Graph may page smaller); the
// proxy holds the third page of users, the local server is killed there
// and restarted. The connection shows the full sync's stored cursor (two
// pages of users applied); the next sync goes on from it — no new
// deltaLinks, no products, no first pages of users read again — and
// the local users, groups, members, licenses and grant dates equal the
// remote's.
func TestM365FirstSyncKilledResumes(t *testing.T) {
	dir := t.TempDir()
	remote := startServe(t, filepath.Join(dir, "remote.db"), nil, nil)
	_, radmin := remote.customer("Fabrikam", 500)
	tokensURL, caFile := m365Authority(t, dir, radmin)

	ru, _ := url.Parse(remote.URL)
	rp := httputil.NewSingleHostReverseProxy(ru)
	var mu sync.Mutex
	var uris []string
	userPages := 0
	held, release := make(chan struct{}), make(chan struct{})
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.RawQuery = strings.ReplaceAll(strings.ReplaceAll(r.URL.RawQuery, "%24top=999", "$top=40"), "$top=999", "$top=40")
		r.RequestURI = ""
		uri := r.URL.RequestURI()
		mu.Lock()
		uris = append(uris, uri)
		hold := false
		if strings.HasPrefix(uri, "/v1.0/users?") && strings.Contains(uri, "userPrincipalName") {
			userPages++
			hold = userPages == 3
		}
		mu.Unlock()
		if hold {
			close(held)
			<-release
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})

	// The remote directory: 200 users, a licensed group with a nested
	// group, direct licenses.
	var users []string
	for i := range 200 {
		users = append(users, remote.must(201, "POST", "/v1.0/users", radmin, userBody(fmt.Sprintf("u%03d", i), "fabrikam.example"))["id"].(string))
	}
	group := func(name string) string {
		return remote.must(201, "POST", "/v1.0/groups", radmin, map[string]any{"displayName": name, "mailEnabled": false,
			"mailNickname": strings.ReplaceAll(name, " ", ""), "securityEnabled": true})["id"].(string)
	}
	addMember := func(g, m string) {
		remote.must(204, "POST", "/v1.0/groups/"+g+"/members/$ref", radmin, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + m})
	}
	g, inner := group("E3 users"), group("E3 inner")
	remote.must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", radmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
	for _, u := range append(users[:40:40], users[150:170]...) {
		addMember(g, u)
	}
	addMember(g, inner)
	for _, u := range users[60:70] {
		addMember(inner, u)
	}
	for _, u := range users[100:110] {
		remote.must(200, "POST", "/v1.0/users/"+u+"/assignLicense", radmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
	}
	time.Sleep(1100 * time.Millisecond) // local grants come a second later: grant dates must come from the remote

	key := strings.Repeat("5a", 32)
	env := []string{"ALLOT_SECRET_KEY=" + key, "SSL_CERT_FILE=" + caFile}
	localDB := filepath.Join(dir, "local.db")
	local := startServe(t, localDB, env, nil)
	_, ladmin := local.customer("FabrikamLocal", 0)
	conn := local.must(201, "POST", "/allot/v1/connections", ladmin, map[string]any{"entraTenantId": entra, "clientId": appID,
		"clientSecret": appSecret, "graphUrl": proxy.URL, "authorityHost": tokensURL, "syncEvery": "0s", "reportsEvery": "0s"})["id"].(string)
	local.must(202, "POST", "/allot/v1/connections/"+conn+"/sync", ladmin, nil)
	select {
	case <-held:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the first sync never asked for the third page of users:\n%s", local.output())
	}
	local.kill()
	close(release)

	local = startServe(t, localDB, env, nil)
	st := local.must(200, "GET", "/allot/v1/connections/"+conn, ladmin, nil)["sync"].(map[string]any)
	full, _ := st["fullSync"].(map[string]any)
	if st["interrupted"] != true || full == nil || full["stage"] != "users" || full["usersApplied"] != float64(80) || full["groupsApplied"] != float64(2) {
		t.Fatalf("after the kill: %v, want an interrupted full sync at the users stage with 2 groups and 80 users applied", st)
	}
	mu.Lock()
	from := len(uris)
	mu.Unlock()
	res := local.must(200, "POST", "/allot/v1/connections/"+conn+"/sync?wait=true", ladmin, nil)["result"].(map[string]any)
	if res["kind"] != "full" || res["resumed"] != true || res["users"] != float64(200) {
		t.Fatalf("the sync after the restart: %v, want the full sync resumed (200 users in all)", res)
	}
	mu.Lock()
	again := append([]string(nil), uris[from:]...)
	mu.Unlock()
	for _, u := range again {
		if strings.Contains(u, "/delta") || strings.Contains(u, "/subscribedSkus") ||
			(strings.HasPrefix(u, "/v1.0/users?") && strings.Contains(u, "userPrincipalName") && !strings.Contains(u, "skiptoken")) {
			t.Errorf("the sync after the restart started over: %s", u)
		}
	}
	if got, want := m365Directory(t, local, ladmin), m365Directory(t, remote, radmin); got != want {
		t.Fatalf("after the kill and the resumed sync:\n got %s\nwant %s", got, want)
	}
	if got, want := m365GrantDates(t, local, ladmin), m365GrantDates(t, remote, radmin); got != want {
		t.Fatalf("grant dates after the kill and the resumed sync:\n got %s\nwant %s", got, want)
	}
}

// m365GrantDates is each user's grant date of each product, as Graph's
// assignedPlans give them (to the second).
func m365GrantDates(t *testing.T, s *server, tok string) string {
	t.Helper()
	var us struct {
		Value []struct {
			ID            string
			AssignedPlans []struct {
				AssignedDateTime time.Time
				ServicePlanID    string
			}
		}
	}
	st, body := s.call("GET", "/v1.0/users?$select=id,assignedPlans&$top=999", tok, nil)
	if st != 200 || json.Unmarshal(body, &us) != nil {
		t.Fatalf("users: %d %s", st, body)
	}
	var lines []string
	for _, u := range us.Value {
		for _, p := range u.AssignedPlans {
			lines = append(lines, u.ID+" "+p.ServicePlanID+" "+p.AssignedDateTime.UTC().Truncate(time.Second).Format(time.RFC3339))
		}
	}
	if len(lines) == 0 {
		t.Fatal("no user has a plan: grant dates are not compared")
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
