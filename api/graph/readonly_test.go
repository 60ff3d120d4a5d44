package graph_test

import (
	"context"
	"path/filepath"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/graph"
	"allot/api/partner"
	"allot/store"
	"allot/store/sqlite"
)

// A write to a tenant served read-only (its stored data is inconsistent) is
// refused with 409 Conflict naming the repair, not Graph's 400 for a
// request that conflicts with existing values: the client's request is
// fine, the tenant's state is not.
func TestWriteToAReadOnlyTenantIsAConflictNamingTheRepair(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	start := func(mounts ...apitest.Mount) (*apitest.Env, func()) {
		e := apitest.Serve(t, st, apitest.Options{}, mounts...)
		return e, e.Stop
	}
	e, stop := start(partner.Register, admin.Register)
	id := e.Customer("Contoso", "US")
	token := e.Token(id, "GlobalAdministrator")
	stop()
	if err := st.Commit(ctx, []store.Change{{TenantID: id, Mutations: []store.Mutation{
		{Kind: store.KindMember, ID: "no-group/no-user", Body: []byte(`{"type":"user"}`)}}}}); err != nil {
		t.Fatal(err)
	}
	e, stop = start(graph.Register)
	t.Cleanup(stop)
	r := e.Call("POST", "/v1.0/users", token, map[string]any{"accountEnabled": true, "displayName": "Adele",
		"mailNickname": "adele", "userPrincipalName": "adele@contoso.example",
		"passwordProfile": map[string]any{"password": "xWwvJ]6NMw+bWH-d"}})
	wantError(t, r, 409, "Conflict", "allot doctor --repair")
}
