package m365_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/lease"
	"allot/licensing"
	"allot/m365"
	"allot/store"
	"allot/store/postgres"
	"allot/tenant"
)

// haURL is a PostgreSQL schema of the test's own (skipped without
// ALLOT_TEST_POSTGRES).
func haURL(t *testing.T) string {
	url := os.Getenv("ALLOT_TEST_POSTGRES")
	if url == "" {
		t.Skip("ALLOT_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("m365_ha_%d", time.Now().UnixNano())
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(ctx)
	})
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}

// haNode is one allot serve --ha process: a shared store, its leases, a
// runtime following the others' commits and a connections manager whose
// schedule acts for the tenants whose lease it holds.
type haNode struct {
	st     *postgres.Store
	keeper *lease.Keeper
	rt     *tenant.Runtime
	mgr    *m365.Manager
}

func newHANode(t *testing.T, url string) *haNode {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := postgres.OpenShared(ctx, url, postgres.SharedOptions{TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keeper := lease.New(st, lease.Options{Logger: log})
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: log, Leases: keeper}))
	if err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		rt.Follow(fctx, tenant.FollowOptions{Poll: 50 * time.Millisecond})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		rt.Close(ctx)
	})
	mgr := &m365.Manager{RT: rt, Env: &m365.Env{RT: rt}, Log: log, Base: ctx, Acts: keeper.Acts}
	return &haNode{st: st, keeper: keeper, rt: rt, mgr: mgr}
}

// With several processes on one PostgreSQL, a connection's scheduled
// sync starts only on the process that holds its tenant's lease: the
// schedule of another process leaves it alone and does not take the lease.
func TestHAScheduleOnTheLeaseHolderOnly(t *testing.T) {
	url := haURL(t)
	ctx := context.Background()
	a := newHANode(t, url)
	tn, err := a.rt.Create(ctx, store.Tenant{ID: "contoso", CompanyName: "Contoso", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	// A connection never synced: due now. Its sync fails (no Graph there),
	// which does not matter here.
	c, err := m365.NewConnection(m365.Input{EntraTenantID: "fabrikam.example", ClientID: "app", WorkloadIdentity: true, GraphURL: "http://127.0.0.1:1"},
		"c1", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.Do(ctx, licensing.Op{Actor: "test", Now: time.Now()}, func(tx *tenant.Tx) error { return m365.Put(tx, c) }); err != nil {
		t.Fatal(err)
	}
	b := newHANode(t, url)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if tb, ok := b.rt.Get("contoso"); ok {
			var n int
			tb.Read(func(s *tenant.State) { n = len(m365.List(s)) })
			if n == 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the second process never loaded the tenant with its connection")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.mgr.ScheduleOnce(ctx)
	if n := b.mgr.Runs("contoso", "c1"); n != 0 {
		t.Fatalf("the process without the lease started %d syncs", n)
	}
	if b.keeper.Holds("contoso") || !a.keeper.Holds("contoso") {
		t.Fatalf("b's schedule moved the lease: a holds %v, b %v", a.keeper.Holds("contoso"), b.keeper.Holds("contoso"))
	}
	a.mgr.ScheduleOnce(ctx)
	if n := a.mgr.Runs("contoso", "c1"); n != 1 {
		t.Fatalf("the lease holder started %d syncs, want 1", n)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := a.mgr.Wait(wctx, "contoso", "c1"); err == nil || wctx.Err() != nil {
		t.Fatalf("the sync against no Graph ended with %v (context: %v)", err, wctx.Err())
	}
}
