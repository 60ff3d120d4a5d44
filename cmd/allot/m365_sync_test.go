package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/graph"
	"allot/api/partner"
	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store/sqlite"
	"allot/tenant"
)

// m365TestAuthority is a local Microsoft Entra token endpoint over TLS
// that gives the app registration (client id "app", secret "s3cret", in
// Entra tenant "fabrikam-entra") accessToken.
func m365TestAuthority(t *testing.T, accessToken string) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "GET" && r.URL.Path == "/fabrikam-entra/v2.0/.well-known/openid-configuration":
			base := "https://" + r.Host + "/fabrikam-entra"
			json.NewEncoder(w).Encode(map[string]string{"token_endpoint": base + "/oauth2/v2.0/token",
				"authorization_endpoint": base + "/oauth2/v2.0/authorize", "issuer": base + "/v2.0"})
		case r.Method == "POST" && r.URL.Path == "/fabrikam-entra/oauth2/v2.0/token":
			_ = r.ParseForm()
			if r.Form.Get("client_id") != "app" || r.Form.Get("client_secret") != "s3cret" {
				w.WriteHeader(http.StatusUnauthorized)
				json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": accessToken})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestM365CommandsSyncPlanApply: allot m365 connect, test, sync (its
// progress drawn on standard error), plan and apply against a second
// allot acting as the Microsoft tenant: the sync brings its users in, a
// license allot assigns is planned and applied to the remote, and a
// second plan has nothing to do.
func TestM365CommandsSyncPlanApply(t *testing.T) {
	remote := apitest.New(t, partner.Register, admin.Register, graph.Register)
	rid := remote.Customer("Fabrikam", "US")
	remote.Subscribe(rid, "SPE_E3", 5)
	radmin := remote.Token(rid, "GlobalAdministrator")
	var ann string
	for _, n := range []string{"ann", "bob"} {
		id := remote.Must(201, "POST", "/v1.0/users", radmin, map[string]any{"accountEnabled": true, "displayName": n, "mailNickname": n,
			"userPrincipalName": n + "@fabrikam.example", "usageLocation": "US", "passwordProfile": map[string]any{"password": "x"}}).JSON()["id"].(string)
		if n == "ann" {
			ann = id
		}
	}
	tokens := m365TestAuthority(t, radmin)
	m365ClientOptions.Transport = tokens.Client().Transport
	drawAlways = true
	t.Cleanup(func() { m365ClientOptions.Transport, drawAlways = nil, false })

	db, st, rt, _ := newOfflineTenant(t)
	rt.Close(context.Background())
	st.Close()
	t.Setenv("ALLOT_SECRET_KEY", strings.Repeat("cd", 32))
	t.Setenv("ALLOT_M365_CLIENT_SECRET", "s3cret")
	on := []string{"--db", db, "--tenant", testTenantID}
	out, err := runAllot(t, append([]string{"m365", "connect", "--entra-tenant", "fabrikam-entra", "--client-id", "app",
		"--graph-url", remote.URL, "--authority-host", tokens.URL, "--apply", "--json"}, on...)...)
	var conn struct{ ID string }
	if err != nil || json.Unmarshal([]byte(out), &conn) != nil || conn.ID == "" || strings.Contains(out, "s3cret") {
		t.Fatalf("connect: %v\n%s", err, out)
	}
	run := func(want string, args ...string) string {
		t.Helper()
		out, err := runAllot(t, append(append([]string{"m365"}, args...), append(on, conn.ID)...)...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("allot m365 %s: %v, want %q in\n%s", args[0], err, want, out)
		}
		return out
	}
	run("works: 1 products in subscribedSkus", "test")
	out = run("full sync: 2 users and 0 groups read", "sync")
	if !strings.Contains(out, "reading users: 2 users, 0 groups read") || !strings.Contains(out, "requests (0 throttled)") {
		t.Fatalf("the sync drew no progress:\n%s", out)
	}

	// allot assigns ann SPE_E3 (a license allot manages).
	st, err = sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	rt, err = tenant.Open(context.Background(), st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger()}))
	if err != nil {
		t.Fatal(err)
	}
	tn, _ := rt.Get(testTenantID)
	e3, _ := catalog.Default().SKU("SPE_E3")
	if err := tn.Do(context.Background(), licensing.Op{Actor: "test"}, func(tx *tenant.Tx) error {
		return tx.Engine.AssignUserLicenses(tx.Op, ann, []licensing.AssignedLicense{{SKUID: e3.ID}}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	rt.Close(context.Background())
	st.Close()

	run("ann@fabrikam.example", "plan")
	run("applied 1 calls", "apply")
	run("nothing to do", "plan")
	var u struct{ AssignedLicenses []struct{ SkuID string } }
	remote.Must(200, "GET", "/v1.0/users/"+ann+"?$select=assignedLicenses", radmin, nil).Decode(t, &u)
	if len(u.AssignedLicenses) != 1 || !strings.EqualFold(u.AssignedLicenses[0].SkuID, e3.ID) {
		t.Fatalf("ann's licenses in the remote after apply: %+v", u)
	}
}
