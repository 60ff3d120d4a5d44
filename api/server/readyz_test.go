package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"allot/api/server"
	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
)

// A tenant whose stored state is inconsistent does not stop the server:
// /readyz answers 200 "degraded" and names it, and the metrics count it.
func TestReadyzReportsReadOnlyTenants(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: log}))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"t-broken", "t-fine"} {
		if _, err := rt.Create(ctx, store.Tenant{ID: id, CompanyName: id}, licensing.Settings{DefaultUsageLocation: "US"}); err != nil {
			t.Fatal(err)
		}
	}
	rt.Close(ctx)
	if err := st.Commit(ctx, []store.Change{{TenantID: "t-broken", Mutations: []store.Mutation{
		{Kind: store.KindMember, ID: "no-group/no-user", Body: []byte(`{"type":"user"}`)}}}}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	rt, err = tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: log, Registerer: reg}))
	if err != nil {
		t.Fatalf("the server would not start: %v", err)
	}
	defer rt.Close(ctx)
	hs := httptest.NewServer(server.New(rt, st, log, reg).Handler())
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Status   string         `json:"status"`
		ReadOnly map[string]int `json:"readOnlyTenants"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body.Status != "degraded" || len(body.ReadOnly) != 1 || body.ReadOnly["t-broken"] != 1 {
		t.Fatalf("/readyz %d %+v", resp.StatusCode, body)
	}
	resp, err = http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), "allot_tenants_read_only 1") || !strings.Contains(string(m), "allot_stored_inconsistencies 1") {
		t.Fatalf("metrics do not count the read-only tenant")
	}
}
