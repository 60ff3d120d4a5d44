package graph_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/graph"
	"allot/api/partner"
	"allot/api/server"
	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
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
	if _, err := server.Bootstrap(ctx, st, apitest.PartnerToken, time.Now()); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := func(mounts ...func(*server.Server)) (*apitest.Env, func()) {
		rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: log, Registerer: prometheus.NewRegistry()}))
		if err != nil {
			t.Fatal(err)
		}
		s := server.New(rt, st, log, prometheus.NewRegistry())
		for _, m := range mounts {
			m(s)
		}
		hs := httptest.NewServer(s.Handler())
		return &apitest.Env{T: t, URL: hs.URL, Store: st, RT: rt, Server: s, HTTP: hs}, func() { hs.Close(); rt.Close(ctx) }
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
