package m365_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"allot/internal/pgtest"
	"allot/internal/tenanttest"
	"allot/licensing"
	"allot/m365"
	"allot/store"
	"allot/tenant"
)

// haNode is one allot serve --ha process (tenanttest.Process) with a
// connections manager whose schedule acts for the tenants whose lease it
// holds.
type haNode struct {
	*tenanttest.Process
	mgr *m365.Manager
}

func newHANode(t *testing.T, url string) *haNode {
	p := tenanttest.StartProcess(t, url, tenanttest.ProcessOptions{Poll: 50 * time.Millisecond})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mgr := &m365.Manager{RT: p.RT, Env: &m365.Env{RT: p.RT}, Log: log, Base: context.Background(), Acts: p.Leases.Acts}
	return &haNode{Process: p, mgr: mgr}
}

// With several processes on one PostgreSQL, a connection's scheduled
// sync starts only on the process that holds its tenant's lease: the
// schedule of another process leaves it alone and does not take the lease.
func TestHAScheduleOnTheLeaseHolderOnly(t *testing.T) {
	url := pgtest.Schema(t)
	ctx := context.Background()
	a := newHANode(t, url)
	tn, err := a.RT.Create(ctx, store.Tenant{ID: "contoso", CompanyName: "Contoso", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
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
		if tb, ok := b.RT.Get("contoso"); ok {
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
	if b.Leases.Holds("contoso") || !a.Leases.Holds("contoso") {
		t.Fatalf("b's schedule moved the lease: a holds %v, b %v", a.Leases.Holds("contoso"), b.Leases.Holds("contoso"))
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
