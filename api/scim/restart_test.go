package scim_test

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
	"allot/api/partner"
	"allot/api/scim"
	"allot/api/server"
	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/store/sqlite"
	"allot/tenant"
)

// What SCIM keeps beside the engine (a group's externalId, lastModified)
// is persisted with the change and comes back after a restart.
func TestSCIMDataSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allot.db")
	start := func() (*apitest.Env, func()) {
		st, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := server.Bootstrap(ctx, st, apitest.PartnerToken, time.Now()); err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		reg := prometheus.NewRegistry()
		rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: log, Registerer: reg}))
		if err != nil {
			t.Fatal(err)
		}
		s := server.New(rt, st, log, reg)
		for _, m := range []apitest.Mount{partner.Register, admin.Register, scim.Register} {
			m(s)
		}
		hs := httptest.NewServer(s.Handler())
		e := &apitest.Env{T: t, URL: hs.URL, Store: st, RT: rt, Server: s, HTTP: hs}
		return e, func() { hs.Close(); rt.Close(ctx); st.Close() }
	}
	e, stop := start()
	tid := e.Customer("Contoso", "US")
	tok := e.Token(tid, "GlobalAdministrator")
	g := e.Must(201, "POST", "/scim/v2/Groups", tok, map[string]any{"displayName": "G", "externalId": "ext-g"}).JSON()
	e.Must(204, "PATCH", "/scim/v2/Groups/"+g["id"].(string), tok, `{"Operations":[{"op":"replace","path":"displayName","value":"H"}]}`)
	before := e.Must(200, "GET", "/scim/v2/Groups/"+g["id"].(string), tok, nil)
	stop()

	e, stop = start()
	defer stop()
	after := e.Must(200, "GET", "/scim/v2/Groups/"+g["id"].(string), tok, nil)
	a, b := after.JSON(), before.JSON()
	if a["externalId"] != "ext-g" || a["displayName"] != "H" || after.Header.Get("ETag") != before.Header.Get("ETag") ||
		a["meta"].(map[string]any)["lastModified"] != b["meta"].(map[string]any)["lastModified"] {
		t.Fatalf("after restart %v (before %v)", a, b)
	}
	found := e.Must(200, "GET", "/scim/v2/Groups?filter=externalId+eq+%22ext-g%22", tok, nil).JSON()
	if found["totalResults"] != float64(1) {
		t.Fatalf("externalId lookup after restart: %v", found)
	}
}
