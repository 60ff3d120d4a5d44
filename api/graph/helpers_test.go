package graph_test

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/graph"
	"allot/api/partner"
	"allot/api/server"
)

// SKUs used by the tests (Microsoft's catalog).
const (
	e3      = "05e9a617-0261-4cee-bb44-138d3ef5d965" // SPE_E3
	o365E3  = "6fd2c87f-b296-42f0-b197-1e91e994b900" // ENTERPRISEPACK
	unknown = "00000000-0000-0000-0000-0000000000aa"
)

// fixture is a tenant with subscriptions and a Global Administrator token.
type fixture struct {
	*apitest.Env
	tenant string
	admin  string
}

func newFixture(t *testing.T, mounts ...apitest.Mount) *fixture {
	t.Helper()
	if len(mounts) == 0 {
		mounts = []apitest.Mount{graph.Register}
	}
	c := apitest.NewContoso(t, append([]apitest.Mount{partner.Register, admin.Register}, mounts...)...)
	c.Subscribe(c.ID, "SPE_E3", 5)
	c.Subscribe(c.ID, "ENTERPRISEPACK", 2)
	return &fixture{Env: c.Env, tenant: c.ID, admin: c.Admin}
}

func throttled(rate float64, burst int) apitest.Mount {
	return func(s *server.Server) {
		graph.RegisterWith(s, graph.Options{Rate: rate, Burst: burst, Now: fixedNow})
	}
}

// user creates a user and returns its id.
func (f *fixture) user(upn, name string, extra ...string) string {
	f.T.Helper()
	body := map[string]any{"accountEnabled": true, "displayName": name, "mailNickname": strings.Split(upn, "@")[0],
		"userPrincipalName": upn, "usageLocation": "US", "passwordProfile": map[string]any{"password": "x"}}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	r := f.Must(201, "POST", "/v1.0/users", f.admin, body)
	return r.JSON()["id"].(string)
}

func (f *fixture) group(name string) string {
	f.T.Helper()
	r := f.Must(201, "POST", "/v1.0/groups", f.admin, map[string]any{"displayName": name, "mailEnabled": false,
		"mailNickname": strings.ReplaceAll(name, " ", ""), "securityEnabled": true})
	return r.JSON()["id"].(string)
}

func (f *fixture) addMember(groupID, memberID string) {
	f.T.Helper()
	f.Must(204, "POST", "/v1.0/groups/"+groupID+"/members/$ref", f.admin,
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + memberID})
}

// values returns the "value" array of a collection response.
func values(r apitest.Response) []map[string]any {
	var out []map[string]any
	for _, v := range r.JSON()["value"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// field collects one property of each value, sorted.
func field(r apitest.Response, name string) []string {
	var out []string
	for _, v := range values(r) {
		out = append(out, fmt.Sprint(v[name]))
	}
	sort.Strings(out)
	return out
}

// wantError checks a Graph error response.
func wantError(t *testing.T, r apitest.Response, status int, code, msg string) {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code || !strings.Contains(r.ErrorMessage(), msg) {
		t.Fatalf("got %d %s %q, want %d %s %q (body %s)", r.Status, r.ErrorCode(), r.ErrorMessage(), status, code, msg, r.Body)
	}
}

// pathOf strips the scheme and host of an absolute link.
func pathOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

// fixedNow is a clock that never moves: throttling buckets never refill,
// so tests see exactly Burst requests pass.
func fixedNow() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
