package server_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"allot/api/apitest"
	"allot/api/graph"
	"allot/api/partner"
	"allot/api/server"
	"allot/store"
	"allot/store/sqlite"
	"allot/store/storetest"
	"allot/tenant"
)

// serveEnv runs the partner API and Graph over st with a runtime opened
// with opts, requests for a loading tenant waiting wait.
func serveEnv(t *testing.T, st store.Store, opts tenant.Options, wait time.Duration) (*apitest.Env, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	e := apitest.Serve(t, st, apitest.Options{Runtime: opts}, partner.Register, graph.Register)
	e.Server.TenantWait = wait
	return e, reg
}

// While one tenant loads in the background the server answers: /healthz at
// once, /readyz 200 "loading" naming it, every other tenant normally; a
// request for the loading tenant waits TenantWait and gets 503
// serviceNotAvailable with Retry-After (not 404), creating its id again is
// a conflict, as is taking a domain it has; once its load ends it serves.
// A tenant whose load fails answers 503 saying so and /readyz and the
// metrics report it. Without the background load the server would not
// answer at all until the gate opens.
func TestServingWhileTenantsLoad(t *testing.T) {
	ctx := context.Background()
	base, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.Close() })
	e, _ := serveEnv(t, base, tenant.Options{}, 0)
	small, big, broken := e.Customer("Small", "US"), e.Customer("Big", "US"), e.Customer("Broken", "US")
	e.Must(201, "POST", "/v1.0/domains", apitest.PartnerToken, map[string]any{"id": "big-extra.example"}, server.TenantHeader+": "+big)
	e.HTTP.Close()
	if err := e.RT.Close(ctx); err != nil {
		t.Fatal(err)
	}

	gate := make(chan struct{})
	st := &storetest.Gated{Store: base, Gates: map[string]chan struct{}{big: gate},
		Fail: map[string]error{broken: errors.New("the stored state cannot be read")}}
	opened := make(chan *apitest.Env, 1)
	go func() {
		env, _ := serveEnv(t, st, tenant.Options{Background: true}, 200*time.Millisecond)
		opened <- env
	}()
	select {
	case e = <-opened:
	case <-time.After(30 * time.Second):
		close(gate)
		t.Fatal("the server did not start while a tenant was loading")
	}
	e.Must(200, "GET", "/healthz", "", nil)
	// Small loads beside big (two at a time): wait for it, not for big.
	if _, err := e.RT.Wait(ctx, small); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); len(e.RT.Failed()) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the broken tenant's load never failed")
		}
	}
	r := e.Must(200, "GET", "/readyz", "", nil)
	var ready readyzBody
	r.Decode(t, &ready)
	if ready.Status != "loading" || len(ready.Loading) != 1 || ready.Loading[0] != big ||
		!strings.Contains(ready.Failed[broken], "cannot be read") {
		t.Fatalf("/readyz while loading: %s", r.Body)
	}
	e.Must(200, "GET", "/v1.0/users", apitest.PartnerToken, nil, as(small))
	e.Must(200, "GET", "/partner/v1/customers/"+small, apitest.PartnerToken, nil)
	unloadedTenantsAnswer503(t, e, big, broken)
	listsAndConflictsWhileLoading(t, e, big)

	close(gate)
	if _, err := e.RT.Wait(ctx, big); err != nil {
		t.Fatal(err)
	}
	e.Must(200, "GET", "/v1.0/users", apitest.PartnerToken, nil, as(big))
	w := e.Must(201, "POST", "/v1.0/domains", apitest.PartnerToken, map[string]any{"id": "big-later.example"}, as(big))
	if seq := w.Header.Get(server.SeqHeader); seq == "" {
		t.Fatalf("a write of the loaded tenant answered no %s", server.SeqHeader)
	} else {
		e.Must(200, "GET", "/v1.0/users", apitest.PartnerToken, nil, as(big), server.MinSeqHeader+": "+seq)
	}
	r = e.Must(200, "GET", "/readyz", "", nil)
	ready.Loading, ready.Failed = nil, nil
	r.Decode(t, &ready)
	if ready.Status != "degraded" || len(ready.Loading) != 0 || len(ready.Failed) != 1 {
		t.Fatalf("/readyz once loaded: %s", r.Body)
	}
}

// readyzBody is /readyz's answer.
type readyzBody struct {
	Status  string            `json:"status"`
	Loading []string          `json:"loadingTenants"`
	Failed  map[string]string `json:"failedTenants"`
}

// as is the header that names the tenant a partner's request is for.
func as(id string) string { return server.TenantHeader + ": " + id }

// unloadedTenantsAnswer503: a request for the loading tenant (big) waits
// the tenant wait and gets 503 serviceNotAvailable with Retry-After, also
// one that asks for a log number; one for the tenant whose load failed
// (broken) gets 503 saying so.
func unloadedTenantsAnswer503(t *testing.T, e *apitest.Env, big, broken string) {
	paths := []func(id string) string{
		func(string) string { return "/v1.0/users" },
		func(id string) string { return "/partner/v1/customers/" + id },
	}
	for _, path := range paths {
		start := time.Now()
		r := e.Call("GET", path(big), apitest.PartnerToken, nil, as(big))
		if r.Status != 503 || r.Header.Get("Retry-After") == "" || r.ErrorCode() != "serviceNotAvailable" ||
			!strings.Contains(r.ErrorMessage(), "still loading") {
			t.Fatalf("GET %s of a loading tenant: %d %v %s", path(big), r.Status, r.Header, r.Body)
		}
		if waited := time.Since(start); waited < 200*time.Millisecond {
			t.Fatalf("GET %s answered after %v, before the tenant wait", path(big), waited)
		}
		// A read that asks for a log number waits for the load first,
		// like any other (it answered 404 before: the wait for the number
		// looked for a tenant that was not served yet).
		r = e.Call("GET", path(big), apitest.PartnerToken, nil, as(big), server.MinSeqHeader+": 1")
		if r.Status != 503 || r.ErrorCode() != "serviceNotAvailable" || !strings.Contains(r.ErrorMessage(), "still loading") {
			t.Fatalf("GET %s with %s of a loading tenant: %d %s", path(big), server.MinSeqHeader, r.Status, r.Body)
		}
		r = e.Call("GET", path(broken), apitest.PartnerToken, nil, as(broken))
		if r.Status != 503 || r.ErrorCode() != "serviceNotAvailable" || !strings.Contains(r.ErrorMessage(), "could not be loaded") {
			t.Fatalf("GET %s of a tenant that failed to load: %d %s", path(broken), r.Status, r.Body)
		}
	}
}

// listsAndConflictsWhileLoading: while big loads, the customer list has
// every tenant, its id and its domain cannot be taken, another tenant can
// be created, and the metrics count the loading and the failed tenant.
func listsAndConflictsWhileLoading(t *testing.T, e *apitest.Env, big string) {
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	e.Must(200, "GET", "/partner/v1/customers", apitest.PartnerToken, nil).Decode(t, &list)
	if len(list.Items) != 3 {
		t.Fatalf("the customer list while tenants load: %+v", list)
	}
	e.Must(409, "POST", "/partner/v1/customers", apitest.PartnerToken, map[string]any{"id": big,
		"companyProfile": map[string]any{"companyName": "Again", "domain": "again.example"}, "defaultUsageLocation": "US"})
	e.Must(409, "POST", "/partner/v1/customers", apitest.PartnerToken, map[string]any{
		"companyProfile": map[string]any{"companyName": "Thief", "domain": "big-extra.example"}, "defaultUsageLocation": "US"})
	e.Customer("Newcomer", "US")

	m := e.Must(200, "GET", "/metrics", "", nil)
	if !strings.Contains(string(m.Body), "allot_tenants_loading 1") || !strings.Contains(string(m.Body), "allot_tenants_failed 1") {
		t.Fatalf("metrics while loading:\n%s", m.Body)
	}
}
