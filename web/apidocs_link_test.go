package web_test

import (
	"net/http"
	"testing"

	"allot/auth"
)

// Every admin center page links the API reference (/docs/api), which the
// signed-in browser opens without a token.
func TestAdminCenterLinksTheAPIReference(t *testing.T) {
	env, info := demoEnv(t, 200)
	for _, token := range []string{info.AdminToken, tenantToken(t, env, auth.RoleGlobalReader)} {
		c := newClientSignedIn(t, env, token)
		for _, page := range []string{"/admin/", "/admin/allotments"} {
			mustContain(t, c.get(page), `href="/docs/api"`)
		}
		r := c.get("/docs/api")
		if r.Status != http.StatusOK {
			t.Fatalf("/docs/api: %d", r.Status)
		}
		mustContain(t, r, "allot API", `href="/openapi.json"`, "createAllotment")
	}
}
