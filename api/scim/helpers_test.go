package scim_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
	"allot/api/scim"
	"allot/identity"
	"allot/licensing"
	"allot/tenant"
)

const base = "/scim/v2"

// world is a running server with one tenant and a SCIM token.
type world struct {
	*apitest.Env
	t      *testing.T
	tenant string
	token  string // GlobalAdministrator
	tn     *tenant.Tenant
}

func setup(t *testing.T) *world {
	t.Helper()
	c := apitest.NewContoso(t, partner.Register, admin.Register, scim.Register)
	w := &world{Env: c.Env, t: t, tenant: c.ID, token: c.Admin}
	w.tn, _ = c.RT.Get(w.tenant)
	return w
}

// scim sends a SCIM request with application/scim+json and checks the
// status.
func (w *world) scim(want int, method, path string, body any, headers ...string) apitest.Response {
	w.t.Helper()
	h := append([]string{"Content-Type: application/scim+json"}, headers...)
	r := w.Call(method, base+path, w.token, body, h...)
	if r.Status != want {
		w.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	if r.Status != 204 && r.Status != 304 && r.Header.Get("Content-Type") != "application/scim+json" {
		w.t.Fatalf("%s %s: content type %q", method, path, r.Header.Get("Content-Type"))
	}
	return r
}

// obj decodes a response body.
func obj(t testing.TB, r apitest.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
	return m
}

// scimError checks a SCIM error body.
func scimError(t testing.TB, r apitest.Response, status, scimType string) {
	t.Helper()
	m := obj(t, r)
	schemas, _ := m["schemas"].([]any)
	gotType, _ := m["scimType"].(string)
	if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || m["status"] != status || gotType != scimType || m["detail"] == "" {
		t.Fatalf("error body %s, want status %s scimType %q", r.Body, status, scimType)
	}
}

// createUser creates a user through SCIM and returns its id.
func (w *world) createUser(userName string, extra ...map[string]any) string {
	w.t.Helper()
	body := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": userName, "active": true}
	for _, x := range extra {
		for k, v := range x {
			body[k] = v
		}
	}
	return obj(w.t, w.scim(201, "POST", "/Users", body))["id"].(string)
}

func (w *world) createGroup(name string, members ...string) string {
	w.t.Helper()
	var ms []map[string]any
	for _, m := range members {
		ms = append(ms, map[string]any{"value": m})
	}
	body := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "members": ms}
	return obj(w.t, w.scim(201, "POST", "/Groups", body))["id"].(string)
}

// user reads a user from the engine.
func (w *world) user(id string) (u licensing.User, ok bool) {
	w.tn.Read(func(s *tenant.State) { u, ok = s.Engine.User(id) })
	return u, ok
}

// members reads a group's user members from the engine.
func (w *world) members(groupID string) (users []string) {
	w.tn.Read(func(s *tenant.State) { users, _ = s.Engine.Members(groupID) })
	return users
}

// do runs an engine command directly, as another surface would.
func (w *world) do(fn func(tx *tenant.Tx) error) {
	w.t.Helper()
	if err := w.tn.Do(context.Background(), licensing.Op{Actor: "test", Now: time.Now()}, fn); err != nil {
		w.t.Fatal(err)
	}
}

func ids(r map[string]any) []string {
	var out []string
	res, _ := r["Resources"].([]any)
	for _, x := range res {
		out = append(out, x.(map[string]any)["id"].(string))
	}
	return out
}

type tenantTx = tenant.Tx

// apitestResponse wraps a value as a response body (for JSON round trips).
func apitestResponse(v any) apitest.Response {
	b, _ := json.Marshal(v)
	return apitest.Response{Body: b}
}

// addDomains gives the tenant more verified domains (the names an identity
// provider's userNames end in).
func (w *world) addDomains(names ...string) {
	w.t.Helper()
	w.do(func(tx *tenant.Tx) error {
		for _, n := range names {
			if _, err := identity.AddDomain(tx, n, false); err != nil {
				return err
			}
		}
		return nil
	})
}
